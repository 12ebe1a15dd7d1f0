//! Per-user caps on what one API process holds open for a user (event
//! streams, gateway sessions): a [`Slot`] is taken when one opens and given
//! back when it is dropped. `0` is no cap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, Clone)]
pub struct UserSlots {
    limit: u32,
    taken: Arc<Mutex<HashMap<String, u32>>>,
}

/// One held slot; dropping it frees it.
#[derive(Debug)]
pub struct Slot {
    user: String,
    taken: Arc<Mutex<HashMap<String, u32>>>,
}

impl UserSlots {
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            taken: Arc::default(),
        }
    }

    /// A slot for `user`, or `None` when they hold the limit already.
    pub fn try_take(&self, user: &str) -> Option<Slot> {
        let mut taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        let count = taken.entry(user.to_owned()).or_insert(0);
        if self.limit > 0 && *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Slot {
            user: user.to_owned(),
            taken: self.taken.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = taken.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                taken.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_per_user_and_given_back() {
        let slots = UserSlots::new(2);
        let a1 = slots.try_take("alice").expect("first");
        let _a2 = slots.try_take("alice").expect("second");
        assert!(slots.try_take("alice").is_none(), "third refused");
        assert!(slots.try_take("bob").is_some(), "per user");
        drop(a1);
        assert!(slots.try_take("alice").is_some(), "given back");
        let unlimited = UserSlots::new(0);
        let held: Vec<Slot> = (0..100).filter_map(|_| unlimited.try_take("alice")).collect();
        assert_eq!(held.len(), 100);
    }
}
