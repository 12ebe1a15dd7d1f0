//! Host integration: a host page on another origin shows the Apps menu in a
//! frame (`SWITCHBOARD_UI_FRAME_ANCESTORS`, `/?embed=1`), hands it a token by
//! `postMessage` and hears its height and what changed; an OAuth sign-in
//! popup opens from inside the frame. Without the setting the browser
//! refuses to frame the page. And the host's agent backend, as the README's
//! example (`tests/examples/host_agent.py`) does it.

use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde_json::Value;
use switchboard_tests::bench::free_port;
use switchboard_tests::browser::Browser;
use switchboard_tests::fixtures::oauth::OAuthMcp;
use switchboard_tests::{Backend, TestApp, scripts};
use tokio::net::TcpListener;

use crate::oauth::save_oauth_connector;

/// The app on a fixed loopback port, framable by `host` when given.
async fn app(port: u16, host: Option<String>) -> TestApp {
    TestApp::builder(Backend::Sqlite)
        .configure(move |s| {
            s.listen = ([127, 0, 0, 1], port).into();
            s.agent.public_url = url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
            if let Some(host) = host {
                s.ui_frame_ancestors = vec![host.clone()];
                s.ui_token_origins = vec![host];
            }
        })
        .spawn()
        .await
}

/// A host page at `http://localhost:{port}/` framing `app`'s embedded Apps
/// menu: it keeps every message from the frame in `window.received`, sends
/// `token` when the frame is ready and sizes the frame as told.
async fn host_page(port: u16, app: &str, token: &str) {
    let page = format!(
        r#"<!doctype html><html><body><h1>Host</h1>
<iframe id="apps" src="{app}/?embed=1" width="480" height="200"></iframe>
<script>
window.received = [];
addEventListener("message", (event) => {{
  if (event.origin !== "{app}") return;
  window.received.push(event.data);
  const frame = document.getElementById("apps");
  if (event.data.type === "switchboard-ready") frame.contentWindow.postMessage({{type: "switchboard-token", token: "{token}"}}, "{app}");
  if (event.data.type === "switchboard-height") frame.height = event.data.height;
}});
</script></body></html>"#
    );
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let router = Router::new().route("/", get(move || std::future::ready(Html(page.clone()))));
    tokio::spawn(async move { axum::serve(listener, router).await });
}

async fn received(browser: &Browser) -> Vec<Value> {
    let value = browser
        .client
        .execute("return window.received || [];", vec![])
        .await
        .unwrap();
    value.as_array().cloned().unwrap_or_default()
}

