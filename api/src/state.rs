//! Shared state of the HTTP handlers.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use switchboard_core::config::Settings;
use switchboard_core::store::Store;
use switchboard_core::vault::Vault;
use switchboard_plugins::Registry;

use crate::auth::Authenticator;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Arc<dyn Store>,
    pub vault: Arc<Vault>,
    pub auth: Arc<Authenticator>,
    pub tools: &'static Registry,
    pub metrics: PrometheusHandle,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.store.backend())
            .field("vault", &self.vault)
            .finish()
    }
}
