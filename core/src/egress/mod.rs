//! The egress guard: every outbound request to a user-supplied URL goes
//! through it, so that a connector cannot make Switchboard reach its own
//! network (SSRF).
//!
//! - [`ranges`] says which addresses are special-use (loopback, private,
//!   link-local/metadata, CGNAT, ULA, multicast, …), after canonicalising them.
//! - [`EgressPolicy`] decides: public addresses pass; special-use ones only when
//!   the allow-list (`SWITCHBOARD_EGRESS_ALLOW`) names them. Link-local is never
//!   allowed implicitly.
//! - [`EgressGuard::check_url`] resolves a URL's host, refuses it if *any*
//!   address is refused, and pins the checked addresses; the shared HTTP
//!   client's resolver ([`resolver::GuardedResolver`]) answers from the pins
//!   and re-checks whatever it resolves itself, so DNS rebinding gains nothing.
//!   IP-literal URLs never reach a resolver: `check_url` and the redirect
//!   policy judge them directly.
//! - [`http`] is the outbound HTTP stack built on the guard: the shared
//!   client, the one redirect policy, and the deadline and byte-cap helpers
//!   every outbound request goes through.
//! - In tests a *loopback fuse* ([`EgressPolicy::loopback_fuse`]) refuses every
//!   non-loopback address in code separate from the policy, so a broken guard
//!   still cannot send a packet off the machine.

pub mod allow;
pub mod http;
pub mod ranges;
pub mod resolver;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use url::{Host, Url};

pub use allow::AllowList;
pub use resolver::{NameResolver, SystemResolver};

/// The range a refusal by the test fuse names.
pub const FUSE: &str = "non-loopback (test fuse)";

/// How long a checked name stays pinned to the addresses that were checked.
const PIN_TTL: Duration = Duration::from_secs(60);

/// Why an outbound request was refused or could not be resolved.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EgressError {
    #[error("{host} is a {range} address, which Switchboard does not connect to")]
    Blocked { host: String, range: &'static str },
    #[error("could not resolve {host}")]
    Unresolvable { host: String },
}

/// Checked names and the addresses they were pinned to, with when.
type PinCache = Arc<Mutex<HashMap<String, (Vec<IpAddr>, Instant)>>>;

/// What may be reached.
#[derive(Debug, Clone)]
pub struct EgressPolicy {
    pub allow: AllowList,
    /// Tests only: refuse every non-loopback address, whatever the allow-list says.
    pub loopback_fuse: bool,
}

impl EgressPolicy {
    /// Whether `ip` may be contacted as `host:port`. The fuse is judged after
    /// the policy, so a refusal naming the fuse means the policy let it pass.
    pub fn check(&self, host: &str, ip: IpAddr, port: Option<u16>) -> Result<(), EgressError> {
        let ip = ranges::canonical(ip);
        match ranges::special_use(ip) {
            None => {}
            Some(_) if self.allow.permits(host, ip, port) => {}
            Some(range) => {
                return Err(EgressError::Blocked {
                    host: host.to_owned(),
                    range,
                });
            }
        }
        if self.loopback_fuse && !ip.is_loopback() {
            // Only tests turn the fuse on; reaching it means the policy failed.
            tracing::error!(%host, %ip, "the test fuse refused an address the egress policy allowed");
            return Err(EgressError::Blocked {
                host: host.to_owned(),
                range: FUSE,
            });
        }
        Ok(())
    }
}

/// The guard shared by every outbound client.
#[derive(Debug, Clone)]
pub struct EgressGuard {
    policy: Arc<EgressPolicy>,
    resolver: Arc<dyn NameResolver>,
    pins: PinCache,
}

impl EgressGuard {
    pub fn new(policy: EgressPolicy, resolver: Arc<dyn NameResolver>) -> Self {
        Self {
            policy: Arc::new(policy),
            resolver,
            pins: Arc::default(),
        }
    }

    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }

    /// Resolves and checks `url`'s host; on success the addresses are pinned for
    /// the connections that follow.
    pub async fn check_url(&self, url: &Url) -> Result<Vec<SocketAddr>, EgressError> {
        let port = url.port_or_known_default().unwrap_or(80);
        let host_text = url.host_str().unwrap_or_default().to_owned();
        match url.host() {
            Some(Host::Ipv4(ip)) => self.check_all(&host_text, &[IpAddr::V4(ip)], port),
            Some(Host::Ipv6(ip)) => self.check_all(&host_text, &[IpAddr::V6(ip)], port),
            Some(Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                let ips = self
                    .resolver
                    .lookup(&name)
                    .await
                    .map_err(|_| EgressError::Unresolvable { host: name.clone() })?;
                let checked = self.check_all(&name, &ips, port)?;
                self.pins
                    .lock()
                    .expect("pin cache lock")
                    .insert(name, (ips, Instant::now()));
                Ok(checked)
            }
            None => Err(EgressError::Unresolvable { host: host_text }),
        }
    }

    fn check_all(&self, host: &str, ips: &[IpAddr], port: u16) -> Result<Vec<SocketAddr>, EgressError> {
        if ips.is_empty() {
            return Err(EgressError::Unresolvable { host: host.to_owned() });
        }
        ips.iter()
            .map(|ip| {
                self.policy
                    .check(host, *ip, Some(port))
                    .map(|()| SocketAddr::new(*ip, port))
            })
            .collect()
    }

    /// Addresses pinned for `name` by a recent [`Self::check_url`].
    fn pinned(&self, name: &str) -> Option<Vec<IpAddr>> {
        let mut pins = self.pins.lock().expect("pin cache lock");
        match pins.get(name) {
            Some((ips, at)) if at.elapsed() < PIN_TTL => Some(ips.clone()),
            Some(_) => {
                pins.remove(name);
                None
            }
            None => None,
        }
    }

    /// Checks a URL whose host is an IP literal (redirect hops): names are left
    /// to the guarded resolver. Synchronous, for reqwest's redirect policy.
    pub fn check_literal(&self, url: &Url) -> Result<(), EgressError> {
        let port = url.port_or_known_default().unwrap_or(80);
        let host = url.host_str().unwrap_or_default();
        match url.host() {
            Some(Host::Ipv4(ip)) => self.policy.check(host, IpAddr::V4(ip), Some(port)),
            Some(Host::Ipv6(ip)) => self.policy.check(host, IpAddr::V6(ip), Some(port)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
