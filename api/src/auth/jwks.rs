//! Keys from a JWKS URL, cached. An unknown `kid` triggers a refetch, at most
//! once every [`MIN_REFRESH`], so key rotation at the issuer just works and a
//! flood of bad tokens cannot hammer the issuer.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};
use switchboard_core::egress::http::{self, Deadline};
use tokio::sync::RwLock;
use url::Url;

const MIN_REFRESH: Duration = Duration::from_secs(30);
/// Time one JWKS fetch may take, connect to last byte.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest JWKS document read.
const MAX_BODY: usize = 256 * 1024;
const MAX_AGE: Duration = Duration::from_secs(600);

#[derive(Debug)]
pub struct JwksCache {
    url: Url,
    http: reqwest::Client,
    state: RwLock<Cached>,
}

#[derive(Debug, Default)]
struct Cached {
    set: Option<JwkSet>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

impl JwksCache {
    pub fn new(url: Url) -> anyhow::Result<Self> {
        Ok(Self {
            url,
            http: http::operator_client()?,
            state: RwLock::new(Cached::default()),
        })
    }

    /// The verification key for `kid` (or the only key, when the token names none).
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, String> {
        {
            let cached = self.state.read().await;
            if cached.fetched_at.is_some_and(|t| t.elapsed() <= MAX_AGE)
                && let Some(jwk) = find(&cached, kid)
            {
                return decoding_key(jwk, alg);
            }
        }
        let mut cached = self.state.write().await;
        let stale = cached.fetched_at.is_none_or(|t| t.elapsed() > MAX_AGE);
        let may_retry = cached.attempted_at.is_none_or(|t| t.elapsed() > MIN_REFRESH);
        if (stale || find(&cached, kid).is_none()) && may_retry {
            cached.attempted_at = Some(Instant::now());
            match self.fetch().await {
                Ok(set) => {
                    cached.set = Some(set);
                    cached.fetched_at = cached.attempted_at;
                }
                Err(e) => tracing::warn!(error = %e, url = %self.url, "failed to fetch JWKS"),
            }
        }
        if cached.set.is_none() {
            return Err("signing keys are unavailable".into());
        }
        find(&cached, kid)
            .ok_or_else(|| "unknown signing key".to_owned())
            .and_then(|jwk| decoding_key(jwk, alg))
    }

    async fn fetch(&self) -> anyhow::Result<JwkSet> {
        let fetched = http::fetch(
            self.http.get(self.url.clone()),
            Deadline::after(FETCH_TIMEOUT),
            MAX_BODY,
        )
        .await?;
        anyhow::ensure!(
            fetched.status.is_success(),
            "the JWKS URL answered HTTP {}",
            fetched.status
        );
        Ok(fetched.json()?)
    }
}

fn find<'a>(cached: &'a Cached, kid: Option<&str>) -> Option<&'a jsonwebtoken::jwk::Jwk> {
    let keys = &cached.set.as_ref()?.keys;
    match kid {
        Some(kid) => keys.iter().find(|k| k.common.key_id.as_deref() == Some(kid)),
        None if keys.len() == 1 => keys.first(),
        None => None,
    }
}

fn decoding_key(jwk: &jsonwebtoken::jwk::Jwk, alg: Algorithm) -> Result<DecodingKey, String> {
    if let Some(key_alg) = jwk.common.key_algorithm
        && key_alg.to_string() != format!("{alg:?}")
    {
        return Err("token algorithm does not match its key".into());
    }
    DecodingKey::from_jwk(jwk).map_err(|_| "unusable signing key".to_owned())
}
