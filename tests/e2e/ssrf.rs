//! The SSRF corpus, as one table: every address form × every way a server can
//! hand Switchboard a URL (the URL itself, a redirect on either transport, the
//! legacy `endpoint` a server announces, each URL an OAuth metadata document
//! names) is refused by the egress guard — and a canary listener on loopback
//! sees nothing. Every packet stays on this machine: names resolve through the
//! test resolver, and the loopback fuse refuses any other address in code
//! separate from the policy; a refusal by the fuse (it names itself, and logs
//! an error) means the policy itself let the address through, which fails the
//! test just the same.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::future::join_all;
use serde_json::json;
use switchboard_core::domain::{Credentials, CustomHeaders};
use switchboard_core::egress::http::EgressHttp;
use switchboard_core::egress::{AllowList, FUSE};
use switchboard_core::mcp::{McpClient, McpLimits};
use switchboard_core::oauth::{self, ClientChoice, ClientIdentity, OAuthError};
use switchboard_tests::fixtures::serve;
use switchboard_tests::probe::{Recorder, test_guard};

/// Address forms, `{canary}` standing for the canary's port.
const FORMS: [&str; 26] = [
    "127.0.0.1:{canary}",
    "127.1:{canary}",
    "0x7f.0.0.1:{canary}",
    "0177.0.0.1:{canary}",
    "2130706433:{canary}",
    "127.127.127.127:{canary}",
    "localhost:{canary}",
    "[::1]:{canary}",
    "[::ffff:127.0.0.1]:{canary}",
    "[::ffff:7f00:1]:{canary}",
    "0.0.0.0:{canary}",
    "[::]:{canary}",
    "[64:ff9b::7f00:1]:{canary}",
    "10.0.0.1",
    "0x0a000001",
    "172.16.5.4",
    "192.168.0.1",
    "private.test",
    "169.254.169.254",
    "[::ffff:a9fe:a9fe]",
    "metadata.test",
    "100.64.0.1",
    "[fd00::1]",
    "[fe80::1]",
    "[64:ff9b::a00:1]",
    "[2002:c0a8:101::1]",
];

