//! Running the app: on a listener the caller bound (tests bind port 0), until
//! the shutdown future resolves; in-flight requests finish first.

use std::future::Future;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::routes::app;
use crate::state::AppState;

pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr().context("listener has no local address")?;
    tracing::info!(%addr, backend = state.store.backend(), "Switchboard API listening on http://{addr}");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("HTTP server failed")
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
