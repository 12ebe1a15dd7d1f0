//! "The browser" in OAuth tests and benchmarks: start a sign-in through the
//! API (which answers `{authorization_url}` and sets the binding cookie),
//! follow the authorization URL without redirects, and bring the callback's
//! query and the cookie back to `/oauth/callback`, as a real browser would.

use serde_json::Value;

use crate::{TestApp, UserClient};

/// What the browser brings back from the authorization server.
#[derive(Debug)]
pub struct Callback {
    pub query: String,
    pub cookie: String,
}

/// POSTs `path` (which answers `{authorization_url}` and sets the binding
/// cookie), then plays the browser at the authorization server.
pub async fn sign_in_via(user: &UserClient<'_>, path: &str) -> Callback {
    let started = user.request(reqwest::Method::POST, path).send().await.unwrap();
    assert_eq!(started.status(), 200);
    let cookie = started
        .headers()
        .get("set-cookie")
        .expect("a browser-binding cookie")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/oauth"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let body: Value = started.json().await.unwrap();
    let url = body["authorization_url"].as_str().expect("authorization_url");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let answer = browser.get(url).send().await.unwrap();
    assert!(answer.status().is_redirection(), "{url}: {}", answer.status());
    let location = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.path(), "/oauth/callback");
    Callback {
        query: location.query().unwrap().to_owned(),
        cookie,
    }
}

/// The callback as the browser calls it; returns (status, page).
pub async fn finish(app: &TestApp, callback: &Callback, cookie: Option<&str>) -> (u16, String) {
    let mut request = app.http.get(app.url(&format!("/oauth/callback?{}", callback.query)));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    (status, response.text().await.unwrap())
}