/// Waits until the host page received a message of `kind` (and `what`, if given).
async fn heard(browser: &Browser, kind: &str, what: Option<&str>) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let messages = received(browser).await;
        let found = messages
            .iter()
            .find(|m| m["type"] == kind && what.is_none_or(|w| m["what"] == w));
        if let Some(found) = found {
            return found.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {kind} message: {messages:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_page_frames_the_apps_menu_and_hears_from_it() {
    let (port, host_port) = (free_port(), free_port());
    let host = format!("http://localhost:{host_port}");
    let app = app(port, Some(host.clone())).await;
    let page = app.http.get(app.url("/")).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.ends_with(&format!("frame-ancestors {host}")), "{csp}");
    assert!(page.headers().get("x-frame-options").is_none());
    let script = app.http.get(app.url("/ui/app.js")).send().await.unwrap();
    assert_eq!(
        script.headers()["x-frame-options"],
        "DENY",
        "only the page may be framed"
    );
    let server = OAuthMcp::builder().spawn().await;
    let alice = app.user("alice");
    let id = save_oauth_connector(&alice, &server).await;
    host_page(host_port, &app.base_url, &app.token("alice")).await;

    let browser = Browser::start().await;
    browser.client.goto(&host).await.unwrap();
    heard(&browser, "switchboard-ready", None).await;
    heard(&browser, "switchboard-height", None).await;

    browser.client.enter_frame(0).await.unwrap();
    browser.wait_for_text("#system-tools", "Analytics").await;
    assert!(
        !browser.find(".bar").await.is_displayed().await.unwrap(),
        "the embedded menu has no page header"
    );
    assert!(!browser.find("#chat-input").await.is_displayed().await.unwrap());
    browser
        .find(r#"#system-tools [data-tool="analytics"] button"#)
        .await
        .click()
        .await
        .unwrap();
    browser.client.enter_parent_frame().await.unwrap();
    heard(&browser, "switchboard-changed", Some("tools")).await;
    // The host was told the height of the menu with its content, and sized the frame to it
    // (read in one go: the page may report again meanwhile).
    let snapshot = browser
        .client
        .execute(
            "return [Number(document.getElementById('apps').height), \
             window.received.filter((m) => m.type === 'switchboard-height').map((m) => m.height)];",
            vec![],
        )
        .await
        .unwrap();
    let heights: Vec<u64> = serde_json::from_value(snapshot[1].clone()).unwrap();
    assert!(heights.iter().any(|h| *h > 300), "{heights:?}");
    assert_eq!(snapshot[0].as_u64(), heights.last().copied(), "{snapshot}");

    // Picking a tool in the embedded menu tells the host which.
    browser.client.enter_frame(0).await.unwrap();
    browser.wait_for_text("#pick-tool", "Analytics · tool_usage").await;
    browser
        .find("#pick-tool")
        .await
        .select_by_value("analytics__tool_usage")
        .await
        .unwrap();
    browser.client.enter_parent_frame().await.unwrap();
    let picked = heard(&browser, "switchboard-tool-picked", None).await;
    assert_eq!(picked["tool"], "analytics__tool_usage");
    browser.screenshot("host-embedded-apps-menu").await;

    // An OAuth sign-in from inside the frame: the popup opens, the connector becomes active.
    browser.client.enter_frame(0).await.unwrap();
    browser.find("#manage").await.click().await.unwrap();
    browser
        .find(&format!(r#"#manager-list [data-connector="{id}"] .authorize"#))
        .await
        .click()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while alice.get(&format!("/api/connectors/{id}")).await.body["status"] != "active" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the connector was authorized from the frame"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser.client.enter_parent_frame().await.unwrap();
    heard(&browser, "switchboard-changed", Some("connectors")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_setting_the_browser_refuses_to_frame_the_page() {
    let (port, host_port) = (free_port(), free_port());
    let app = app(port, None).await;
    host_page(host_port, &app.base_url, &app.token("alice")).await;
    let browser = Browser::start().await;
    browser
        .client
        .goto(&format!("http://localhost:{host_port}"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(received(&browser).await, Vec::<Value>::new(), "the frame never loaded");
}

/// Runs `tests/examples/host_agent.py` against `app`: its report and whether it succeeded.
async fn host_agent(app: &TestApp, secret: &str, env: &[(&str, &str)]) -> (bool, Value) {
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/host_agent.py");
    let mut command = tokio::process::Command::new("python3");
    command
        .arg(script)
        .env("SWITCHBOARD_URL", &app.base_url)
        .env("SWITCHBOARD_JWT_SECRET", secret)
        .env("SWITCHBOARD_USER", "alice")
        .envs(env.iter().copied());
    scripts::report(command).await
}

/// The README's host-agent example: a token minted with the shared secret,
/// the catalog in OpenAI's format, a call that waits for its result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_agent_example_lists_and_calls_the_users_tools() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let secret = app.settings.jwt_secret.as_ref().unwrap().expose().to_owned();
    let server = switchboard_tests::fixtures::mcp::McpFixture::with_tools(2, 10);
    let running = server.clone().spawn().await;
    crate::invocations::save_connector(&app.user("alice"), "Notes", &running.url).await;

    let env = [("TOOL", "notes__tool_1"), ("ARGS", r#"{"text": "from the host"}"#)];
    let (ok, report) = host_agent(&app, &secret, &env).await;
    assert!(ok, "{report}");
    assert_eq!(
        report["tools"],
        serde_json::json!(["notes__tool_0", "notes__tool_1"]),
        "{report}"
    );
    assert_eq!(report["status"], "succeeded", "{report}");
    assert_eq!(
        report["result"]["structuredContent"]["arguments"]["text"],
        "from the host"
    );
    assert_eq!(server.calls().len(), 1);

    // A token signed with another secret is refused.
    let (ok, report) = host_agent(&app, "not-the-secret", &[]).await;
    assert!(!ok);
    assert_eq!(report["status"], 401, "{report}");
}
