//! The tenant's service: `GET /solutions/backupRestore` (its `serviceStatus`), `enable`, and the gate
//! every other call passes: a tenant that has not enabled the service is refused.

use axum::http::StatusCode;
use axum::response::Response;
use backstore_store::StatusSeen;

use super::entity;
use crate::auth::Access;
use crate::error::ApiError;
use crate::wire;
use crate::Ctx;

/// What a request does, for the service status gate (`docs/api-conventions.md`, "Service status
/// and the admin endpoints").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gate {
    /// Reads, and changes the locks do not cover (service apps, notifications).
    Other,
    /// Creates, changes or removes policies, units or rules.
    ProtectionChange,
    /// Creates, changes or activates restore sessions.
    RestoreChange,
}

/// 403 unless the caller's tenant has enabled the service and its status allows `gate`:
/// `protectionChangeLocked` stops protection changes, `restoreLocked` those and restores.
pub(super) async fn require_enabled(ctx: &Ctx, gate: Gate) -> Result<(), ApiError> {
    require_enabled_seen(ctx, gate, None).await
}

/// [`require_enabled`] on the status a read of the handler's saw in the same statement as its rows
/// (`StatusSeen`), read on its own when there is none.
pub(super) async fn require_enabled_seen(ctx: &Ctx, gate: Gate, seen: Option<StatusSeen>) -> Result<(), ApiError> {
    let status = match seen {
        Some(StatusSeen(status)) => status,
        None => ctx.store().service_status(ctx.tenant()).await?,
    };
    match (status.as_deref().unwrap_or("disabled"), gate) {
        ("disabled", _) => Err(ApiError::ServiceNotEnabled),
        ("protectionChangeLocked", Gate::ProtectionChange) => Err(ApiError::ServiceLocked(
            "protectionChangeLocked",
            "protection policies, units and rules cannot be changed.",
        )),
        ("restoreLocked", Gate::ProtectionChange) => {
            Err(ApiError::ServiceLocked("restoreLocked", "protection policies, units and rules cannot be changed."))
        }
        ("restoreLocked", Gate::RestoreChange) => {
            Err(ApiError::ServiceLocked("restoreLocked", "restore sessions cannot be created, changed or activated."))
        }
        _ => Ok(()),
    }
}

pub(super) async fn get_root(ctx: &Ctx) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ControlRead)?;
    ctx.query.for_entity()?;
    let state = ctx.store().service_state(ctx.tenant()).await?;
    let root = wire::ServiceRoot { id: ctx.tenant(), service_status: wire::ServiceStatus::new(state.as_ref()) };
    Ok(entity(ctx, StatusCode::OK, "$entity", wire::members(&root)))
}

pub(super) async fn enable_service(ctx: &Ctx) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ControlWrite)?;
    let owner = crate::body::enable(&ctx.body)?;
    let state = ctx.store().enable_service(ctx.writer(), &owner).await?;
    let body = wire::Enabled {
        context: format!("{}/{}/$metadata#microsoft.graph.serviceStatus", ctx.origin, ctx.version.as_str()),
        status: wire::ServiceStatus::new(Some(&state)),
    };
    Ok(crate::json_response(StatusCode::OK, &body))
}
