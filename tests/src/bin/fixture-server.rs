//! A healthy MCP fixture server on a fixed port, for benchmarks and manual
//! tries: `fixture-server [PORT] [TOOLS]` serves `http://127.0.0.1:PORT/mcp`.

use switchboard_tests::fixtures::mcp::McpFixture;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(3001);
    let tools: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(5);
    let fixture = McpFixture::with_tools(tools, 50).spawn_on(port).await;
    eprintln!("MCP fixture server with {tools} tools on {}", fixture.url);
    let _ = tokio::signal::ctrl_c().await;
}
