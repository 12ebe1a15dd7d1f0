//! Process-wide observability set-up: the tracing subscriber, the Prometheus
//! recorder, and the rustls crypto provider (ring, installed once).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Latency buckets in seconds, from 0.5 ms to 60 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// How long a person takes to decide on an approval: 1 s to an hour.
const DECISION_BUCKETS: &[f64] = &[1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];

/// Log filter unless `RUST_LOG` says otherwise: rmcp reports an expected
/// transport fallback (a legacy SSE server refusing the POST) as an error.
const DEFAULT_FILTER: &str = "info,rmcp=warn,rmcp::transport::worker=off";

/// Installs the global tracing subscriber: JSON lines or human-readable text,
/// filtered by `RUST_LOG` (default [`DEFAULT_FILTER`]).
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
    if let Err(e) = result {
        eprintln!("tracing subscriber already installed: {e}");
    }
}

/// The process's Prometheus recorder, installed on first use.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .expect("bucket list is not empty")
                .set_buckets_for_metric(
                    Matcher::Full("switchboard_approval_decision_seconds".into()),
                    DECISION_BUCKETS,
                )
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            handle
        })
        .clone()
}

/// Makes ring rustls's process-wide crypto provider, and RustCrypto
/// jsonwebtoken's (rmcp's client-credentials JWT feature also enables its
/// aws-lc backend; with both on, jsonwebtoken panics unless one is chosen).
/// Safe to call repeatedly.
pub fn install_crypto_provider() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let _already_installed = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

/// Whether a scrape may read `/metrics`: always when no token is configured
/// (`SWITCHBOARD_METRICS_TOKEN`), else only with `Authorization: Bearer
/// <token>`, compared in constant time.
pub fn scrape_allowed(token: Option<&crate::Secret>, authorization: Option<&[u8]>) -> bool {
    let Some(token) = token else { return true };
    let Some(presented) = authorization.and_then(|v| v.strip_prefix(b"Bearer ")) else {
        return false;
    };
    let expected = token.expose().as_bytes();
    presented.len() == expected.len() && presented.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::scrape_allowed;
    use crate::Secret;

    #[test]
    fn a_configured_metrics_token_is_required_exactly() {
        assert!(scrape_allowed(None, None), "open without a token");
        let token = Secret::new("s3cret-scrape");
        assert!(scrape_allowed(Some(&token), Some(b"Bearer s3cret-scrape")));
        for wrong in [
            &b"Bearer s3cret-scrap"[..],
            b"Bearer s3cret-scrapeX",
            b"s3cret-scrape",
            b"Basic s3cret-scrape",
        ] {
            assert!(
                !scrape_allowed(Some(&token), Some(wrong)),
                "{}",
                String::from_utf8_lossy(wrong)
            );
        }
        assert!(!scrape_allowed(Some(&token), None));
    }
}
