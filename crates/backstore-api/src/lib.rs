//! The Microsoft Graph surface of backstore. One axum fallback handler takes every request: it reads
//! the body (bounded), authenticates the bearer token, parses the path and the query options, and
//! dispatches to a handler per resource. Errors become Graph's envelope in one place.

pub mod audit;
pub mod auth;
pub mod body;
mod drive_path;
pub mod error;
mod handlers;
mod jwt;
mod mail_path;
pub mod mail_store;
pub mod metadata;
pub mod mime;
pub mod names;
pub mod oidc;
mod origin;
pub mod path;
pub mod query;
mod target;
pub mod throttle;
mod token_cache;
pub mod wire;

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use backstore_store::{Clock, Store};
use futures::StreamExt;
use serde_json::Value;

use crate::auth::{Principal, SigningKey};
use crate::error::ApiError;
use crate::path::{ApiVersion, Target};
use crate::query::QueryOptions;
use crate::wire::Render;

/// Largest request body accepted (1 MiB); file content (`PUT …/content`) is streamed instead.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Largest body of a mail request: a message's MIME of up to 4 MiB in base64, or an attachment of
/// up to 3 MiB in JSON, as Graph takes them in one request.
pub const MAX_MAIL_BODY_BYTES: usize = 6 * 1024 * 1024;

/// How long a simple upload's body may take to arrive.
const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

const ODATA_JSON: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
const PREFER_UNKNOWN_ENUMS: &str = "include-unknown-enum-members";

/// What the API needs from `main`: the store, the key that signs tokens, the server's clock.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    store: Arc<Store>,
    key: SigningKey,
    clock: Clock,
    trust_proxy: bool,
    throttle: Arc<throttle::Throttle>,
    issuers: Arc<oidc::Issuers>,
    limits: RequestLimits,
    audit: Arc<audit::AuditLog>,
    /// The content store files are kept in (`None`: file paths answer 501).
    content: Option<Arc<Content>>,
    /// The bytes and entries below each tree `restorePointStats` has walked: a tree's id is the
    /// hash of what it holds, so what is known of it never changes.
    tree_stats: Arc<handlers::TreeStats>,
}

/// The content store the API serves files from.
pub type Content = backstore_content::Repository<Arc<Store>>;

impl AppState {
    pub fn new(store: Arc<Store>, key: SigningKey, clock: Clock) -> AppState {
        let throttle = Arc::new(throttle::Throttle::default());
        let issuers = Arc::new(oidc::Issuers::default());
        let (limits, audit) = (RequestLimits::default(), Arc::new(audit::AuditLog::default()));
        let tree_stats = Arc::default();
        let inner = Inner {
            store,
            key,
            clock,
            trust_proxy: false,
            throttle,
            issuers,
            limits,
            audit,
            content: None,
            tree_stats,
        };
        AppState { inner: Arc::new(inner) }
    }

    /// A copy with one setting changed.
    fn with(self, change: impl FnOnce(&mut Inner)) -> AppState {
        let mut inner = (*self.inner).clone();
        change(&mut inner);
        AppState { inner: Arc::new(inner) }
    }

    /// Throttles callers with these buckets.
    pub fn throttled(self, throttle: throttle::Throttle) -> AppState {
        self.with(|i| i.throttle = Arc::new(throttle))
    }

    /// Behind a reverse proxy: links are built from `X-Forwarded-Proto` / `X-Forwarded-Host`.
    pub fn trusting_proxy(self, trust: bool) -> AppState {
        self.with(|i| i.trust_proxy = trust)
    }

    /// Records every write request here (besides the log).
    pub fn audited(self, audit: audit::AuditLog) -> AppState {
        self.with(|i| i.audit = Arc::new(audit))
    }

    /// Holds every request to these limits.
    pub fn limited(self, limits: RequestLimits) -> AppState {
        self.with(|i| i.limits = limits)
    }

    /// Also accepts tokens of these OpenID Connect issuers.
    pub fn trusting_issuers(self, issuers: oidc::Issuers) -> AppState {
        self.with(|i| i.issuers = Arc::new(issuers))
    }

    /// Serves files from this content store.
    /// A copy serving another store (a saved state loaded), every other setting and the
    /// throttling buckets shared; give it that store's content with [`AppState::with_content`].
    pub fn on_store(self, store: Arc<Store>) -> AppState {
        self.with(|i| {
            i.store = store;
            i.content = None;
        })
    }

    pub fn with_content(self, content: Arc<Content>) -> AppState {
        self.with(|i| i.content = Some(content))
    }

    pub fn store(&self) -> &Store {
        self.inner.store.as_ref()
    }
}

