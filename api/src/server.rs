//! Running the app: on a listener the caller bound (tests bind port 0), until
//! the shutdown future resolves; in-flight requests finish first. In embedded
//! mode the queue workers run in the same process and stop with it.

use std::future::Future;

use anyhow::Context as _;
use axum::serve::ListenerExt as _;
use futures::FutureExt as _;
use tokio::net::TcpListener;

use crate::routes::app;
use crate::state::AppState;

/// Serves the API only.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with_workers(state, listener, false, shutdown).await
}

/// Serves the API and, when `workers` is set, runs the queue workers in-process.
pub async fn serve_with_workers(
    state: AppState,
    listener: TcpListener,
    workers: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr().context("listener has no local address")?;
    tracing::info!(%addr, backend = state.store.backend(), workers, "Switchboard API listening on http://{addr}");
    let shutdown = shutdown.shared();
    let streams = state.shutdown.clone();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        signal.await;
        streams.cancel();
    });
    let worker_task = workers.then(|| {
        let services = state.services.clone();
        tokio::spawn(switchboard_worker::run(services, shutdown.clone()))
    });
    // Event streams write small chunks: without TCP_NODELAY, Nagle's algorithm
    // and the client's delayed ACK can hold each one back ~40 ms.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("HTTP server failed");
    if let Some(task) = worker_task {
        match task.await {
            Ok(Err(e)) => tracing::error!(error = format!("{e:#}"), "in-process workers failed"),
            Err(e) => tracing::error!(error = %e, "in-process workers panicked"),
            Ok(Ok(())) => {}
        }
    }
    served
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
