//! The console's way to the service: requests to the server's own router, in process, with the
//! signed-in person's bearer token, exactly as any client sends them over the network. The console
//! reads and writes nothing the API and admin paths do not serve.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use serde_json::Value;
use tower::ServiceExt as _;

/// Graph's backup service root, below which the console's Graph paths are written.
pub const SERVICE: &str = "/v1.0/solutions/backupRestore";
pub const BETA_SERVICE: &str = "/beta/solutions/backupRestore";

/// A refusal as the API stated it: the status and Graph's `code` and `message`.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl Failure {
    fn of(status: StatusCode, body: &[u8]) -> Failure {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = |k: &str| v["error"][k].as_str().map(str::to_owned);
        Failure {
            status,
            code: text("code").unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
            message: text("message").unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect()),
        }
    }

    /// The caller's token no longer passes (expired, or never did).
    pub fn is_unauthenticated(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
    }
}

/// One signed-in person's client.
#[derive(Clone)]
pub struct Api {
    app: Router,
    host: HeaderValue,
    token: String,
}

impl Api {
    pub fn new(app: Router, host: HeaderValue, token: String) -> Api {
        Api { app, host, token }
    }

    /// Sends one request and gives the response as the router made it.
    pub async fn raw(&self, method: Method, path: &str, body: Option<&Value>) -> Response {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.host.clone())
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let req = match req.body(body) {
            Ok(req) => req,
            Err(e) => {
                let message = format!("The console made a request it cannot send ({path}): {e}");
                let failure = backstore_api::error::ApiError::BadRequest(message);
                return backstore_api::error_response(&failure, "console", None);
            }
        };
        match self.app.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        }
    }

    /// Sends one request and reads its whole answer: the body of a success, or the refusal.
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Bytes, Failure> {
        let r = self.raw(method, path, body).await;
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), 64 * 1024 * 1024).await.map_err(|e| Failure {
            status: StatusCode::BAD_GATEWAY,
            code: "unreadableResponse".into(),
            message: e.to_string(),
        })?;
        if status.is_success() {
            Ok(bytes)
        } else {
            Err(Failure::of(status, &bytes))
        }
    }

    fn json(bytes: Bytes) -> Value {
        if bytes.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }

    /// `GET {path}` (a whole path, query included).
    pub async fn get(&self, path: &str) -> Result<Value, Failure> {
        self.call(Method::GET, path, None).await.map(Self::json)
    }

    /// The `value`s of a collection and of the pages its next links name, up to `pages` pages.
    pub async fn get_all(&self, path: &str, pages: usize) -> Result<Vec<Value>, Failure> {
        let mut out = Vec::new();
        let mut next = Some(path.to_owned());
        for _ in 0..pages {
            let Some(path) = next.take() else { break };
            let page = self.get(&path).await?;
            out.extend(page["value"].as_array().cloned().unwrap_or_default());
            next = page["@odata.nextLink"].as_str().and_then(path_of);
        }
        Ok(out)
    }

    /// `GET {path}` whose answer is plain text (`$count`).
    pub async fn get_text(&self, path: &str) -> Result<String, Failure> {
        self.call(Method::GET, path, None).await.map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, Failure> {
        self.call(Method::POST, path, Some(body)).await.map(Self::json)
    }
}

/// A link's path and query (what the console calls in process), without its origin.
pub fn path_of(link: &str) -> Option<String> {
    let rest = link.split_once("://")?.1;
    rest.find('/').map(|i| rest[i..].to_owned())
}

/// `/v1.0/solutions/backupRestore/{rest}`.
pub fn graph(rest: &str) -> String {
    format!("{SERVICE}/{rest}")
}

/// A path segment or query value, percent-encoded.
pub fn enc(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, UNRESERVED_KEPT).to_string()
}

/// Everything but RFC 3986's unreserved characters is encoded.
const UNRESERVED_KEPT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// An OData string literal's text (quotes doubled).
pub fn literal(text: &str) -> String {
    text.replace('\'', "''")
}
