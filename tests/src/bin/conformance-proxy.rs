//! The conformance suite's server twice, for `ops/ci/mcp-peers.sh`: directly
//! ([`Everything`] on loopback) and through Switchboard's per-connector
//! proxy — an embedded Switchboard with that server saved as alice's
//! connector, behind a token-adding reverse proxy ([`auth_proxy`]) whose
//! origin is Switchboard's public URL (as behind any reverse proxy). Prints
//! `{"direct", "proxied"}` (both `localhost` URLs, as the suite's DNS-rebinding
//! scenario requires), then serves until stdin closes.

use serde_json::json;
use switchboard_tests::fixtures::everything::Everything;
use switchboard_tests::{Backend, TestApp, auth_proxy};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    let fixture = Everything.spawn().await;
    let front = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let public = format!("http://localhost:{}", front.local_addr().expect("its address").port());
    let app = TestApp::builder(Backend::Sqlite)
        .configure({
            let public = public.clone();
            move |s| {
                s.agent.public_url = public.parse().expect("a URL");
                s.agent.invoke_rate_limit = 0;
                // The runner opens a session per scenario and never closes one.
                s.limits.gateway_sessions = 64;
            }
        })
        .spawn()
        .await;
    let alice = app.user("alice");
    let saved = alice
        .post(
            "/api/connectors",
            json!({"name": "Everything", "server_url": fixture.url, "auth_type": "none", "tool_policy": "allow"}),
        )
        .await;
    assert_eq!(saved.status, 201, "{}", saved.text);
    let id = saved.body["id"].as_str().expect("an id").to_owned();
    let upstream = app.url(&format!("/mcp/connectors/{id}"));
    tokio::spawn(auth_proxy::serve(front, upstream, app.token("alice")));
    let ready = json!({
        "direct": fixture.url.replace("127.0.0.1", "localhost"),
        "proxied": format!("{public}/mcp"),
    });
    println!("{ready}");
    let _ = tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink())).await;
    app.stop().await;
}
