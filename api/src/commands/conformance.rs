//! `switchboard mcp conformance-client URL`: the client command of the official
//! MCP conformance suite (`MCP_CONFORMANCE_SCENARIO` names the scenario,
//! `MCP_CONFORMANCE_CONTEXT` carries pre-registered credentials).
//!
//! It connects, lists the tools and calls each one with arguments built from
//! its schema. A 401 or 403 starts Switchboard's own authorization flow
//! ([`switchboard_core::oauth`], the code connectors use), with "the browser"
//! played by following the authorization URL without redirects. At most
//! three authorizations per run, so a server that never accepts cannot loop
//! us. Client-credentials and enterprise-managed (cross-app) scenarios get
//! their tokens without a browser, through rmcp's auth module.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult, ElicitationAction,
    Implementation, PaginatedRequestParams, ProtocolVersion,
};
use rmcp::service::{RequestContext, RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::auth::enterprise::{EmaAuthorizationServer, EmaClientAuthentication, EmaExchangeRequest};
use rmcp::transport::auth::{
    AuthorizationManager, AuthorizationMetadata, ClientCredentialsConfig, JwtSigningAlgorithm,
};
use rmcp::transport::streamable_http_client::{StreamableHttpClientTransportConfig, StreamableHttpError};
use rmcp::{ClientHandler, ErrorData, ServiceExt as _};
use serde_json::{Map, Value, json};
use switchboard_core::Secret;
use switchboard_core::config::Settings;
use switchboard_core::mcp::McpClient;
use switchboard_core::mcp::classify::{TransportError, http_error, init_http_error};
use switchboard_core::mcp::timed::AnsweredClient;
use switchboard_core::oauth::{self, ClientChoice, ClientIdentity, Grant};
use url::Url;

use super::mcp::example_arguments;

/// The client ID the suite's test servers accept as a metadata document URL.
const CIMD_URL: &str = "https://conformance-test.local/client-metadata.json";
const MAX_AUTHORIZATIONS: u32 = 3;
/// How long to wait for the standalone GET stream (a server may not offer one).
const STREAM_WAIT: Duration = Duration::from_secs(1);

pub async fn run(settings: &Settings, url: &str) -> anyhow::Result<ExitCode> {
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let context: Value = std::env::var("MCP_CONFORMANCE_CONTEXT")
        .ok()
        .map(|c| serde_json::from_str(&c))
        .transpose()?
        .unwrap_or(Value::Null);
    eprintln!("conformance scenario `{scenario}` against {url}");
    let mut client = Client {
        mcp: super::mcp::client(settings)?,
        url: Url::parse(url)?,
        identity: ClientIdentity {
            redirect_uri: settings.agent.public_url.join("/oauth/callback")?.to_string(),
            metadata_url: Some(CIMD_URL.to_owned()),
            client_name: "Switchboard conformance client".into(),
        },
        context,
        scenario,
        token: None,
        grant: None,
        authorizations: 0,
    };
    client.run().await?;
    Ok(ExitCode::SUCCESS)
}

struct Client {
    mcp: McpClient,
    url: Url,
    identity: ClientIdentity,
    context: Value,
    scenario: String,
    token: Option<Secret>,
    grant: Option<Grant>,
    authorizations: u32,
}

type Session = RunningService<RoleClient, Elicitor>;

/// What stopped a request: the server's challenge, or anything else.
enum Refusal {
    Challenge(String),
    Other(anyhow::Error),
}

impl Client {
    /// Lists and calls the tools; a challenge on any request authorizes
    /// (or steps up) and starts over in a new session.
    async fn run(&mut self) -> anyhow::Result<()> {
        loop {
            let session = self.open_authorized().await?;
            let outcome = use_tools(&session).await;
            let _ = session.cancel().await;
            match outcome {
                Ok(()) => return Ok(()),
                Err(e) => match challenge_of(&e) {
                    Some(challenge) => self.authorize(&challenge).await?,
                    None => return Err(e.into()),
                },
            }
        }
    }

    /// Opens a session, authorizing (at most three times) when challenged.
    async fn open_authorized(&mut self) -> anyhow::Result<Session> {
        loop {
            match self.open().await {
                Ok(session) => return Ok(session),
                Err(Refusal::Challenge(challenge)) => self.authorize(&challenge).await?,
                Err(Refusal::Other(e)) => return Err(e),
            }
        }
    }

    async fn open(&self) -> Result<Session, Refusal> {
        let mut config = StreamableHttpClientTransportConfig::with_uri(self.url.as_str());
        config.auth_header = self.token.as_ref().map(|t| t.expose().to_owned());
        let client = AnsweredClient::new(self.mcp.http().client().clone());
        let stream_opened = client.stream_opened.clone();
        let transport = StreamableHttpClientTransport::with_client(client, config);
        let session = Elicitor
            .serve(transport)
            .await
            .map_err(|e| match challenge_in(init_http_error(&e)) {
                Some(challenge) => Refusal::Challenge(challenge),
                None => Refusal::Other(anyhow!("initialize failed: {e}")),
            })?;
        // rmcp opens the standalone GET stream after `initialized` on its own;
        // let it open before the first request, so that a server watching GET
        // requests (sse-retry) does not take it for a reconnection.
        let _ = tokio::time::timeout(STREAM_WAIT, stream_opened.notified()).await;
        Ok(session)
    }

    async fn authorize(&mut self, challenge: &str) -> anyhow::Result<()> {
        self.authorizations += 1;
        if self.authorizations > MAX_AUTHORIZATIONS {
            bail!("the server still refuses after {MAX_AUTHORIZATIONS} authorizations; giving up");
        }
        let token = match self.scenario.as_str() {
            "auth/client-credentials-basic" | "auth/client-credentials-jwt" => {
                self.client_credentials(challenge).await?
            }
            "auth/cross-app-access-complete-flow" => self.cross_app_access(challenge).await?,
            _ => self.authorization_code(challenge).await?,
        };
        self.token = Some(token);
        Ok(())
    }

    /// The flow connectors use: start, "the browser", finish.
    async fn authorization_code(&mut self, challenge: &str) -> anyhow::Result<Secret> {
        let choice = ClientChoice {
            client_id: self.context_str("client_id"),
            client_secret: self.context_str("client_secret").map(Secret::new),
            scopes: Vec::new(),
        };
        let previous = self.grant.as_ref().map(|g| g.scopes().to_vec()).unwrap_or_default();
        let started = oauth::start(
            self.mcp.http(),
            &self.url,
            Some(challenge),
            &choice,
            &self.identity,
            &previous,
        )
        .await?;
        let callback = browser(&started.authorization_url).await?;
        let param = |name: &str| {
            callback
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let code = param("code").context("the authorization server sent no code")?;
        if param("state").as_deref() != Some(started.state.expose()) {
            bail!("the authorization server returned a different state");
        }
        let grant = oauth::finish(self.mcp.http(), started.pending, &code, param("iss").as_deref()).await?;
        let token = grant.access_token().context("no access token issued")?;
        self.grant = Some(grant);
        Ok(token)
    }

    async fn metadata(&self, challenge: &str) -> anyhow::Result<(AuthorizationManager, AuthorizationMetadata)> {
        let mut manager =
            AuthorizationManager::new_with_oauth_http_client(self.url.as_str(), oauth::rmcp_client(self.mcp.http()))
                .await?;
        let metadata = manager.resolve_metadata_from_challenge(Some(challenge)).await?.metadata;
        manager.set_metadata(metadata.clone());
        Ok((manager, metadata))
    }

    async fn client_credentials(&self, challenge: &str) -> anyhow::Result<Secret> {
        let (mut manager, _) = self.metadata(challenge).await?;
        let client_id = self.context_str("client_id").context("no client_id in the context")?;
        let resource = Some(self.url.to_string());
        let config = match self.context_str("private_key_pem") {
            Some(pem) => ClientCredentialsConfig::PrivateKeyJwt {
                client_id,
                signing_key: pem.into_bytes(),
                signing_algorithm: match self.context_str("signing_algorithm").as_deref() {
                    Some("RS256") => JwtSigningAlgorithm::RS256,
                    _ => JwtSigningAlgorithm::ES256,
                },
                token_endpoint_audience: None,
                scopes: Vec::new(),
                resource,
            },
            None => ClientCredentialsConfig::ClientSecret {
                client_id,
                client_secret: self
                    .context_str("client_secret")
                    .context("no client_secret in the context")?,
                scopes: Vec::new(),
                resource,
            },
        };
        manager.configure_client_credentials(&config)?;
        let response = manager.exchange_client_credentials(&config).await?;
        Ok(Secret::new(
            oauth2::TokenResponse::access_token(&response).secret().clone(),
        ))
    }

    async fn cross_app_access(&self, challenge: &str) -> anyhow::Result<Secret> {
        let (_, metadata) = self.metadata(challenge).await?;
        let field = |name: &str| {
            self.context_str(name)
                .with_context(|| format!("no {name} in the context"))
        };
        let idp = EmaAuthorizationServer::new(
            field("idp_issuer")?,
            field("idp_token_endpoint")?,
            field("idp_client_id")?,
        );
        let resource_as = EmaAuthorizationServer::new(
            metadata
                .issuer
                .clone()
                .context("the authorization server has no issuer")?,
            metadata.token_endpoint.clone(),
            field("client_id")?,
        )
        .with_client_authentication(EmaClientAuthentication::ClientSecretBasic(oauth2::ClientSecret::new(
            field("client_secret")?,
        )));
        let id_token = field("idp_id_token")?;
        let resource = self.url.to_string();
        let http = oauth::rmcp_client(self.mcp.http());
        let token = EmaExchangeRequest::new_with_id_token(idp, resource_as, &resource, &id_token)
            .exchange(http.as_ref(), http.as_ref())
            .await
            .map_err(|e| anyhow!("enterprise-managed exchange failed: {e}"))?;
        Ok(Secret::new(token.access_token.secret().clone()))
    }

    fn context_str(&self, name: &str) -> Option<String> {
        self.context.get(name).and_then(Value::as_str).map(str::to_owned)
    }
}

async fn use_tools(session: &Session) -> Result<(), ServiceError> {
    let mut cursor = None;
    let mut tools = Vec::new();
    loop {
        let page = session
            .peer()
            .list_tools(Some(PaginatedRequestParams::default().with_cursor(cursor)))
            .await?;
        tools.extend(page.tools);
        match page.next_cursor {
            Some(next) if !next.is_empty() => cursor = Some(next),
            _ => break,
        }
    }
    for tool in &tools {
        let arguments = example_arguments(&Value::Object((*tool.input_schema).clone()));
        let params = CallToolRequestParams::new(tool.name.clone()).with_arguments(arguments);
        let result = session.peer().call_tool(params).await?;
        eprintln!("called {}: is_error={:?}", tool.name, result.is_error);
    }
    Ok(())
}

/// The user's browser, in a test: GET the authorization URL and read where
/// the server redirects (the suite's servers approve at once).
async fn browser(url: &Url) -> anyhow::Result<Url> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()?;
    let response = http.get(url.clone()).send().await?;
    let location = response
        .headers()
        .get(http::header::LOCATION)
        .context("the authorization endpoint did not redirect")?
        .to_str()?;
    Ok(url.join(location)?)
}

fn challenge_of(error: &ServiceError) -> Option<String> {
    let ServiceError::TransportSend(dynamic) = error else {
        return None;
    };
    challenge_in(http_error(dynamic.error.as_ref()))
}

/// The `WWW-Authenticate` of a 401 or 403 answer.
fn challenge_in(error: Option<&TransportError>) -> Option<String> {
    match error? {
        StreamableHttpError::AuthRequired(c) => Some(c.www_authenticate_header.clone()),
        StreamableHttpError::InsufficientScope(c) => Some(c.www_authenticate_header.clone()),
        _ => None,
    }
}

/// A client that answers form elicitations by accepting the schema's defaults.
#[derive(Debug, Clone)]
struct Elicitor;

impl ClientHandler for Elicitor {
    fn get_info(&self) -> ClientConfig {
        let capabilities: ClientCapabilities =
            serde_json::from_value(json!({"elicitation": {"form": {}}})).unwrap_or_default();
        ClientConfig::new(
            capabilities,
            Implementation::new("switchboard", env!("CARGO_PKG_VERSION")),
        )
        .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let ElicitRequestParams::FormElicitationParams { requested_schema, .. } = request else {
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        let schema = serde_json::to_value(&requested_schema).unwrap_or_default();
        let defaults: Map<String, Value> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .filter_map(|(name, p)| Some((name.clone(), p.get("default")?.clone())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(ElicitResult::new(ElicitationAction::Accept).with_content(Value::Object(defaults)))
    }
}
