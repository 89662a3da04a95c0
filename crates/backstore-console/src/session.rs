//! Who is signed in: a cookie holding the bearer token (`HttpOnly`, `SameSite=Strict`, `Secure`
//! under TLS, `Path=/console`), and the checks every state-changing request passes — it must come
//! from a page of this console (its `Origin`, and `Sec-Fetch-Site` where the browser sends it) and
//! carry the session's CSRF token, a keyed digest of the cookie's token that only the server can
//! make and only the console's own pages show.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use serde_json::Value;

use crate::api::Api;
use crate::Console;

pub const COOKIE: &str = "backstore_console";
const CSRF_PURPOSE: &str = "backstore console 2026-12 CSRF token";
/// How long a minted sign-in lasts.
pub const MINTED_TTL_SECONDS: i64 = 3600;

/// A signed-in request: the client with its token, who it is, and its CSRF token.
pub struct Signed {
    pub api: Api,
    pub tenant: String,
    /// Who the token names: a user, or the application.
    pub name: String,
    pub read_only: bool,
    pub csrf: String,
}

impl Signed {
    pub fn new(console: &Console, headers: &HeaderMap, token: &str) -> Signed {
        let host = headers.get(header::HOST).cloned().unwrap_or(HeaderValue::from_static("localhost"));
        let claims = claims_of(token);
        let text = |k: &str| claims[k].as_str().unwrap_or_default().to_owned();
        let mut permissions: Vec<String> =
            claims["roles"].as_array().into_iter().flatten().filter_map(|r| r.as_str().map(str::to_owned)).collect();
        permissions.extend(text("scp").split_whitespace().map(str::to_owned));
        let name = [text("name"), text("app_displayname"), text("appid")]
            .into_iter()
            .find(|n| !n.is_empty())
            .unwrap_or_else(|| "signed in".into());
        Signed {
            api: Api::new(console.api.clone(), host, token.to_owned()),
            tenant: text("tid"),
            name,
            read_only: !permissions.iter().any(|p| p == backstore_api::auth::RESTORE_READ_WRITE),
            csrf: csrf_token(console, token),
        }
    }
}

/// A token's claims, read without checking its signature: only to label the page (the API checks
/// the token on every request the console makes with it).
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

pub fn csrf_token(console: &Console, token: &str) -> String {
    let mac = console.key.mac(CSRF_PURPOSE, token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac[..18])
}

/// The session cookie's token, if the request carries one.
pub fn token_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('=').map(str::to_owned))
        .filter(|t| !t.is_empty())
}

/// The `Set-Cookie` that signs `token` in (or, with `None`, signs out); `Secure` when the server
/// speaks TLS or a proxy in front of it says the browser did (`X-Forwarded-Proto: https`).
pub fn cookie(console: &Console, headers: &HeaderMap, token: Option<&str>) -> HeaderValue {
    let proxied_tls = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.split(',').next().is_some_and(|p| p.trim().eq_ignore_ascii_case("https")));
    let secure = if console.secure || proxied_tls { "; Secure" } else { "" };
    let text = match token {
        Some(t) => {
            format!("{COOKIE}={t}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={MINTED_TTL_SECONDS}{secure}")
        }
        None => format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&text).expect("a token is visible ASCII")
}

/// Pages that need a sign-in send the browser to the sign-in page without one.
impl FromRequestParts<Console> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Signed, Response> {
        match token_of(&parts.headers) {
            Some(token) => Ok(Signed::new(console, &parts.headers, &token)),
            None => Err(Redirect::to("/console/sign-in").into_response()),
        }
    }
}

impl axum::extract::OptionalFromRequestParts<Console> for Signed {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Option<Signed>, Self::Rejection> {
        Ok(token_of(&parts.headers).map(|token| Signed::new(console, &parts.headers, &token)))
    }
}

/// Why a state-changing request was refused, or `None` when it came from this console's pages:
/// the browser's `Sec-Fetch-Site` (when sent) says same-origin, the `Origin` (when sent) is this
/// server's, and — for a request of a signed-in page (`with_token`) — the form carries the
/// session's CSRF token.
pub fn forged(
    console: &Console,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    with_token: bool,
) -> Option<&'static str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        if site != "same-origin" && site != "none" {
            return Some("it came from another site");
        }
    }
    if let Some(origin) = header("origin") {
        // This server as the browser addressed it: its `Host`, or what a proxy in front of it
        // received (a browser's cross-site form cannot set `X-Forwarded-Host`).
        let own = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
        let forwarded = header("x-forwarded-host").and_then(|h| h.split(',').next()).map(str::trim);
        if own.is_none() || (own != header("host") && own != forwarded) {
            return Some("it came from another origin");
        }
    }
    if let Some(token) = token_of(headers).filter(|_| with_token) {
        let sent = form.get("_csrf").map(String::as_str).unwrap_or_default();
        if sent != csrf_token(console, &token) {
            return Some("it did not carry this console's form token");
        }
    }
    None
}

/// A form body's fields.
pub fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// A query string's fields.
pub fn query(raw: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect()
}