/// The router: every path goes through [`dispatch`]; a panic anywhere below becomes a Graph 500.
pub fn router(state: AppState) -> Router {
    Router::new()
        .fallback(dispatch)
        .with_state(state)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
}

fn panic_response(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = cause
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| cause.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    let request_id = uuid::Uuid::new_v4().to_string();
    tracing::error!(request_id = %request_id, panic = %detail, "handler panicked");
    error_response(&ApiError::Internal(detail.to_owned()), &request_id, None)
}

/// Everything a handler knows about its request.
pub(crate) struct Ctx {
    pub state: AppState,
    pub principal: Principal,
    pub version: ApiVersion,
    /// `scheme://host[:port]` as the client addressed us.
    pub origin: String,
    /// The request path as sent.
    pub path: String,
    pub query: QueryOptions,
    pub render: Render,
    pub body: Bytes,
    /// The request's `If-Match`, `If-None-Match`, `Content-Length` and `Content-Type`.
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub content_length: Option<u64>,
    pub content_type: Option<String>,
    /// `Prefer: outlook.body-content-type="text"` (`Some(true)`) or `"html"` (`Some(false)`).
    pub prefer_text_body: Option<bool>,
    /// `Prefer: odata.maxpagesize=N`.
    pub max_page_size: Option<i64>,
}

impl Ctx {
    pub fn store(&self) -> &Store {
        self.state.store()
    }

    /// The request came under `/beta`.
    pub fn is_beta(&self) -> bool {
        self.version == ApiVersion::Beta
    }

    pub fn tenant(&self) -> &str {
        &self.principal.tenant
    }

    /// The caller as the author of a write, stamped with the current time.
    pub fn writer(&self) -> backstore_store::Writer<'_> {
        backstore_store::Writer {
            tenant: &self.principal.tenant,
            actor: &self.principal.actor,
            now: self.state.inner.clock.now(),
        }
    }

    /// `https://host/v1.0/solutions/backupRestore`
    pub fn service_url(&self) -> String {
        format!("{}/{}/solutions/backupRestore", self.origin, self.version.as_str())
    }

    /// An absolute `@odata.context` for a path below `solutions/backupRestore`.
    pub fn context(&self, fragment: &str) -> String {
        format!("{}/{}/$metadata#solutions/backupRestore/{fragment}", self.origin, self.version.as_str())
    }

    /// An absolute `@odata.nextLink` to the same collection, continuing after the row with
    /// sequence `after` and `$orderby` key values `keys`.
    pub fn next_link(&self, after: i64, keys: &[backstore_store::Bind]) -> String {
        let token = query::encode_skiptoken(after, keys);
        format!("{}{}?{}", self.origin, self.path, query::next_query(&self.query.raw, &token))
    }
}

async fn dispatch(State(state): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = req.headers().get("client-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let method = req.method().clone();
    let uri = req.uri().clone();
    let prefer_unknown = prefers_unknown_enums(req.headers());

    let audit = state.inner.audit.clone();
    let mut trail = audit::Trail::default();
    let mut response = match handle(state, req, prefer_unknown, &mut trail).await {
        Ok(r) => r,
        Err(e) => {
            if let ApiError::Internal(cause) = &e {
                tracing::error!(request_id = %request_id, method = %method, uri = %uri, cause = %cause, "request failed");
            }
            error_response(&e, &request_id, client_request_id.as_deref())
        }
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("request-id", v);
    }
    if let Some(v) = client_request_id.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert("client-request-id", v);
    }
    if prefer_unknown {
        headers.insert("preference-applied", HeaderValue::from_static(PREFER_UNKNOWN_ENUMS));
    }
    if audit::is_write(&method) {
        // Write responses are small: read the id of what was written from the body, then put it back.
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
        let result_id = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
        audit.record(audit::Entry {
            request_id: &request_id,
            method: &method,
            path: uri.path(),
            status: parts.status.as_u16(),
            trail: &trail,
            result_id,
        });
        response = Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    tracing::info!(
        request_id = %request_id,
        method = %method,
        uri = %uri,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// `Prefer: outlook.body-content-type="text"` or `"html"`: how a message's body is asked for.
fn prefer_body_type(headers: &HeaderMap) -> Option<bool> {
    headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).find_map(|p| {
        let (name, value) = p.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("outlook.body-content-type") {
            return None;
        }
        match value.trim().trim_matches('"').to_ascii_lowercase().as_str() {
            "text" => Some(true),
            "html" => Some(false),
            _ => None,
        }
    })
}

/// `Prefer: odata.maxpagesize=N`.
fn prefer_max_page_size(headers: &HeaderMap) -> Option<i64> {
    headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim().eq_ignore_ascii_case("odata.maxpagesize").then(|| value.trim().parse().ok()).flatten()
    })
}

