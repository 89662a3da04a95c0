//! backstore's web console at `/console`: server-rendered pages (no JavaScript toolchain, every
//! asset embedded) over the same Graph API and admin paths any client calls — each page's data is
//! fetched through the server's own router with the signed-in person's bearer token (`api`), so
//! the console can do nothing that token cannot. `docs/console.md` shows it.

mod api;
mod layout;
mod live;
mod mail;
mod overview;
mod points;
mod restores;
mod session;
mod units;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use backstore_api::auth::{issue_token, SigningKey, TokenRequest, ALL_PERMISSIONS, DEFAULT_APP_ID, READ_PERMISSIONS};
use maud::html;

use crate::api::Failure;
use crate::session::Signed;

/// How the console is served.
pub struct ConsoleConfig {
    /// The key of the server's local tokens: minted sign-ins, and the CSRF tokens.
    pub key: SigningKey,
    /// The server speaks TLS: cookies are `Secure`.
    pub secure: bool,
    /// Offer signing in as any tenant of the local key (the server mints the token). Only for a
    /// server on a loopback address: whoever reaches the page may use it.
    pub mint: bool,
}

#[derive(Clone)]
pub(crate) struct Console {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    api: Router,
    key: SigningKey,
    secure: bool,
    mint: bool,
}

impl std::ops::Deref for Console {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

/// The console's routes. `api` is the router serving the Graph API and the admin paths, which
/// the console calls in process.
pub fn router(api: Router, config: ConsoleConfig) -> Router {
    let console = Console { inner: Arc::new(Inner { api, key: config.key, secure: config.secure, mint: config.mint }) };
    Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/sign-in", get(sign_in_page).post(sign_in))
        .route("/console/sign-out", post(sign_out))
        .route("/console/assets/{name}", get(asset))
        .route("/console/overview", get(overview::show))
        .route("/console/units", get(units::list))
        .route("/console/units/{id}", get(units::unit))
        .route("/console/points/{id}", get(points::open))
        .route("/console/points/{id}/mail", get(mail::folder))
        .route("/console/points/{id}/mail/message", get(mail::message))
        .route("/console/browse/{session}", get(points::browse))
        .route("/console/browse/{session}/file", get(points::file))
        .route("/console/diff", get(points::diff))
        .route("/console/restore", get(restores::review).post(restores::start))
        .route("/console/sessions/{id}", get(restores::session))
        .route("/console/live/sites/{id}", get(live::site))
        .route("/console/live/drives/{id}", get(live::drive))
        .route("/console/live/drives/{id}/content", get(live::content))
        .route("/console/live/users/{user}/mailFolders/{folder}", get(live::mail_folder))
        .route("/console/sessions/{id}/events", get(restores::events))
        .route("/console/{*rest}", axum::routing::any(missing))
        .with_state(console)
        .layer(axum::middleware::map_response(guarded))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
}

/// No console page may be framed by another site (clickjacking), nor tell another site where the
/// person was (the URLs carry ids and item keys).
async fn guarded(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, axum::http::HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, axum::http::HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, axum::http::HeaderValue::from_static("frame-ancestors 'none'"));
    }
    r
}

async fn home(headers: HeaderMap) -> Redirect {
    match session::token_of(&headers) {
        Some(_) => Redirect::to("/console/overview"),
        None => Redirect::to("/console/sign-in"),
    }
}

async fn missing(signed: Option<Signed>) -> Response {
    let f = Failure {
        status: StatusCode::NOT_FOUND,
        code: "itemNotFound".into(),
        message: "The console has no such page.".into(),
    };
    layout::failure_page(signed.as_ref(), "Not found", &f)
}

const CSS: &str = include_str!("../assets/console.css");
const JS: &str = include_str!("../assets/console.js");

async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let (body, media) = match name.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    ([(header::CONTENT_TYPE, media), (header::CACHE_CONTROL, "max-age=300")], body).into_response()
}

fn sign_in_form(console: &Console, refusal: Option<&Failure>, tenant: &str) -> axum::response::Html<String> {
    let body = html! {
        @if let Some(f) = refusal { (layout::failure(f)) }
        @if console.mint {
            section aria-labelledby="mint-h" {
                h2 #mint-h { "As a tenant of this server's key" }
                p { "The server signs a token for the tenant, valid for an hour." }
                form method="post" action="/console/sign-in" {
                    input type="hidden" name="mode" value="mint";
                    label for="tenant" { "Tenant" }
                    input #tenant name="tenant" required value=(tenant) autocomplete="off";
                    fieldset {
                        legend { "Access" }
                        label { input type="radio" name="access" value="readWrite" checked; " Read and write" }
                        label { input type="radio" name="access" value="read"; " Read only" }
                    }
                    button type="submit" #sign-in-mint { "Sign in" }
                }
            }
        }
        section aria-labelledby="token-h" {
            h2 #token-h { "With a bearer token" }
            p { "A token of this server's key (" code { "backstore token" } ") or of a trusted issuer." }
            form method="post" action="/console/sign-in" {
                input type="hidden" name="mode" value="token";
                label for="token" { "Bearer token" }
                textarea #token name="token" rows="4" required autocomplete="off" {}
                button type="submit" #sign-in-token { "Sign in with the token" }
            }
        }
    };
    axum::response::Html(layout::page("Sign in", None, body).into_string())
}

