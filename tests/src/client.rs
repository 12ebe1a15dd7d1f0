//! Typed requests against a [`TestApp`] as one user.

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::TestApp;

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
}

impl Resp {
    /// `error.code` of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// The `loc`s of a 422's details, joined with dots.
    pub fn locs(&self) -> Vec<String> {
        self.body["error"]["details"]
            .as_array()
            .map(|d| {
                d.iter()
                    .map(|e| {
                        e["loc"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|p| p.as_str().unwrap())
                            .collect::<Vec<_>>()
                            .join(".")
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Debug)]
pub struct UserClient<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

impl<'a> UserClient<'a> {
    pub fn new(app: &'a TestApp, token: Option<String>) -> Self {
        Self { app, token }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }

    /// POST without a body.
    pub async fn post_empty(&self, path: &str) -> Resp {
        self.send(Method::POST, path, None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.send_with(method, path, body, &[]).await
    }

    /// A request with extra headers (e.g. `Prefer: wait=5`).
    pub async fn send_with(&self, method: Method, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Resp {
        let mut request = self.request(method, path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    /// A request builder with this user's token, for unusual requests.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.app.http.request(method, self.app.url(path));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}

pub async fn read(response: reqwest::Response) -> Resp {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        text,
        body,
    }
}
