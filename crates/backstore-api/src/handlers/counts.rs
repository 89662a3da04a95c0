//! How many items a collection has: `/$count` (as text) and `$count=true` (`@odata.count`), with the
//! access its list needs and the `$filter` where the collection takes one.

use axum::response::{IntoResponse, Response};
use backstore_domain::RuleError;
use backstore_store::{ExclusionJobRecord, RuleRecord, UnitBulkJobRecord};

use super::protection_policies::require_under;
use super::{list_spec, restore_points};
use crate::error::ApiError;
use crate::Ctx;

/// `/$count`: how many items the collection has (after `$filter`), as `text/plain`.
pub(super) async fn count(ctx: &Ctx, of: crate::path::CountOf) -> Result<Response, ApiError> {
    use crate::path::CountOf;
    let q = &ctx.query;
    // The restore point list's `$expand` and `$filter` say whose points in which window.
    let expand_needed = matches!(of, CountOf::RestorePoints);
    if q.top.is_some()
        || q.after.is_some()
        || q.skip.is_some()
        || q.orderby.is_some()
        || q.select.is_some()
        || (!q.expand.is_empty() && !expand_needed)
    {
        return Err(ApiError::BadRequest("/$count takes $filter only.".into()));
    }
    let n = count_of(ctx, of).await?;
    let mut r = (axum::http::StatusCode::OK, n.to_string()).into_response();
    r.headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("text/plain; charset=utf-8"));
    Ok(r)
}

/// How many items the collection `of` has, after `$filter` where the collection takes one, for
/// `/$count` and `$count=true`; the access the collection's list needs is checked.
pub(super) async fn count_of(ctx: &Ctx, of: crate::path::CountOf) -> Result<i64, ApiError> {
    use crate::auth::Access;
    use crate::path::CountOf;
    let access = match &of {
        CountOf::Sessions { .. } | CountOf::Artifacts { .. } | CountOf::BulkRequests { .. } => Access::RestoreRead,
        CountOf::BrowseSessions { .. } => Access::RestoreWrite,
        CountOf::ActivityLogs => Access::Monitor,
        CountOf::RestorePoints => Access::RestorePointsRead,
        CountOf::ServiceApps => Access::ControlRead,
        _ => Access::ConfigurationRead,
    };
    ctx.principal.require(access)?;
    let store = ctx.store();
    let tenant = ctx.tenant();
    let unfiltered = |n: i64| -> Result<i64, ApiError> {
        match ctx.query.filter {
            Some(_) => Err(ApiError::NotImplemented(
                "The query option '$filter' is not implemented by backstore on this collection yet.".into(),
            )),
            None => Ok(n),
        }
    };
    Ok(match of {
        CountOf::Sessions { workload } => {
            store.count_sessions(tenant, workload, list_spec(ctx)?.filter.as_ref()).await?
        }
        CountOf::Artifacts { session, workload, granular } => {
            store.get_session(tenant, &session, Some(workload)).await?.ok_or(RuleError::SessionNotFound)?;
            store.count_artifacts((tenant, &session, granular), list_spec(ctx)?.filter.as_ref()).await?
        }
        CountOf::Units { workload } => store.count_units(tenant, workload, list_spec(ctx)?.filter.as_ref()).await?,
        CountOf::Policies { workload } => unfiltered(store.count_policies(tenant, workload).await?)?,
        CountOf::PolicyUnits { policy, workload } => {
            require_under(ctx, Some(workload), Some(&policy)).await?;
            unfiltered(store.count_policy_units(tenant, &policy).await?)?
        }
        CountOf::Rules { workload, policy } => {
            require_under(ctx, Some(workload), policy.as_deref()).await?;
            unfiltered(store.count_under_policy::<RuleRecord>((tenant, workload, policy.as_deref())).await?)?
        }
        CountOf::UnitJobs { workload, policy } => {
            require_under(ctx, Some(workload), policy.as_deref()).await?;
            unfiltered(store.count_under_policy::<UnitBulkJobRecord>((tenant, workload, policy.as_deref())).await?)?
        }
        CountOf::ServiceApps => unfiltered(store.count_service_apps(tenant).await?)?,
        CountOf::RestorePoints => restore_points::count_restore_points(ctx).await?,
        CountOf::BulkRequests { session, workload } => {
            let all = store.list_bulk_requests(tenant, &session, workload).await?.ok_or(RuleError::SessionNotFound)?;
            unfiltered(all.len() as i64)?
        }
        CountOf::BrowseSessions { workload } => {
            unfiltered(store.count_browse_sessions(tenant, workload, ctx.state.inner.clock.now()).await?)?
        }
        CountOf::Exclusions { workload, policy } => {
            require_under(ctx, workload, policy.as_deref()).await?;
            unfiltered(store.count_exclusions((tenant, workload, policy.as_deref())).await?)?
        }
        CountOf::ActivityLogs => store.count_activity_logs(tenant, list_spec(ctx)?.filter.as_ref()).await?,
        CountOf::ExclusionJobs { workload, policy } => {
            require_under(ctx, Some(workload), policy.as_deref()).await?;
            let of = (tenant, workload, policy.as_deref());
            unfiltered(store.count_under_policy::<ExclusionJobRecord>(of).await?)?
        }
    })
}

/// `@odata.count` of a collection when `$count=true` asks for it.
pub(crate) async fn inline_count(ctx: &Ctx, of: crate::path::CountOf) -> Result<Option<i64>, ApiError> {
    if !ctx.query.count {
        return Ok(None);
    }
    Ok(Some(count_of(ctx, of).await?))
}
