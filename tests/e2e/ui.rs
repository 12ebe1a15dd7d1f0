//! The web UI in a real browser (headless chromium): dev sign-in, the Apps
//! menu with system tools and connectors, connecting a tool, toggling a
//! connector; untrusted names render as text. API-level checks of the page's
//! headers and of when dev sign-in is on are here too.

use serde_json::json;
use switchboard_tests::browser::Browser;
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::{Backend, TestApp};

use crate::invocations::save_connector;

/// Embedded mode with the JWT secret made by the server (dev sign-in on).
async fn app_with_dev_sign_in() -> TestApp {
    TestApp::builder(Backend::Sqlite)
        .configure(|s| s.jwt_secret = None)
        .spawn()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_served_with_a_strict_policy_and_dev_sign_in_only_when_safe() {
    let app = app_with_dev_sign_in().await;
    let page = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<script src="/ui/app.js""#) && !html.contains("<script>"),
        "no inline script"
    );
    let config: serde_json::Value = app
        .http
        .get(app.url("/ui/config"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["dev_sign_in"], true);
    let signed = app.anonymous().post("/ui/dev-sign-in", json!({"user": "alice"})).await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    let token = signed.body["token"].as_str().unwrap();
    let me = app
        .http
        .get(app.url("/api/connectors"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "the token works");

    // A configured secret (or any non-default setup): no dev sign-in.
    let configured = TestApp::spawn(Backend::Sqlite).await;
    let refused = configured
        .anonymous()
        .post("/ui/dev-sign-in", json!({"user": "alice"}))
        .await;
    assert_eq!(refused.status, 404);
    let config: serde_json::Value = configured
        .http
        .get(configured.url("/ui/config"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["dev_sign_in"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_menu_lists_connects_and_toggles() {
    let app = app_with_dev_sign_in().await;
    let server = McpFixture::with_tools(3, 10).spawn().await;
    let hostile = r#"<img src=x onerror="document.title='pwned'">Notes"#;
    let id = save_connector(&app.user("alice"), hostile, &server.url).await;

    let browser = Browser::start().await;
    browser.client.goto(&app.url("/")).await.unwrap();
    browser.find("#dev-user").await.send_keys("alice").await.unwrap();
    browser.find("#dev-form button").await.click().await.unwrap();

    browser.wait_for_text("#system-tools", "Gmail").await;
    let calendar = browser.find(r#"[data-tool="calendar"] button"#).await;
    assert_eq!(calendar.text().await.unwrap(), "Coming soon");
    assert!(!calendar.is_enabled().await.unwrap(), "beta tools cannot be connected");
    let connector = browser
        .wait_for_text(&format!(r#"[data-connector="{id}"]"#), "3 tools")
        .await;
    assert!(connector.contains(hostile), "the name renders as text: {connector}");
    assert_eq!(browser.client.title().await.unwrap(), "Switchboard", "no markup ran");
    browser.wait_for_text("#connector-count", "(1 of 10)").await;

    browser
        .find(r#"[data-tool="analytics"] button"#)
        .await
        .click()
        .await
        .unwrap();
    browser.wait_for_text(r#"[data-tool="analytics"]"#, "Disconnect").await;
    browser.wait_for_text("#status", "Analytics connected.").await;
    let tools = app.user("alice").get("/api/tools").await;
    let analytics = tools
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "analytics")
        .unwrap()
        .clone();
    assert_eq!(analytics["status"], "connected");
    browser.screenshot("apps-menu").await;

    browser
        .find(&format!(r#"[data-connector="{id}"] input[type=checkbox]"#))
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_for_text(&format!(r#"[data-connector="{id}"]"#), "disabled")
        .await;
    let stored = app.user("alice").get(&format!("/api/connectors/{id}")).await;
    assert_eq!(stored.body["enabled"], false);
}