async fn sign_in_page(State(console): State<Console>) -> Response {
    sign_in_form(&console, None, "tenant-a").into_response()
}

async fn sign_in(State(console): State<Console>, headers: HeaderMap, body: Bytes) -> Response {
    let form = session::form(&body);
    // The sign-in page has no session yet: where the request came from is what is checked.
    if let Some(why) = session::forged(&console, &headers, &form, false) {
        return forged_response(why);
    }
    let field = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let tenant = field("tenant");
    let refuse = |code: &str, message: String| Failure { status: StatusCode::BAD_REQUEST, code: code.into(), message };
    let token = match field("mode").as_str() {
        "mint" if console.mint => {
            if tenant.is_empty() || tenant.len() > 200 || tenant.chars().any(|c| c.is_control()) {
                let f = refuse("invalidRequest", "Name a tenant to sign in as.".into());
                return (StatusCode::BAD_REQUEST, sign_in_form(&console, Some(&f), &tenant)).into_response();
            }
            let permissions = if field("access") == "read" { &READ_PERMISSIONS[..] } else { &ALL_PERMISSIONS[..] };
            let request = TokenRequest {
                tenant: tenant.clone(),
                permissions: permissions.iter().map(|p| p.to_string()).collect(),
                user: Some("console".into()),
                ttl_seconds: session::MINTED_TTL_SECONDS,
                app_id: DEFAULT_APP_ID.into(),
            };
            match issue_token(&console.key, &request) {
                Ok(t) => t,
                Err(e) => {
                    let f = Failure {
                        status: StatusCode::INTERNAL_SERVER_ERROR,
                        code: "generalException".into(),
                        message: e.to_string(),
                    };
                    return (StatusCode::INTERNAL_SERVER_ERROR, sign_in_form(&console, Some(&f), &tenant))
                        .into_response();
                }
            }
        }
        "token" => field("token").trim_start_matches("Bearer ").trim().to_owned(),
        _ => {
            let f = refuse("invalidRequest", "Sign in as a tenant or with a token.".into());
            return (StatusCode::BAD_REQUEST, sign_in_form(&console, Some(&f), &tenant)).into_response();
        }
    };
    // A JWT's characters (and base64's): nothing that could end the cookie or start another.
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.=+/~".contains(&b)) {
        let f = refuse("InvalidAuthenticationToken", "That is not a bearer token.".into());
        return (StatusCode::BAD_REQUEST, sign_in_form(&console, Some(&f), &tenant)).into_response();
    }
    // The token must open the service before it becomes the session's.
    let signed = Signed::new(&console, &headers, &token);
    if let Err(f) = signed.api.get(api::SERVICE).await {
        if f.status == StatusCode::UNAUTHORIZED {
            return (StatusCode::UNAUTHORIZED, sign_in_form(&console, Some(&f), &tenant)).into_response();
        }
    }
    let mut r = Redirect::to("/console/overview").into_response();
    r.headers_mut().insert(header::SET_COOKIE, session::cookie(&console, &headers, Some(&token)));
    r
}

async fn sign_out(State(console): State<Console>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = refused_if_forged(&console, &headers, &body) {
        return refused;
    }
    let mut r = Redirect::to("/console/sign-in").into_response();
    r.headers_mut().insert(header::SET_COOKIE, session::cookie(&console, &headers, None));
    r
}

/// The answer to a state-changing request that did not come from the console's own pages.
fn forged_response(why: &str) -> Response {
    let f = Failure {
        status: StatusCode::FORBIDDEN,
        code: "accessDenied".into(),
        message: format!("The request was refused as a cross-site request forgery: {why}."),
    };
    layout::failure_page(None, "Refused", &f)
}

/// The refusal of a state-changing request that did not come from the console's own pages (a
/// signed-in page's form also carries the session's CSRF token).
pub(crate) fn refused_if_forged(console: &Console, headers: &HeaderMap, body: &[u8]) -> Option<Response> {
    session::forged(console, headers, &session::form(body), true).map(forged_response)
}
