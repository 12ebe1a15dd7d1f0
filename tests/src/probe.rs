//! Helpers to run the MCP client's connection test directly (no queue).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard_core::domain::{Credentials, CustomHeaders};
use switchboard_core::egress::http::EgressHttp;
use switchboard_core::egress::resolver::StaticResolver;
use switchboard_core::egress::{AllowList, EgressGuard, EgressPolicy};
use switchboard_core::mcp::{McpClient, McpLimits, ProbeReport, StepObserver, StepStatus, StepUpdate};

/// Names the test resolver knows: loopback, plus names that point into
/// private space (to prove the guard refuses them; the loopback fuse makes
/// sure nothing would be sent even if it did not).
pub fn test_resolver() -> StaticResolver {
    let entries: [(&str, &[&str]); 4] = [
        ("localhost", &["127.0.0.1"]),
        ("fixture.test", &["127.0.0.1"]),
        ("private.test", &["10.20.30.40"]),
        ("metadata.test", &["169.254.169.254"]),
    ];
    StaticResolver(
        entries
            .into_iter()
            .map(|(name, ips)| (name.to_owned(), ips.iter().map(|ip| ip.parse().unwrap()).collect()))
            .collect::<HashMap<_, _>>(),
    )
}

/// An egress guard for tests: loopback allowed (unless `allow` says otherwise),
/// everything else refused, and the loopback fuse on.
pub fn test_guard(allow: AllowList) -> EgressGuard {
    EgressGuard::new(
        EgressPolicy {
            allow,
            loopback_fuse: true,
        },
        Arc::new(test_resolver()),
    )
}

pub fn test_client(limits: McpLimits) -> McpClient {
    switchboard_core::telemetry::install_crypto_provider();
    McpClient::new(EgressHttp::new(test_guard(AllowList::loopback())).unwrap(), limits)
}

/// Records every step update.
#[derive(Debug, Default)]
pub struct Recorder(pub Mutex<Vec<StepUpdate>>);

impl StepObserver for Recorder {
    fn update(&self, update: StepUpdate) {
        self.0.lock().unwrap().push(update);
    }
}

impl Recorder {
    /// The final status of each step, in order.
    pub fn outcome(&self) -> Vec<(&'static str, StepStatus)> {
        let mut out: Vec<(&'static str, StepStatus)> = Vec::new();
        for u in self.0.lock().unwrap().iter() {
            match out.iter_mut().find(|(n, _)| *n == u.name) {
                Some(entry) => entry.1 = u.status,
                None => out.push((u.name, u.status)),
            }
        }
        out
    }
}

/// Runs a connection test against `url` with a 2 s budget.
pub async fn probe(url: &str, credentials: &Credentials, headers: &CustomHeaders) -> (ProbeReport, Recorder) {
    probe_with(
        &test_client(McpLimits::default()),
        url,
        credentials,
        headers,
        Duration::from_secs(2),
    )
    .await
}

pub async fn probe_with(
    client: &McpClient,
    url: &str,
    credentials: &Credentials,
    headers: &CustomHeaders,
    budget: Duration,
) -> (ProbeReport, Recorder) {
    let recorder = Recorder::default();
    let report = client.probe(url, credentials, headers, budget, &recorder).await;
    (report, recorder)
}