fn prefers_unknown_enums(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case(PREFER_UNKNOWN_ENUMS)))
}

/// What one request may cost: the size of its headers and the time its body takes to arrive.
#[derive(Debug, Clone)]
pub struct RequestLimits {
    pub max_header_bytes: usize,
    pub body_timeout: std::time::Duration,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits { max_header_bytes: 16 * 1024, body_timeout: std::time::Duration::from_secs(30) }
    }
}

/// A 431 when the request line and headers together pass the limit.
fn check_header_size(req: &Request, limit: usize) -> Result<(), ApiError> {
    let size = req.uri().to_string().len()
        + req.headers().iter().map(|(k, v)| k.as_str().len() + v.as_bytes().len() + 4).sum::<usize>();
    if size > limit {
        return Err(ApiError::HeadersTooLarge(limit));
    }
    Ok(())
}

/// Reads the body up to the limit (a larger one is a 413 before any handler runs) within
/// `timeout` (a 408 past it).
async fn read_body(req: Request, limit: usize, timeout: std::time::Duration) -> Result<Bytes, ApiError> {
    tokio::time::timeout(timeout, read_body_now(req, limit))
        .await
        .unwrap_or_else(|_| Err(ApiError::RequestTimeout(timeout.as_secs().max(1))))
}

async fn read_body_now(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::RequestEntityTooLarge(limit));
    }
    axum::body::to_bytes(req.into_body(), limit).await.map_err(|e| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if s.is::<http_body_util::LengthLimitError>() {
                return ApiError::RequestEntityTooLarge(limit);
            }
            source = s.source();
        }
        ApiError::BadRequest(format!("The request body could not be read: {e}"))
    })
}

/// The body must be JSON whenever there is one (or, where `text` allows it, `text/plain`: a
/// message's base64 MIME).
fn check_content_type(headers: &HeaderMap, body: &Bytes, text: bool) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("application/json") || (text && media.eq_ignore_ascii_case("text/plain")) {
        Ok(())
    } else if ct.is_empty() {
        Err(ApiError::UnsupportedMediaType("A request body needs 'Content-Type: application/json'.".into()))
    } else {
        Err(ApiError::UnsupportedMediaType(format!("Content-Type '{ct}' is not supported; use application/json.")))
    }
}

async fn handle(
    state: AppState,
    req: Request,
    prefer_unknown: bool,
    trail: &mut audit::Trail,
) -> Result<Response, ApiError> {
    check_header_size(&req, state.inner.limits.max_header_bytes)?;
    // Pre-authenticated download URLs carry their own grant instead of a bearer token.
    if let Some(token) = req.uri().path().strip_prefix("/_download/") {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return Err(ApiError::MethodNotAllowed { allow: "GET" });
        }
        return handlers::download(&state, token, req.headers()).await;
    }
    // Upload session URLs, likewise pre-authenticated.
    if let Some(token) = req.uri().path().strip_prefix("/_upload/") {
        let token = token.to_owned();
        let origin = origin::of(req.headers(), state.inner.trust_proxy);
        let (method, headers) = (req.method().clone(), req.headers().clone());
        let mut body = Some(req.into_body());
        let run = handlers::upload_session(&state, &origin, &method, &token, &headers, &mut body);
        let answer = tokio::time::timeout(UPLOAD_TIMEOUT, run)
            .await
            .unwrap_or(Err(ApiError::RequestTimeout(UPLOAD_TIMEOUT.as_secs())));
        return drain_unread(answer, body).await;
    }
    // The model is public, as Graph's is: no token needed to read it.
    if let Some(version) = metadata_path(req.uri().path()) {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return Err(ApiError::MethodNotAllowed { allow: "GET" });
        }
        let mut r = (StatusCode::OK, metadata::document(version)).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        h.insert("odata-version", HeaderValue::from_static("4.0"));
        return Ok(r);
    }
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let principal = auth::authenticate(&state.inner.key, &state.inner.issuers, authorization).await?;
    trail.principal = Some(principal.clone());
    state.inner.throttle.check(&principal.tenant, &principal.actor.application_id)?;
    let (version, target) = match path::admin(req.uri().path()) {
        Some(target) => (ApiVersion::V1, target?),
        None => path::parse(req.uri().path())?,
    };
    let query = query::parse(req.uri().query())?;
    if query.delta_token.is_some()
        && !matches!(&target, Target::Mail(m) if m.tail == mail_path::MailTail::MessagesDelta)
    {
        return Err(ApiError::NotImplemented(
            "The query option '$deltatoken' is not implemented by backstore yet.".into(),
        ));
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let origin = origin::of(req.headers(), state.inner.trust_proxy);
    let headers = req.headers().clone();
    let header = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (if_match, content_type) = (header(header::IF_MATCH), header(header::CONTENT_TYPE));
    let if_none_match = header(header::IF_NONE_MATCH);
    let content_length = header(header::CONTENT_LENGTH).and_then(|v| v.parse().ok());
    let render = Render { include_unknown_enums: prefer_unknown };
    let body_timeout = state.inner.limits.body_timeout;
    let mut ctx = Ctx {
        state,
        principal,
        version,
        origin,
        path,
        query,
        render,
        body: Bytes::new(),
        if_match,
        if_none_match,
        content_length,
        content_type,
        prefer_text_body: prefer_body_type(&headers),
        max_page_size: prefer_max_page_size(&headers),
    };
    // A file's content is streamed into the content store, not read into memory first.
    if let (Target::Drive(drive), &Method::PUT) = (&target, &method) {
        if drive.tail == drive_path::Tail::Content {
            let mut body = Some(req.into_body());
            let run = handlers::upload(&ctx, drive.clone(), &mut body);
            let answer = tokio::time::timeout(UPLOAD_TIMEOUT, run)
                .await
                .unwrap_or(Err(ApiError::RequestTimeout(UPLOAD_TIMEOUT.as_secs())));
            return drain_unread(answer, body).await;
        }
    }
    let limit = if matches!(target, Target::Mail(_)) { MAX_MAIL_BODY_BYTES } else { MAX_BODY_BYTES };
    ctx.body = read_body(req, limit, body_timeout).await?;
    trail.body = Some(ctx.body.clone());
    if method == Method::POST || method == Method::PATCH || method == Method::PUT {
        check_content_type(&headers, &ctx.body, matches!(target, Target::Mail(_)))?;
    }
    handlers::route(&ctx, &method, target).await
}

