//! The conformance suite's server ([`Everything`]) on a loopback port:
//! `everything-server [PORT]` serves `http://127.0.0.1:PORT/mcp` (port 0:
//! any free port) and prints `{"url": …}` once it listens.

use switchboard_tests::fixtures::everything::Everything;

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    let fixture = Everything.spawn_on(port).await;
    println!("{}", serde_json::json!({"url": fixture.url}));
    let _ = tokio::signal::ctrl_c().await;
}
