//! The proxy's side of each MCP method ([`ServerHandler`]): `initialize` and
//! `server/discover` introduce the connector's server, `tools/*` go through
//! [`ConnectorProxy`]'s rules, every other request is passed on as it is, and
//! the client's notifications (progress, roots changed) go to the server.

#[allow(deprecated)]
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResponse, ClientNotification, ClientRequest, CompleteRequest,
    CompleteRequestParams, CompleteResult, DiscoverResult, Extensions, GetPromptRequest, GetPromptRequestParams,
    GetPromptResponse, Implementation, InitializeRequestParams, InitializeResult, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams, ProgressNotification,
    ProgressNotificationParam, ProtocolVersion, ReadResourceRequest, ReadResourceRequestParams, ReadResourceResponse,
    RequestOptionalParam, ServerConfig, ServerResult, SetLevelRequest, SetLevelRequestParams, SubscribeRequest,
    SubscribeRequestParams, UnsubscribeRequest, UnsubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::service::{ConnectorProxy, as_tool, carried, is_modern, served, target_of};
use crate::routes::gateway::eras;
use crate::routes::gateway::sessions::SESSION_HEADER;

/// A request with optional params, as rmcp's envelope wants it.
fn optional<M: Default, P>(params: Option<P>) -> RequestOptionalParam<M, P> {
    match params {
        Some(p) => RequestOptionalParam::with_param(p),
        None => RequestOptionalParam {
            method: M::default(),
            params: None,
            extensions: Extensions::default(),
        },
    }
}

fn other_kind() -> ErrorData {
    ErrorData::internal_error("the server answered with a result of another kind", None)
}

/// The result a relayed request must have; anything else is the server's fault.
macro_rules! expect {
    ($result:expr, $variant:ident) => {
        match $result? {
            ServerResult::$variant(r) => Ok(r),
            _ => Err(other_kind()),
        }
    };
}

impl ServerHandler for ConnectorProxy {
    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        context.peer.set_peer_info(request.clone());
        let target = target_of(&context.extensions)?;
        let up = self.upstream(&target, &context, true).await?;
        Ok(self.introduce(up, request.protocol_version))
    }

    async fn discover(&self, context: RequestContext<RoleServer>) -> Result<DiscoverResult, ErrorData> {
        let target = target_of(&context.extensions)?;
        let up = self.upstream(&target, &context, false).await?;
        let info = self.introduce(up, ProtocolVersion::V_2026_07_28);
        Ok(DiscoverResult::from_server_info(eras::SUPPORTED.to_vec(), info))
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let target = target_of(&context.extensions)?;
        Ok(ListToolsResult::with_all_items(
            served(&target.connector, &target.policies)
                .filter_map(as_tool)
                .collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let target = target_of(&context.extensions)?;
        let modern = is_modern(context.protocol_version().as_ref());
        match self
            .call(&target, CallToolRequest::new(request), &context, modern)
            .await?
        {
            ServerResult::CallToolResult(r) => Ok(r.into()),
            ServerResult::InputRequiredResult(r) => Ok(r.into()),
            _ => Err(other_kind()),
        }
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let request = ClientRequest::ListPromptsRequest(optional(request));
        expect!(self.relayed(request, &context).await, ListPromptsResult)
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let request = ClientRequest::GetPromptRequest(GetPromptRequest::new(request));
        match self.relayed(request, &context).await? {
            ServerResult::GetPromptResult(r) => Ok(r.into()),
            ServerResult::InputRequiredResult(r) => Ok(r.into()),
            _ => Err(other_kind()),
        }
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let request = ClientRequest::ListResourcesRequest(optional(request));
        expect!(self.relayed(request, &context).await, ListResourcesResult)
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let request = ClientRequest::ListResourceTemplatesRequest(optional(request));
        expect!(self.relayed(request, &context).await, ListResourceTemplatesResult)
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let request = ClientRequest::ReadResourceRequest(ReadResourceRequest::new(request));
        match self.relayed(request, &context).await? {
            ServerResult::ReadResourceResult(r) => Ok(r.into()),
            ServerResult::InputRequiredResult(r) => Ok(r.into()),
            _ => Err(other_kind()),
        }
    }

    #[allow(deprecated)]
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let request = ClientRequest::SubscribeRequest(SubscribeRequest::new(request));
        self.relayed(request, &context).await.map(drop)
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let request = ClientRequest::UnsubscribeRequest(UnsubscribeRequest::new(request));
        self.relayed(request, &context).await.map(drop)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let request = ClientRequest::CompleteRequest(CompleteRequest::new(request));
        expect!(self.relayed(request, &context).await, CompleteResult)
    }

    #[allow(deprecated)]
    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let request = ClientRequest::SetLevelRequest(SetLevelRequest::new(request));
        self.relayed(request, &context).await.map(drop)
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let session = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.headers.get(SESSION_HEADER))
            .and_then(|v| v.to_str().ok());
        if let Some(id) = session {
            self.confirm(id);
        }
    }

    async fn on_progress(&self, params: ProgressNotificationParam, _: NotificationContext<RoleServer>) {
        self.notify_upstream(ClientNotification::ProgressNotification(ProgressNotification::new(
            params,
        )))
        .await;
    }

    #[allow(deprecated)]
    async fn on_roots_list_changed(&self, _: NotificationContext<RoleServer>) {
        self.notify_upstream(ClientNotification::RootsListChangedNotification(Default::default()))
            .await;
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(carried(self.offered()))
            .with_server_info(Implementation::new("switchboard-proxy", env!("CARGO_PKG_VERSION")))
    }

    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        std::borrow::Cow::Borrowed(&eras::SUPPORTED)
    }
}