/// Counts connections to loopback on one port (IPv4 and, when free, IPv6).
struct Canary {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Canary {
    async fn spawn() -> Self {
        let v4 = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = v4.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let mut listeners = vec![v4];
        if let Ok(v6) = tokio::net::TcpListener::bind(("::1", port)).await {
            listeners.push(v6);
        }
        for listener in listeners {
            let hits = hits.clone();
            tokio::spawn(async move {
                while listener.accept().await.is_ok() {
                    hits.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        Self { port, hits }
    }
}

/// The hostile URL of form `n`.
fn target(n: usize, canary: u16) -> String {
    format!("http://{}/x", FORMS[n].replace("{canary}", &canary.to_string()))
}

/// One server on an allowed port that hands out the hostile URLs:
/// `/redirect/{n}` (307), `/legacy-redirect/{n}` (405 to POST, GET redirected),
/// `/legacy/{n}` (announces the URL as its endpoint), and `/o/{n}/{what}/…`,
/// an OAuth-protected resource whose metadata names the URL as `what`
/// (`prm`, `issuer`, `registration` or `token`).
#[derive(Clone)]
struct Deliverer {
    canary: u16,
    base: Arc<std::sync::OnceLock<String>>,
}

async fn deliver(State(d): State<Deliverer>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let post = request.method() == axum::http::Method::POST;
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let well_known = parts.first() == Some(&".well-known");
    let parts = if well_known { &parts[2..] } else { &parts[..] };
    let (Some(kind), Some(n)) = (parts.first(), parts.get(1).and_then(|n| n.parse::<usize>().ok())) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let hostile = target(n, d.canary);
    let base = d.base.get().cloned().unwrap_or_default();
    let redirect = || (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, hostile.clone())]).into_response();
    match *kind {
        "redirect" => redirect(),
        "legacy-redirect" | "legacy" if post => StatusCode::METHOD_NOT_ALLOWED.into_response(),
        "legacy-redirect" => redirect(),
        "legacy" => (
            [(header::CONTENT_TYPE, "text/event-stream")],
            format!("event: endpoint\ndata: {hostile}\n\n"),
        )
            .into_response(),
        "o" => {
            let what = parts.get(2).copied().unwrap_or_default();
            let own = |s: &str| format!("{base}/o/{n}/{what}/{s}");
            let pick = |name: &str, own_url: String| if what == name { hostile.clone() } else { own_url };
            let issuer = pick("issuer", own("as"));
            match (well_known, parts.get(3).copied()) {
                (false, Some("mcp")) => {
                    let prm = pick("prm", own("prm"));
                    let challenge = format!("Bearer resource_metadata=\"{prm}\"");
                    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)]).into_response()
                }
                (false, Some("prm")) => {
                    axum::Json(json!({"resource": own("mcp"), "authorization_servers": [issuer]})).into_response()
                }
                (true, Some("as")) | (false, Some("as")) => axum::Json(json!({
                    "issuer": issuer,
                    "authorization_endpoint": own("authorize"),
                    "token_endpoint": pick("token", own("token")),
                    "registration_endpoint": pick("registration", own("register")),
                    "response_types_supported": ["code"],
                    "code_challenge_methods_supported": ["S256"],
                }))
                .into_response(),
                (false, Some("register")) => (
                    StatusCode::CREATED,
                    axum::Json(json!({"client_id": "registered", "redirect_uris": ["http://127.0.0.1/cb"]})),
                )
                    .into_response(),
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// What one case ended with: refused (the message) or, wrongly, reached.
type Outcome = Result<String, String>;
type Case<'a> = (String, std::pin::Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>);

fn judged(case: &str, outcome: Outcome) -> Option<String> {
    match outcome {
        Ok(refusal) if refusal.contains(FUSE) => Some(format!("{case}: only the test fuse refused it ({refusal})")),
        Ok(_) => None,
        Err(reached) => Some(format!("{case}: not refused ({reached})")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_address_form_is_refused_by_every_delivery_path() {
    switchboard_tests::logs::capture();
    let canary = Canary::spawn().await;
    let deliverer = Deliverer {
        canary: canary.port,
        base: Arc::default(),
    };
    let router = Router::new().fallback(deliver).with_state(deliverer.clone());
    let server = serve(router, "").await;
    deliverer.base.set(server.url.clone()).unwrap();
    let port = server.url.rsplit(':').next().unwrap().to_owned();
    // Only the deliverer may be reached: every form is refused by the policy.
    let allow: AllowList = format!("127.0.0.1:{port}").parse().unwrap();
    let http = EgressHttp::new(test_guard(allow)).unwrap();
    let client = McpClient::new(http.clone(), McpLimits::default());
    let identity = ClientIdentity {
        redirect_uri: "http://127.0.0.1:1/oauth/callback".into(),
        metadata_url: None,
        client_name: "corpus".into(),
    };
    let (credentials, headers) = (Credentials::None, CustomHeaders::default());
    let probe = |url: String| {
        let client = &client;
        let (credentials, headers) = (&credentials, &headers);
        async move {
            let report = client
                .probe(&url, credentials, headers, Duration::from_secs(5), &Recorder::default())
                .await;
            report
                .failure
                .map(|f| f.message)
                .ok_or_else(|| "the test passed".to_owned())
        }
    };
    let authorize = |n: usize, what: &'static str| {
        let (http, identity, base) = (&http, &identity, &server.url);
        async move {
            let resource = url::Url::parse(&format!("{base}/o/{n}/{what}/mcp")).unwrap();
            let challenge = format!(
                "Bearer resource_metadata=\"{}\"",
                if what == "prm" {
                    target(n, canary.port)
                } else {
                    format!("{base}/o/{n}/{what}/prm")
                }
            );
            let choice = ClientChoice::default();
            let started = oauth::start(http, &resource, Some(&challenge), &choice, identity, &[]).await;
            let started = match (what, started) {
                ("token", Ok(started)) => started,
                (_, Ok(_)) => return Err("authorization started".to_owned()),
                (_, Err(e)) => return Ok(e.to_string()),
            };
            match oauth::finish(http, started.pending, "code", None).await {
                Err(OAuthError::Protocol(e) | OAuthError::Rejected(e) | OAuthError::Registration(e)) => Ok(e),
                Ok(_) => Err("tokens exchanged".to_owned()),
            }
        }
    };

    let mut cases: Vec<Case<'_>> = Vec::new();
    for (n, form) in FORMS.iter().enumerate() {
        cases.push((format!("{form} as the URL"), Box::pin(probe(target(n, canary.port)))));
        cases.push((
            format!("{form} by a redirect"),
            Box::pin(probe(format!("{}/redirect/{n}", server.url))),
        ));
        cases.push((
            format!("{form} by a legacy redirect"),
            Box::pin(probe(format!("{}/legacy-redirect/{n}", server.url))),
        ));
        cases.push((
            format!("{form} as a legacy endpoint"),
            Box::pin(probe(format!("{}/legacy/{n}", server.url))),
        ));
        for what in ["prm", "issuer", "registration", "token"] {
            cases.push((format!("{form} as the OAuth {what} URL"), Box::pin(authorize(n, what))));
        }
    }
    let count = cases.len();
    let (names, futures): (Vec<_>, Vec<_>) = cases.into_iter().unzip();
    let outcomes = join_all(futures).await;
    let wrong: Vec<String> = names
        .iter()
        .zip(outcomes)
        .filter_map(|(case, outcome)| judged(case, outcome))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {count} cases went wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(count >= 20 * 4, "the corpus has {count} cases");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(canary.hits.load(Ordering::SeqCst), 0, "the canary was reached");
    // Refusals wrapped by rmcp's OAuth errors do not say who refused: the fuse logs it.
    assert!(
        !switchboard_tests::logs::captured().contains("the test fuse refused"),
        "the policy let an address through that only the fuse stopped"
    );
}
