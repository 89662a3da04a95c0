//! Endpoints for operators and test harnesses, outside Graph's surface: the server clock.
//! `GET /admin/clock` tells the server time; `POST /admin/clock/advance` with `{"by": "15d"}` moves
//! it forward (for every process on the database). They need a token with
//! `BackupRestore-Control.Read.All` / `-Control.ReadWrite.All`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use backstore_api::auth::{authenticate, Access, SigningKey};
use backstore_api::error::ApiError;
use backstore_store::{Clock, Store};
use serde_json::{json, Value};

#[derive(Clone)]
struct Admin {
    store: Arc<dyn Store>,
    clock: Clock,
    key: SigningKey,
}

pub fn router(store: Arc<dyn Store>, clock: Clock, key: SigningKey) -> Router {
    Router::new()
        .route("/admin/clock", get(show_clock))
        .route("/admin/clock/advance", post(advance_clock))
        .with_state(Admin { store, clock, key })
}

/// The server time as the clock commands print it.
pub fn clock_json(clock: &Clock) -> Value {
    json!({
        "now": clock.now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "offsetSeconds": clock.offset_micros() / 1_000_000,
    })
}

fn respond(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(body) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response(),
        Err(e) => {
            if let ApiError::Internal(cause) = &e {
                tracing::error!(cause = %cause, "admin request failed");
            }
            backstore_api::error_response(&e, &uuid::Uuid::new_v4().to_string(), None)
        }
    }
}

fn authorize(admin: &Admin, headers: &HeaderMap, access: Access) -> Result<(), ApiError> {
    let principal = authenticate(&admin.key, headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()))?;
    principal.require(access)
}

async fn show_clock(State(admin): State<Admin>, headers: HeaderMap) -> Response {
    respond(authorize(&admin, &headers, Access::ControlRead).map(|()| clock_json(&admin.clock)))
}

async fn advance_clock(State(admin): State<Admin>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        authorize(&admin, &headers, Access::ControlWrite)?;
        let v: Value =
            serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("The body is not JSON: {e}")))?;
        let by = v["by"].as_str().ok_or_else(|| {
            ApiError::BadRequest("Send {\"by\": \"<duration>\"}, for example {\"by\": \"15d\"}.".into())
        })?;
        let d = humantime::parse_duration(by)
            .map_err(|e| ApiError::BadRequest(format!("'{by}' is not a duration: {e}")))?;
        let micros = i64::try_from(d.as_micros()).map_err(|_| ApiError::BadRequest(format!("'{by}' is too long.")))?;
        let offset = admin.store.advance_clock(micros).await?;
        admin.clock.catch_up(offset);
        Ok(clock_json(&admin.clock))
    }
    .await;
    respond(result)
}
