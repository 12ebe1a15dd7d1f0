//! A reverse proxy that adds a bearer token: MCP clients that send no
//! headers of their own (the conformance suite's runner) reach
//! `/mcp/connectors/{id}` through it, and no token ever sits in a product
//! URL. Everything else passes as it came — method, `Host`, `Origin`, session
//! and protocol headers, `Last-Event-ID` — and bodies stream both ways (an SSE
//! response is relayed event by event).

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use futures::TryStreamExt as _;
use tokio::net::TcpListener;

#[derive(Clone)]
struct Target {
    url: String,
    token: String,
    http: reqwest::Client,
}

/// Hop-by-hop headers, not passed on.
const HOP: [HeaderName; 4] = [
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::CONTENT_LENGTH,
    header::AUTHORIZATION,
];

/// Serves on `listener` every request as one to `url` with `Bearer token`.
pub async fn serve(listener: TcpListener, url: String, token: String) {
    let http = reqwest::Client::builder().no_proxy().build().expect("an HTTP client");
    let router = Router::new().fallback(forward).with_state(Target { url, token, http });
    axum::serve(listener, router).await.expect("the auth proxy serves");
}

async fn forward(State(target): State<Target>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let mut outgoing = target
        .http
        .request(parts.method, &target.url)
        .bearer_auth(&target.token)
        .body(body);
    for (name, value) in &parts.headers {
        if !HOP.contains(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = match outgoing.send().await {
        Ok(answer) => answer,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !HOP.contains(name) {
            response = response.header(name, value);
        }
    }
    let stream = answer.bytes_stream().map_err(std::io::Error::other);
    response
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}
