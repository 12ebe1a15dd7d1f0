//! The MCP client's connection test against real servers: each fixture maps
//! to its step and error code.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use switchboard_core::Secret;
use switchboard_core::domain::{Credentials, CustomHeaders};
use switchboard_core::mcp::{ErrorCode, McpLimits, StepStatus};
use switchboard_tests::fixtures::{broken, legacy, mcp::McpFixture};
use switchboard_tests::probe::{probe, probe_with, test_client};

fn none() -> (Credentials, CustomHeaders) {
    (Credentials::None, CustomHeaders::default())
}

fn code(report: &switchboard_core::mcp::ProbeReport) -> Option<ErrorCode> {
    report.failure.as_ref().map(|f| f.code)
}

fn failed_at(steps: &[(&'static str, StepStatus)]) -> Option<&'static str> {
    steps.iter().find(|(_, s)| *s == StepStatus::Failed).map(|(n, _)| *n)
}

#[tokio::test]
async fn a_healthy_server_lists_every_page_and_the_session_is_deleted() {
    let server = McpFixture::with_tools(25, 10).spawn().await;
    let (c, h) = none();
    let (report, steps) = probe(&server.url, &c, &h).await;
    assert_eq!(report.failure, None, "{:?}", steps.0.lock().unwrap());
    assert_eq!(report.tools.len(), 25, "three pages followed");
    assert_eq!(report.tools[24].name, "tool_24");
    assert_eq!(report.tools[0].annotations.as_ref().unwrap()["readOnlyHint"], true);
    let server_info = report.server.unwrap();
    assert_eq!(
        (server_info.name.as_str(), server_info.version.as_str()),
        ("fixture-server", "1.2.3")
    );
    assert_eq!(server_info.protocol_version, "2025-11-25");
    assert_eq!(server_info.transport, "streamable_http");
    let outcome = steps.outcome();
    let names: Vec<&str> = outcome.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        ["parse_url", "egress_check", "connect", "handshake", "list_tools"]
    );
    assert!(outcome.iter().all(|(_, s)| *s == StepStatus::Ok), "{outcome:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.hits.deletes(), 1, "the session is deleted when done");
}

#[tokio::test]
async fn credentials_and_headers_are_sent() {
    let server = McpFixture::with_tools(1, 10)
        .require_bearer("s3cret-token")
        .require_header("X-Tenant", "acme")
        .spawn()
        .await;
    let headers = CustomHeaders::parse(
        &BTreeMap::from([("X-Tenant".to_owned(), Some("acme".to_owned()))]),
        None,
    )
    .unwrap();
    let good = Credentials::Bearer {
        token: Secret::new("s3cret-token"),
    };
    let (report, _) = probe(&server.url, &good, &headers).await;
    assert_eq!(report.failure, None);
    let wrong = Credentials::Bearer {
        token: Secret::new("wrong"),
    };
    let (report, steps) = probe(&server.url, &wrong, &headers).await;
    assert_eq!(code(&report), Some(ErrorCode::AuthFailed));
    assert_eq!(failed_at(&steps.outcome()), Some("handshake"));
    let (report, _) = probe(&server.url, &good, &CustomHeaders::default()).await;
    assert_eq!(
        code(&report),
        Some(ErrorCode::AuthFailed),
        "403 without the tenant header"
    );
}

#[tokio::test]
async fn zero_tools_and_no_tools_capability_are_a_warning() {
    let (c, h) = none();
    for server in [
        McpFixture::with_tools(0, 10).spawn().await,
        McpFixture::with_tools(0, 10).without_tools_capability().spawn().await,
    ] {
        let (report, _) = probe(&server.url, &c, &h).await;
        assert_eq!(report.failure, None);
        assert_eq!(report.warning.map(|w| w.code), Some(ErrorCode::NoTools));
    }
}

#[tokio::test]
async fn a_legacy_sse_server_is_reached_by_fallback() {
    let tools = vec![json!({"name": "old_tool", "description": "from 2024", "inputSchema": {"type": "object"}})];
    let server = legacy::legacy_server(tools).await;
    let (c, h) = none();
    let (report, steps) = probe(&server.url, &c, &h).await;
    assert_eq!(report.failure, None, "{:?}", steps.0.lock().unwrap());
    assert_eq!(
        report.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["old_tool"]
    );
    let info = report.server.unwrap();
    assert_eq!(
        (info.transport.as_str(), info.protocol_version.as_str()),
        ("sse", "2024-11-05")
    );
}

#[tokio::test]
async fn each_broken_server_maps_to_its_code_and_step() {
    let (c, h) = none();
    let cases = [
        (broken::oauth_challenge().await, ErrorCode::AuthRequired, "handshake"),
        (broken::plain_unauthorized().await, ErrorCode::AuthFailed, "handshake"),
        (broken::html_page().await, ErrorCode::InvalidMcpServer, "handshake"),
        (broken::not_json_rpc().await, ErrorCode::InvalidMcpServer, "handshake"),
        (
            broken::server_error(StatusCode::INTERNAL_SERVER_ERROR).await,
            ErrorCode::ConnectionFailed,
            "connect",
        ),
        (
            broken::server_error(StatusCode::SERVICE_UNAVAILABLE).await,
            ErrorCode::ConnectionFailed,
            "connect",
        ),
    ];
    for (server, expected, step) in cases {
        let (report, steps) = probe(&server.url, &c, &h).await;
        assert_eq!(code(&report), Some(expected), "{}: {:?}", server.url, report.failure);
        assert_eq!(failed_at(&steps.outcome()), Some(step), "{}", server.url);
        let message = report.failure.unwrap().message;
        assert!(!message.is_empty() && !message.contains("Welcome"), "{message}");
    }
    let (report, _) = probe(&broken::oauth_challenge().await.url, &c, &h).await;
    assert!(
        report.failure.unwrap().message.contains("OAuth"),
        "suggests OAuth when resource metadata is advertised"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_budget() {
    let server = broken::never_answers().await;
    let (c, h) = none();
    let started = std::time::Instant::now();
    let (report, steps) = probe_with(
        &test_client(McpLimits::default()),
        &server.url,
        &c,
        &h,
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(code(&report), Some(ErrorCode::Timeout));
    assert_eq!(failed_at(&steps.outcome()), Some("connect"));
    assert!(started.elapsed() < Duration::from_secs(2), "the budget bounds the test");
}

#[tokio::test]
async fn refused_connections_and_malformed_urls() {
    let (c, h) = none();
    let port = {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (report, steps) = probe(&format!("http://127.0.0.1:{port}/mcp"), &c, &h).await;
    assert_eq!(code(&report), Some(ErrorCode::ConnectionFailed));
    assert_eq!(failed_at(&steps.outcome()), Some("connect"));
    assert!(report.failure.unwrap().message.contains("refused"));

    let (report, steps) = probe("not a url", &c, &h).await;
    assert_eq!(code(&report), Some(ErrorCode::InvalidUrl));
    let outcome = steps.outcome();
    assert_eq!(outcome[0], ("parse_url", StepStatus::Failed));
    assert!(
        outcome[1..].iter().all(|(_, s)| *s == StepStatus::Skipped),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn oversized_answers_and_too_many_tools_are_invalid() {
    let (c, h) = none();
    let big = McpFixture::with_tools(1, 10)
        .tools(vec![rmcp::model::Tool::new(
            "big",
            "x".repeat(200_000),
            serde_json::Map::new(),
        )])
        .spawn()
        .await;
    let small = McpLimits {
        max_message_bytes: 64 * 1024,
        ..McpLimits::default()
    };
    let (report, steps) = probe_with(&test_client(small), &big.url, &c, &h, Duration::from_secs(2)).await;
    assert_eq!(code(&report), Some(ErrorCode::InvalidMcpServer), "{:?}", report.failure);
    assert_eq!(failed_at(&steps.outcome()), Some("list_tools"));

    let many = McpFixture::with_tools(30, 10).spawn().await;
    let capped = McpLimits {
        max_tools: 25,
        ..McpLimits::default()
    };
    let (report, _) = probe_with(&test_client(capped), &many.url, &c, &h, Duration::from_secs(2)).await;
    assert_eq!(code(&report), Some(ErrorCode::InvalidMcpServer));
    assert!(report.failure.unwrap().message.contains("25"));
    let paged = McpLimits {
        max_pages: 2,
        ..McpLimits::default()
    };
    let (report, _) = probe_with(&test_client(paged), &many.url, &c, &h, Duration::from_secs(2)).await;
    assert_eq!(code(&report), Some(ErrorCode::InvalidMcpServer));
}

#[tokio::test]
async fn the_egress_guard_refuses_private_destinations_in_every_form() {
    let (c, h) = none();
    let urls = [
        "http://10.0.0.8/mcp",
        "http://192.168.1.1:8080/mcp",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.1.1/mcp",
        "http://[fd12:3456::1]/mcp",
        "http://[fe80::1]/mcp",
        "http://[::ffff:10.0.0.1]/mcp",
        "http://private.test/mcp",
        "http://metadata.test/mcp",
    ];
    for url in urls {
        let (report, steps) = probe(url, &c, &h).await;
        assert_eq!(
            code(&report),
            Some(ErrorCode::BlockedDestination),
            "{url}: {:?}",
            report.failure
        );
        assert_eq!(failed_at(&steps.outcome()), Some("egress_check"), "{url}");
    }
    // A redirect hop into private space is refused too (the hop is checked before any connection).
    let redirect = broken::redirect_to("http://169.254.169.254/latest/meta-data").await;
    let (report, _) = probe(&redirect.url, &c, &h).await;
    assert_eq!(
        code(&report),
        Some(ErrorCode::BlockedDestination),
        "{:?}",
        report.failure
    );
    // The allow-listed loopback fixture is still reachable, also by name.
    let ok = McpFixture::with_tools(2, 10).spawn().await;
    let by_name = ok.url.replace("127.0.0.1", "localhost");
    let (report, _) = probe(&by_name, &c, &h).await;
    assert_eq!(report.failure, None);
}

#[tokio::test]
async fn loopback_is_refused_when_not_allow_listed() {
    use switchboard_core::egress::AllowList;
    let server = McpFixture::with_tools(1, 10).spawn().await;
    let http =
        switchboard_core::egress::http::EgressHttp::new(switchboard_tests::probe::test_guard(AllowList::default()));
    let client = switchboard_core::mcp::McpClient::new(http.unwrap(), McpLimits::default());
    let (c, h) = none();
    let (report, _) = probe_with(&client, &server.url, &c, &h, Duration::from_secs(2)).await;
    assert_eq!(code(&report), Some(ErrorCode::BlockedDestination));
    assert_eq!(server.hits.posts(), 0, "nothing was sent");
}
