//! Which secret may go where: the one rule every path applies (a connection
//! test, a re-discovery or health check, a tool call from the API, an agent
//! turn or the gateway, and OAuth).
//!
//! | secret | may be sent to |
//! |---|---|
//! | OAuth access token (a grant's, or one pasted in `auth_config`) | the resource it was issued for: the connector's saved URL (RFC 8707 `resource`) |
//! | OAuth refresh token, client secret | the issuer's token (and revocation) endpoint named by its metadata |
//! | bearer token, custom header values | the saved URL's origin (scheme, host, port) |
//!
//! A request to a URL other than the saved one (a test of edited settings)
//! carries what the request itself supplied, and of the stored secrets only
//! those this table allows for that URL ([`Reach`]); so testing an edited path
//! on the same server with the stored bearer token works, and nothing stored
//! ever leaves for another origin. The second row holds by construction: the
//! refresh token and client secret are only ever sent by the OAuth code, to the
//! endpoints of the registration they belong to, without following redirects.
//! The egress stack ([`crate::egress::http`]) adds the transport half: a
//! redirect to another origin never carries `Authorization`, cookies or custom
//! headers.

use url::Url;

use crate::domain::ServerUrl;

/// How a request's URL relates to the URL the stored secrets belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The saved URL itself: every stored secret may go.
    SavedUrl,
    /// The saved origin, another path: bearer tokens and custom headers may go,
    /// OAuth access tokens may not.
    SavedOrigin,
    /// Another origin: nothing stored may go.
    Elsewhere,
}

impl Reach {
    /// Where `url` is relative to `saved`.
    pub fn of(url: &Url, saved: &Url) -> Self {
        if url == saved {
            Self::SavedUrl
        } else if url.origin() == saved.origin() {
            Self::SavedOrigin
        } else {
            Self::Elsewhere
        }
    }

    /// [`Self::of`] for server URLs.
    pub fn between(url: &ServerUrl, saved: &ServerUrl) -> Self {
        Self::of(url.as_url(), saved.as_url())
    }

    /// For a URL as stored or sent (unparseable text is [`Self::Elsewhere`]).
    pub fn of_text(url: &str, saved: &str) -> Self {
        match (Url::parse(url), Url::parse(saved)) {
            (Ok(url), Ok(saved)) => Self::of(&url, &saved),
            _ => Self::Elsewhere,
        }
    }

    /// Stored bearer tokens and custom header values.
    pub fn allows_origin_secrets(self) -> bool {
        self != Self::Elsewhere
    }

    /// Stored OAuth access tokens (a grant's or a pasted one).
    pub fn allows_access_token(self) -> bool {
        self == Self::SavedUrl
    }

    /// The stored OAuth client (id, secret, scopes): never sent to the server
    /// itself, only to its authorization server, which an origin change changes.
    pub fn allows_oauth_client(self) -> bool {
        self != Self::Elsewhere
    }
}

/// Whether an OAuth grant issued for `resource` may be sent with a request to
/// `url` of a connector saved at `saved`: only to the resource, which must be
/// the saved URL.
pub fn grant_applies(url: &str, saved: &str, resource: &str) -> bool {
    Reach::of_text(url, saved).allows_access_token() && same_resource(resource, saved)
}

/// RFC 8707 resources compare as URLs, ignoring a trailing slash on the path.
fn same_resource(resource: &str, url: &str) -> bool {
    let trimmed = |s: &str| s.trim_end_matches('/').to_owned();
    match (Url::parse(resource), Url::parse(url)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin() && trimmed(a.path()) == trimmed(b.path()) && a.query() == b.query(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn each_secret_goes_only_where_the_table_says() {
        let saved = url("https://mcp.example.com/mcp");
        let same = Reach::of(&url("https://mcp.example.com/mcp"), &saved);
        let path = Reach::of(&url("https://mcp.example.com/v2/mcp"), &saved);
        let host = Reach::of(&url("https://evil.example.com/mcp"), &saved);
        let port = Reach::of(&url("https://mcp.example.com:8443/mcp"), &saved);
        let scheme = Reach::of(&url("http://mcp.example.com/mcp"), &saved);
        assert_eq!(
            [same, path, host, port, scheme],
            [
                Reach::SavedUrl,
                Reach::SavedOrigin,
                Reach::Elsewhere,
                Reach::Elsewhere,
                Reach::Elsewhere
            ]
        );
        // Access tokens: the resource only.
        assert!(same.allows_access_token());
        assert!(!path.allows_access_token());
        // Bearer tokens and header values: the origin.
        assert!(same.allows_origin_secrets() && path.allows_origin_secrets());
        assert!(!host.allows_origin_secrets() && !port.allows_origin_secrets() && !scheme.allows_origin_secrets());
    }

    #[test]
    fn a_grant_applies_to_its_resource_only() {
        let saved = "https://mcp.example.com/mcp";
        assert!(grant_applies(saved, saved, "https://mcp.example.com/mcp"));
        assert!(grant_applies(saved, saved, "https://mcp.example.com/mcp/"));
        assert!(!grant_applies("https://mcp.example.com/other", saved, saved));
        assert!(!grant_applies("https://attacker.example/mcp", saved, saved));
        assert!(
            !grant_applies(saved, saved, "https://other.example.com/mcp"),
            "a grant issued for another resource is never sent"
        );
        assert!(!grant_applies("not a url", saved, saved));
    }
}