/// The most of a refused upload's body read and thrown away so the client's connection stays usable.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// A streamed upload refused before its body was read: the body is read to its end (up to
/// [`DRAIN_LIMIT`] bytes and the body timeout) and dropped before the refusal is sent. Without this,
/// the server closes a keep-alive connection the client may already be reusing for its next request.
async fn drain_unread(answer: Result<Response, ApiError>, unread: Option<Body>) -> Result<Response, ApiError> {
    if let Some(body) = unread {
        let mut frames = body.into_data_stream();
        let mut seen = 0u64;
        let read = async {
            while let Some(Ok(frame)) = frames.next().await {
                seen += frame.len() as u64;
                if seen > DRAIN_LIMIT {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), read).await;
    }
    answer
}

/// A JSON response with Graph's content type and OData version.
/// The version whose `$metadata` document `path` asks for (`/v1.0/$metadata`, any case).
fn metadata_path(path: &str) -> Option<ApiVersion> {
    let (version, rest) = path.strip_prefix('/')?.split_once('/')?;
    if !rest.trim_end_matches('/').eq_ignore_ascii_case("$metadata") {
        return None;
    }
    match version.to_ascii_lowercase().as_str() {
        "v1.0" => Some(ApiVersion::V1),
        "beta" => Some(ApiVersion::Beta),
        _ => None,
    }
}

pub(crate) fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    json_bytes_response(status, serde_json::to_vec(body).expect("a response body serializes"))
}

/// [`json_response`] of a body already serialized.
pub(crate) fn json_bytes_response(status: StatusCode, json: Vec<u8>) -> Response {
    let mut r = (status, json).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
    h.insert("odata-version", HeaderValue::from_static("4.0"));
    r
}

/// Graph's error envelope, with the `request-id` header that matches its `innerError`.
pub fn error_response(e: &ApiError, request_id: &str, client_request_id: Option<&str>) -> Response {
    let (status, code) = e.status_and_code();
    let body = wire::ErrorEnvelope {
        error: wire::GraphError {
            code,
            message: e.public_message(),
            inner_error: wire::InnerError {
                date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                request_id,
                client_request_id: client_request_id.unwrap_or(request_id),
            },
        },
    };
    let mut r = json_response(status, &body);
    if let Ok(v) = HeaderValue::from_str(request_id) {
        r.headers_mut().insert("request-id", v);
    }
    match e {
        ApiError::MethodNotAllowed { allow } => {
            r.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        ApiError::TooManyRequests { retry_after_secs } | ApiError::ServiceUnavailable { retry_after_secs } => {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        ApiError::RangeNotSatisfiable { size } => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
        }
        ApiError::InvalidAuthenticationToken(_) => {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
        }
        _ => {}
    }
    r
}
