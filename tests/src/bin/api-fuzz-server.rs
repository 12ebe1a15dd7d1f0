//! The embedded server schemathesis runs against (`ops/ci/api-fuzz.sh`):
//! SQLite and in-process workers, the test resolver and the loopback fuse
//! (nothing it dials leaves this machine), rate limits off, a model that
//! answers every turn, and two MCP servers to connect (a plain one and one
//! behind OAuth); both users have the Analytics tool connected. Prints one
//! JSON line — `{"url", "mcp_url", "oauth_mcp_url", "tools", "tokens":
//! {"alice", "bob"}}` — then serves until stdin closes.

use serde_json::json;
use switchboard_tests::fixtures::llm::{spawn_reflex, use_model};
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::fixtures::oauth::OAuthMcp;
use switchboard_tests::{Backend, TestApp};

#[tokio::main]
async fn main() {
    let mcp = McpFixture::with_tools(3, 10).spawn().await;
    let oauth = OAuthMcp::builder().spawn().await;
    let model = spawn_reflex("fixture__tool_1").await;
    let app = TestApp::builder(Backend::Sqlite)
        .configure(use_model(&model.url))
        .configure(|s| {
            s.jobs.test_rate_limit = 0;
            s.agent.invoke_rate_limit = 0;
            s.agent.authorize_rate_limit = 0;
        })
        .spawn()
        .await;
    // Both users start with a system tool connected: tool names that exist.
    let mut tools = Vec::new();
    for user in ["alice", "bob"] {
        let client = app.user(user);
        assert_eq!(client.post_empty("/api/tools/analytics/connect").await.status, 200);
        let catalog = client.get("/api/agent/tools").await.body;
        tools = catalog["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t["function"]["name"].clone())
            .collect();
    }
    let ready = json!({
        "url": app.base_url,
        "mcp_url": mcp.url,
        "oauth_mcp_url": oauth.mcp_url,
        "tools": tools,
        "tokens": {"alice": app.token("alice"), "bob": app.token("bob")},
    });
    println!("{ready}");
    let _ = tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink())).await;
    app.stop().await;
}
