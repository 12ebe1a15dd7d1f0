//! Name resolution for outbound requests: [`NameResolver`] is injectable (tests
//! map names to addresses without DNS), and [`GuardedResolver`] is what the
//! shared HTTP client uses: pinned answers first, every answer checked.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::EgressGuard;

/// Resolves a host name to addresses.
#[async_trait::async_trait]
pub trait NameResolver: Send + Sync + std::fmt::Debug {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver.
#[derive(Debug, Default)]
pub struct SystemResolver;

#[async_trait::async_trait]
impl NameResolver for SystemResolver {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 0)).await?.map(|a| a.ip()).collect())
    }
}

/// A fixed table, for tests: names not in it do not resolve.
#[derive(Debug, Default, Clone)]
pub struct StaticResolver(pub HashMap<String, Vec<IpAddr>>);

#[async_trait::async_trait]
impl NameResolver for StaticResolver {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        self.0
            .get(host)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "unknown host"))
    }
}

/// reqwest's resolver: answers from the guard's pins, otherwise resolves and
/// checks; refuses the whole name if any address is refused.
#[derive(Debug, Clone)]
pub struct GuardedResolver(pub EgressGuard);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
            let ips = match guard.pinned(&host) {
                Some(ips) => ips,
                None => guard.resolver.lookup(&host).await?,
            };
            // The port is unknown here: host:port allow entries match any port,
            // and check_url, which knows the port, has already enforced it.
            for ip in &ips {
                guard.policy.check(&host, *ip, None)?;
            }
            let addrs: Addrs = Box::new(ips.into_iter().map(|ip| std::net::SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

impl From<EgressGuard> for Arc<dyn Resolve> {
    fn from(guard: EgressGuard) -> Self {
        Arc::new(GuardedResolver(guard))
    }
}
