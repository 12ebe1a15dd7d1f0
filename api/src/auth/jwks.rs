//! Keys from a JWKS URL, cached. Verifying never waits on a fetch while the
//! cache has the key; a fetch (when the set is stale, or a `kid` is unknown)
//! happens once however many requests want it (single flight, outside the
//! cache's lock), at most once every [`MIN_REFRESH`], and a `kid` the
//! issuer's set did not have is remembered as unknown for [`UNKNOWN_TTL`]: a
//! flood of tokens with made-up key ids cannot make Switchboard hammer the
//! issuer or queue behind it.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use switchboard_core::egress::http::{self, Deadline};
use url::Url;

const MIN_REFRESH: Duration = Duration::from_secs(30);
const MAX_AGE: Duration = Duration::from_secs(600);
/// How long a key id the issuer did not have is not looked up again.
const UNKNOWN_TTL: Duration = Duration::from_secs(300);
/// Unknown key ids remembered at most.
const MAX_UNKNOWN: usize = 1024;
/// Time one JWKS fetch may take, connect to last byte.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest JWKS document read.
const MAX_BODY: usize = 256 * 1024;

#[derive(Debug)]
pub struct JwksCache {
    url: Url,
    http: reqwest::Client,
    cached: RwLock<Cached>,
    /// Held by the one request that fetches; the others wait for its result.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Cached {
    set: Option<JwkSet>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
    unknown: HashMap<String, Instant>,
}

impl Cached {
    fn fresh(&self) -> bool {
        self.fetched_at.is_some_and(|t| t.elapsed() <= MAX_AGE)
    }

    fn find(&self, kid: Option<&str>) -> Option<Jwk> {
        let keys = &self.set.as_ref()?.keys;
        match kid {
            Some(kid) => keys.iter().find(|k| k.common.key_id.as_deref() == Some(kid)).cloned(),
            None if keys.len() == 1 => keys.first().cloned(),
            None => None,
        }
    }

    fn known_unknown(&self, kid: Option<&str>) -> bool {
        kid.is_some_and(|kid| self.unknown.get(kid).is_some_and(|at| at.elapsed() < UNKNOWN_TTL))
    }

    fn may_fetch(&self) -> bool {
        self.attempted_at.is_none_or(|t| t.elapsed() > MIN_REFRESH)
    }
}

impl JwksCache {
    pub fn new(url: Url) -> anyhow::Result<Self> {
        Ok(Self {
            url,
            http: http::operator_client()?,
            cached: RwLock::default(),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    fn read<T>(&self, f: impl FnOnce(&Cached) -> T) -> T {
        f(&self.cached.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn write<T>(&self, f: impl FnOnce(&mut Cached) -> T) -> T {
        f(&mut self.cached.write().unwrap_or_else(PoisonError::into_inner))
    }

    /// The verification key for `kid` (or the only key, when the token names none).
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, String> {
        let (found, fresh, unknown) = self.read(|c| (c.find(kid), c.fresh(), c.known_unknown(kid)));
        if let Some(jwk) = found.filter(|_| fresh) {
            return decoding_key(&jwk, alg);
        }
        if fresh && unknown {
            return Err("unknown signing key".into());
        }
        {
            let _one = self.fetching.lock().await;
            // Whoever held the lock before may have fetched what we need.
            let (found, fresh, may_fetch) = self.read(|c| (c.find(kid).is_some(), c.fresh(), c.may_fetch()));
            if (!fresh || !found) && may_fetch {
                self.write(|c| c.attempted_at = Some(Instant::now()));
                match self.fetch().await {
                    Ok(set) => self.write(|c| {
                        c.set = Some(set);
                        c.fetched_at = c.attempted_at;
                    }),
                    Err(e) => tracing::warn!(error = %e, url = %self.url, "failed to fetch JWKS"),
                }
            }
        }
        let (found, has_set) = self.read(|c| (c.find(kid), c.set.is_some()));
        match found {
            Some(jwk) => decoding_key(&jwk, alg),
            None if !has_set => Err("signing keys are unavailable".into()),
            None => {
                if let Some(kid) = kid {
                    self.write(|c| {
                        if c.unknown.len() >= MAX_UNKNOWN {
                            c.unknown.retain(|_, at| at.elapsed() < UNKNOWN_TTL);
                        }
                        if c.unknown.len() < MAX_UNKNOWN {
                            c.unknown.insert(kid.to_owned(), Instant::now());
                        }
                    });
                }
                Err("unknown signing key".into())
            }
        }
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

fn decoding_key(jwk: &Jwk, alg: Algorithm) -> Result<DecodingKey, String> {
    if let Some(key_alg) = jwk.common.key_algorithm
        && key_alg.to_string() != format!("{alg:?}")
    {
        return Err("token algorithm does not match its key".into());
    }
    DecodingKey::from_jwk(jwk).map_err(|_| "unusable signing key".to_owned())
}
