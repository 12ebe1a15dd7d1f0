//! Bearer tokens: HS256, JWKS (RS256 and ES256), issuer and audience checks,
//! and the 401 shape.

use axum::Router;
use axum::routing::get;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use switchboard_core::Secret;
use switchboard_tests::{Backend, TestApp, UserClient};

both_backends!(
    missing_and_bad_tokens_get_401_with_www_authenticate,
    issuer_and_audience_are_enforced_when_set,
    jwks_keys_verify_rs256_and_es256
);

fn sign(claims: Value, alg: Algorithm, kid: Option<&str>, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

fn hs(secret: &Secret) -> EncodingKey {
    EncodingKey::from_secret(secret.expose().as_bytes())
}

fn claims(sub: &str, exp_in: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": sub, "iat": now, "exp": now + exp_in})
}

async fn missing_and_bad_tokens_get_401_with_www_authenticate(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let missing = app.anonymous().get("/api/connectors").await;
    assert_eq!((missing.status, missing.code()), (401, "UNAUTHORIZED"));
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));

    let secret = app.settings.jwt_secret.clone().unwrap();
    let other = Secret::new("another-secret-that-is-long-enough-000");
    let bad_tokens = [
        "not-a-jwt".to_owned(),
        sign(claims("alice", 3600), Algorithm::HS256, None, &hs(&other)),
        sign(claims("alice", -3600), Algorithm::HS256, None, &hs(&secret)),
        sign(
            json!({"exp": chrono::Utc::now().timestamp() + 60}),
            Algorithm::HS256,
            None,
            &hs(&secret),
        ),
        sign(json!({"sub": "alice"}), Algorithm::HS256, None, &hs(&secret)),
        sign(claims("", 3600), Algorithm::HS256, None, &hs(&secret)),
        sign(claims("alice", 3600), Algorithm::HS384, None, &hs(&secret)),
    ];
    for token in bad_tokens {
        let r = UserClient::new(&app, Some(token.clone())).get("/api/connectors").await;
        assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED"), "{token}: {}", r.text);
        assert_eq!(r.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
    }
    let basic = app
        .http
        .get(app.url("/api/tools"))
        .header("authorization", "Basic YWxpY2U6cHc=")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);

    let good = sign(claims("alice", 3600), Algorithm::HS256, None, &hs(&secret));
    assert_eq!(
        UserClient::new(&app, Some(good)).get("/api/connectors").await.status,
        200
    );
}

async fn issuer_and_audience_are_enforced_when_set(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|s| {
            s.jwt_issuer = Some("https://id.example.com".into());
            s.jwt_audience = Some("switchboard".into());
        })
        .spawn()
        .await;
    assert_eq!(
        app.user("alice").get("/api/tools").await.status,
        200,
        "minted with iss and aud"
    );
    let key = hs(app.settings.jwt_secret.as_ref().unwrap());
    let mut wrong_iss = claims("alice", 3600);
    wrong_iss["iss"] = json!("https://evil.example.com");
    wrong_iss["aud"] = json!("switchboard");
    let mut wrong_aud = claims("alice", 3600);
    wrong_aud["iss"] = json!("https://id.example.com");
    wrong_aud["aud"] = json!("another-app");
    for token_claims in [wrong_iss, wrong_aud, claims("alice", 3600)] {
        let token = sign(token_claims.clone(), Algorithm::HS256, None, &key);
        let r = UserClient::new(&app, Some(token)).get("/api/tools").await;
        assert_eq!(r.status, 401, "{token_claims}");
    }
}

/// Serves the fixture JWKS on loopback (each fetch counted, and slow); returns its URL.
async fn jwks_server() -> (url::Url, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let jwks: Value = serde_json::from_str(include_str!("../fixtures/test-jwks.json")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = fetches.clone();
    let app = Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            let (jwks, counted) = (jwks.clone(), counted.clone());
            async move {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                axum::Json(jwks)
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/.well-known/jwks.json").parse().unwrap(), fetches)
}

async fn jwks_keys_verify_rs256_and_es256(backend: Backend) {
    let (jwks_url, fetches) = jwks_server().await;
    let app = TestApp::builder(backend)
        .configure(move |s| {
            s.jwt_secret = None;
            s.jwks_url = Some(jwks_url);
        })
        .spawn()
        .await;
    let rsa = EncodingKey::from_rsa_pem(include_bytes!("../fixtures/test-rsa.pem")).unwrap();
    let ec = EncodingKey::from_ec_pem(include_bytes!("../fixtures/test-ec.pem")).unwrap();

    let rs_token = sign(claims("rsa-user", 3600), Algorithm::RS256, Some("test-rsa"), &rsa);
    let rs = UserClient::new(&app, Some(rs_token))
        .post_empty("/api/tools/analytics/connect")
        .await;
    assert_eq!(rs.status, 200, "{}", rs.text);
    let es_token = sign(claims("ec-user", 3600), Algorithm::ES256, Some("test-ec"), &ec);
    let es = UserClient::new(&app, Some(es_token)).get("/api/tools").await;
    assert_eq!(es.status, 200, "{}", es.text);
    let analytics = es
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "analytics")
        .unwrap();
    assert_eq!(analytics["status"], "available", "sub distinguishes the users");

    let refused = [
        sign(claims("x", 3600), Algorithm::RS256, Some("unknown-kid"), &rsa),
        sign(claims("x", 3600), Algorithm::RS256, Some("test-ec"), &rsa),
        sign(
            claims("x", 3600),
            Algorithm::HS256,
            None,
            &EncodingKey::from_secret(b"any-secret-any-secret-any-secret"),
        ),
        sign(claims("x", -3600), Algorithm::ES256, Some("test-ec"), &ec),
    ];
    for token in refused {
        let r = UserClient::new(&app, Some(token)).get("/api/tools").await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    // Not valid yet (`nbf` an hour ahead, past the leeway).
    let mut early = claims("x", 7200);
    early["nbf"] = json!(chrono::Utc::now().timestamp() + 3600);
    let r = UserClient::new(&app, Some(sign(early, Algorithm::ES256, Some("test-ec"), &ec)))
        .get("/api/tools")
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.text.contains("not valid yet"), "{}", r.text);

    // A flood of made-up key ids, at once: the JWKS is fetched once at most, not per token.
    let before = fetches.load(std::sync::atomic::Ordering::SeqCst);
    let flood = (0..40).map(|i| {
        let token = sign(claims("x", 3600), Algorithm::RS256, Some(&format!("made-up-{i}")), &rsa);
        let app = &app;
        async move { UserClient::new(app, Some(token)).get("/api/tools").await.status }
    });
    let statuses = futures::future::join_all(flood).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let fetched = fetches.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert!(fetched <= 1, "{fetched} fetches for 40 unknown key ids");
}
