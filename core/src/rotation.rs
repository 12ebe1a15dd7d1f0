//! `switchboard keys rotate`: re-seal every stored secret under the first key.
//!
//! Idempotent and safe to interrupt: values already under the first key are
//! skipped, each row is replaced by compare-and-swap (a concurrent write wins
//! and is left alone), and a re-run finishes whatever an interrupted run left.

use crate::audit::{self, Actor, AuditKind};
use crate::store::{SealedColumn, Store};
use crate::vault::{Vault, key_id_of};

const PAGE: u32 = 200;

/// What a rotation pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// Values re-sealed under the first key.
    pub rotated: u64,
    /// Values already under the first key.
    pub current: u64,
    /// Values changed by someone else during the pass (already re-sealed by them).
    pub raced: u64,
    /// Values that could not be opened: (field, row, reason).
    pub failed: Vec<(String, String, String)>,
}

/// Re-seals every sealed column; the pass is one `keys.rotated` audit event.
pub async fn rotate_all(store: &dyn Store, vault: &Vault) -> anyhow::Result<RotationReport> {
    let mut report = RotationReport::default();
    for column in SealedColumn::ALL {
        let mut after = None;
        loop {
            let page = store.sealed_page(column, after.as_ref(), PAGE).await?;
            for row in &page {
                if key_id_of(&row.blob).is_ok_and(|id| id == vault.primary_key_id()) {
                    report.current += 1;
                    continue;
                }
                match vault.reseal(row.aad(), &row.blob) {
                    Ok(Some(blob)) if store.replace_sealed(row, &blob).await? => report.rotated += 1,
                    Ok(Some(_)) => report.raced += 1,
                    Ok(None) => report.current += 1,
                    Err(e) => report
                        .failed
                        .push((column.field().to_owned(), row.row.clone(), e.to_string())),
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => after = Some(last.clone()),
                _ => break,
            }
        }
    }
    let summary = serde_json::json!({
        "key": vault.primary_key_id(),
        "rotated": report.rotated,
        "current": report.current,
        "raced": report.raced,
        "failed": report.failed.len(),
    });
    audit::record(
        store,
        None,
        Actor::Operator,
        AuditKind::KeysRotated,
        "vault".into(),
        summary,
    )
    .await;
    Ok(report)
}
