//! Restore points: the list (which needs `$expand=protectionUnit($filter=id eq '…')` and a
//! `$filter` on `protectionDateTime`, and returns at most five), one point, its unit, and the
//! `search` action.

use axum::http::StatusCode;
use axum::response::Response;
use backstore_domain::Timestamp;
use backstore_odata::{CmpOp, Expr, Literal};
use backstore_store::{ProtectionUnitRecord, RestorePointQuery, RestorePointRecord};
use base64::Engine as _;
use serde_json::{Map, Value};

use super::protection_units::{unit_body, unit_json};
use super::{collection, entity, project, selected};
use crate::auth::Access;
use crate::error::ApiError;
use crate::wire;
use crate::Ctx;

/// Most restore points one list call returns.
const LIST_LIMIT: i64 = 5;
/// Longest `$filter` (or `$expand`) accepted on restore points.
const MAX_FILTER_LEN: usize = 1024;
const PROPERTIES: [&str; 5] = ["id", "protectionDateTime", "expirationDateTime", "tags", "protectionUnit"];

/// A restore point as the list and search show it: typed, with its unit expanded.
fn point_body<'a>(
    ctx: &Ctx,
    p: &'a RestorePointRecord,
    unit: Option<&'a ProtectionUnitRecord>,
) -> wire::PointWithUnit<'a> {
    wire::PointWithUnit::new(p, unit.map(|u| unit_body(ctx, u, true)))
}

fn point_json(ctx: &Ctx, p: &RestorePointRecord, unit: Option<&ProtectionUnitRecord>) -> Map<String, Value> {
    wire::members(&point_body(ctx, p, unit))
}

fn usage() -> ApiError {
    ApiError::BadRequest(
        "restorePoints needs $expand=protectionUnit($filter=id eq '{protectionUnitId}') and \
         $filter=protectionDateTime lt {dateTime}."
            .into(),
    )
}

fn query_error(e: backstore_odata::QueryError) -> ApiError {
    ApiError::BadRequest(e.to_string())
}

/// The unit id of `$expand=protectionUnit($filter=id eq '<id>')`.
fn expanded_unit(expand: &[String]) -> Result<String, ApiError> {
    let [item] = expand else { return Err(usage()) };
    if item.len() > MAX_FILTER_LEN {
        return Err(ApiError::FilterLengthExceeded(MAX_FILTER_LEN));
    }
    let open = item.find('(').ok_or_else(usage)?;
    if !item[..open].trim().eq_ignore_ascii_case("protectionUnit") {
        return Err(usage());
    }
    let inner = item[open + 1..].trim_end().strip_suffix(')').ok_or_else(usage)?;
    let (option, filter) = inner.split_once('=').ok_or_else(usage)?;
    if !option.trim().trim_start_matches('$').eq_ignore_ascii_case("filter") {
        return Err(usage());
    }
    match backstore_odata::parse_filter(filter).map_err(query_error)? {
        Expr::Cmp { property, op: CmpOp::Eq, value: Literal::Str(id) } if property.eq_ignore_ascii_case("id") => {
            if id.trim().is_empty() {
                return Err(ApiError::InvalidProtectionUnitId("the protection unit id is empty.".into()));
            }
            Ok(id)
        }
        _ => Err(usage()),
    }
}

type Bound = Option<(Timestamp, bool)>;

/// Narrows `(from, to)` by one condition of the filter: `protectionDateTime <op> <date-time>`,
/// conditions joined with `and`. Anything else is refused: the list filters on time only.
fn narrow(e: &Expr, bounds: &mut (Bound, Bound)) -> Result<(), ApiError> {
    match e {
        Expr::And(a, b) => {
            narrow(a, bounds)?;
            narrow(b, bounds)
        }
        Expr::Cmp { property, op, value } if property.eq_ignore_ascii_case("protectionDateTime") => {
            let t = match value {
                Literal::DateTime(t) => *t,
                // Quoted date-times were accepted before unquoted ones were; they still are.
                Literal::Str(s) => crate::body::parse_time(s)?,
                other => {
                    return Err(ApiError::InvalidSearchRequest(format!("'{other}' is not an ISO 8601 date and time.")))
                }
            };
            match op {
                CmpOp::Lt => bounds.1 = Some((t, false)),
                CmpOp::Le => bounds.1 = Some((t, true)),
                CmpOp::Gt => bounds.0 = Some((t, false)),
                CmpOp::Ge => bounds.0 = Some((t, true)),
                CmpOp::Eq => *bounds = (Some((t, true)), Some((t, true))),
                CmpOp::Ne => {
                    return Err(ApiError::BadRequest("protectionDateTime takes lt, le, gt, ge or eq here.".into()))
                }
            }
            Ok(())
        }
        other => Err(ApiError::BadRequest(format!(
            "restorePoints can be filtered on protectionDateTime only, with conditions joined by 'and'; got '{other}'."
        ))),
    }
}

/// `protectionDateTime lt 2026-01-01T00:00:00Z [and protectionDateTime ge …]` → (from, to).
fn time_bounds(filter: &str) -> Result<(Bound, Bound), ApiError> {
    if filter.len() > MAX_FILTER_LEN {
        return Err(ApiError::FilterLengthExceeded(MAX_FILTER_LEN));
    }
    let mut bounds = (None, None);
    narrow(&backstore_odata::parse_filter(filter).map_err(query_error)?, &mut bounds)?;
    Ok(bounds)
}

/// `$orderby=protectionDateTime [asc|desc]`; newest first when absent.
fn newest_first(orderby: Option<&str>) -> Result<bool, ApiError> {
    let Some(o) = orderby else { return Ok(true) };
    match backstore_odata::parse_orderby(o).map_err(query_error)?.as_slice() {
        [item] if item.property.eq_ignore_ascii_case("protectionDateTime") => Ok(item.desc),
        _ => {
            Err(ApiError::BadRequest(format!("restorePoints can be ordered by protectionDateTime only, not by '{o}'.")))
        }
    }
}

pub(super) async fn list_restore_points(ctx: &Ctx) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestorePointsRead)?;
    let unit_id = expanded_unit(&ctx.query.expand)?;
    let (from, to) = time_bounds(ctx.query.filter.as_deref().ok_or_else(usage)?)?;
    let newest_first = newest_first(ctx.query.orderby.as_deref())?;
    let select = selected(ctx, &PROPERTIES, "restorePoint")?;
    if ctx.query.after.is_some() || ctx.query.skip.is_some() || ctx.query.count {
        return Err(ApiError::BadRequest(
            "restorePoints returns one page of at most five: $skiptoken, $skip and $count do not apply.".into(),
        ));
    }
    let limit = ctx.query.top.unwrap_or(LIST_LIMIT).min(LIST_LIMIT);
    let value = match ctx.store().get_unit(ctx.tenant(), &unit_id).await? {
        None => Vec::new(),
        Some(row) => {
            let q = RestorePointQuery { unit_id, from, to, tags: None, newest_first, limit };
            let points = ctx.store().find_restore_points(ctx.tenant(), &q, ctx.writer().now).await?;
            points
                .iter()
                .map(|p| {
                    Value::Object(project(point_json(ctx, p, Some(&row.unit)), select.as_deref(), &["protectionUnit"]))
                })
                .collect()
        }
    };
    Ok(collection(ctx, "restorePoints", value, None))
}

/// `restorePoints/$count`: how many unexpired points of the `$expand`ed unit fall in the `$filter`'s
/// window (all of them, not the list's five).
pub(super) async fn count_restore_points(ctx: &Ctx) -> Result<i64, ApiError> {
    let unit_id = expanded_unit(&ctx.query.expand)?;
    let (from, to) = time_bounds(ctx.query.filter.as_deref().ok_or_else(usage)?)?;
    if ctx.store().get_unit(ctx.tenant(), &unit_id).await?.is_none() {
        return Ok(0);
    }
    let q = RestorePointQuery { unit_id, from, to, tags: None, newest_first: true, limit: i64::MAX };
    Ok(ctx.store().find_restore_points(ctx.tenant(), &q, ctx.writer().now).await?.len() as i64)
}

/// An unexpired restore point of the caller's tenant.
async fn load(ctx: &Ctx, id: &str) -> Result<RestorePointRecord, ApiError> {
    let now = ctx.writer().now;
    ctx.store()
        .get_restore_point(ctx.tenant(), id)
        .await?
        .filter(|p| p.expiration_at > now)
        .ok_or_else(|| ApiError::RestorePointNotFound(id.to_owned()))
}

async fn unit_of(ctx: &Ctx, p: &RestorePointRecord) -> Result<ProtectionUnitRecord, ApiError> {
    let row = ctx.store().get_unit(ctx.tenant(), &p.protection_unit_id).await?;
    Ok(row.ok_or_else(|| ApiError::Internal(format!("restore point {} has no unit", p.id)))?.unit)
}

pub(super) async fn get_restore_point(ctx: &Ctx, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestorePointsRead)?;
    ctx.query.for_entity()?;
    let expand_unit = match ctx.query.expand.as_slice() {
        [] => false,
        [e] if e.eq_ignore_ascii_case("protectionUnit") || e == "*" => true,
        [e, ..] => {
            return Err(ApiError::BadRequest(format!(
                "Could not find a navigation property named '{e}' on type 'microsoft.graph.restorePoint'."
            )))
        }
    };
    let select = selected(ctx, &PROPERTIES, "restorePoint")?;
    let p = load(ctx, id).await?;
    let unit = if expand_unit { Some(unit_of(ctx, &p).await?) } else { None };
    let mut members = point_json(ctx, &p, unit.as_ref());
    members.remove("@odata.type");
    Ok(entity(ctx, StatusCode::OK, "restorePoints/$entity", project(members, select.as_deref(), &["protectionUnit"])))
}

pub(super) async fn get_restore_point_unit(ctx: &Ctx, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestorePointsRead)?;
    ctx.query.for_entity()?;
    let p = load(ctx, id).await?;
    let unit = unit_of(ctx, &p).await?;
    Ok(entity(ctx, StatusCode::OK, "protectionUnits/$entity", unit_json(ctx, &unit, true)))
}

pub(super) async fn search_restore_points(ctx: &Ctx) -> Result<Response, ApiError> {
    ctx.principal.require(Access::Search)?;
    let search = crate::body::search(&ctx.body)?;
    let now = ctx.writer().now;
    let mut found_points = Vec::new();
    let mut none = Vec::new();
    for unit_id in &search.unit_ids {
        let unit = ctx
            .store()
            .get_unit(ctx.tenant(), unit_id)
            .await?
            .filter(|r| search.policy_id.is_none() || r.unit.policy_id == search.policy_id);
        let found = match &unit {
            None => None,
            Some(row) => {
                let q = RestorePointQuery::pick(unit_id, (search.from, search.to), search.tags, search.latest);
                ctx.store()
                    .find_restore_points(ctx.tenant(), &q, now)
                    .await?
                    .into_iter()
                    .next()
                    .map(|p| (p, row.unit.clone()))
            }
        };
        match found {
            Some((p, u)) => found_points.push((p, u)),
            None => none.push(unit_id.as_str()),
        }
    }
    let mut id = [0u8; 18];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut id);
    let search_response_id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id);
    let mut hits = Vec::new();
    if let Some((text, query)) = &search.artifact_query {
        // One mailbox unit: its point's mail matched, and kept for a granular restore.
        let mut matched = Vec::new();
        for (p, u) in found_points.drain(..) {
            if u.info.resource.workload != backstore_domain::Workload::Exchange {
                return Err(ApiError::InvalidSearchRequest(format!(
                    "protection unit '{}' is not a mailbox; only mail can be searched with an artifactQuery.",
                    u.info.id
                )));
            }
            let ids = matching_messages(ctx, &p.id, &u, query).await?;
            if ids.is_empty() {
                none.push(search.unit_ids[0].as_str());
                continue;
            }
            let record = backstore_store::sql::searches::SearchRecord {
                id: search_response_id.clone(),
                protection_unit_id: u.info.id.clone(),
                restore_point_id: p.id.clone(),
                query: text.clone(),
                item_ids: ids.clone(),
                created_at: now,
            };
            ctx.store().save_search(ctx.tenant(), &record).await?;
            hits.push(Some(ids.len() as i64));
            matched.push((p, u));
        }
        found_points = matched;
    }
    let body = wire::SearchResponse {
        context: format!(
            "{}/{}/$metadata#microsoft.graph.restorePointSearchResponse",
            ctx.origin,
            ctx.version.as_str()
        ),
        search_response_id,
        search_results: found_points
            .iter()
            .enumerate()
            .map(|(i, (p, u))| wire::SearchResult {
                restore_point: point_body(ctx, p, Some(u)),
                artifact_hit_count: hits.get(i).copied().flatten(),
            })
            .collect(),
        no_result_protection_unit_ids: none,
    };
    Ok(crate::json_response(StatusCode::OK, &body))
}

/// The ids of the messages of `point` (drafts aside: no restore brings them back) that `query`
/// matches, in the point's order.
async fn matching_messages(
    ctx: &Ctx,
    point: &str,
    unit: &backstore_store::ProtectionUnitRecord,
    query: &backstore_domain::mail_query::Query,
) -> Result<Vec<String>, ApiError> {
    use backstore_domain::mail_query::MessageFacts;
    let store = ctx.store();
    let (Some(root), Some(content)) =
        (store.restore_point_root(ctx.tenant(), point).await?, ctx.state.inner.content.as_ref())
    else {
        return Ok(Vec::new());
    };
    let user = unit.info.resource.directory_object_id.as_deref().unwrap_or_default();
    let Some(mailbox) = store.mailbox(ctx.tenant(), user).await? else { return Ok(Vec::new()) };
    let tree = backstore_store::sql::restores::PointTree::read(content.as_ref(), ctx.tenant(), root).await?;
    let messages: std::collections::HashMap<String, backstore_store::sql::mail_messages::MessageRecord> =
        store.all_messages(ctx.tenant(), &mailbox.drive_id).await?.into_iter().map(|m| (m.id.clone(), m)).collect();
    let mut ids = Vec::new();
    for item in backstore_store::sql::mail_restores::restorable(&tree) {
        let Some(m) = messages.get(&item.entry.id).filter(|_| item.entry.kind == backstore_content::EntryKind::File)
        else {
            continue;
        };
        let f = &m.fields;
        // The subject as the point has it (a draft's could change; the point's is what is restored).
        let subject = item.entry.props.get("subject").map_or(f.subject.as_str(), String::as_str);
        fn person(r: &backstore_store::sql::mail_messages::Recipient) -> Vec<&str> {
            r.name.iter().map(String::as_str).chain([r.address.as_str()]).collect()
        }
        let facts = MessageFacts {
            subject,
            sender: f.from.as_ref().map(person).unwrap_or_default(),
            participants: f.to.iter().chain(&f.cc).chain(&f.bcc).flat_map(person).collect(),
            has_attachment: f.has_attachments,
        };
        if query.matches(&facts) {
            ids.push(item.entry.id.clone());
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_list_shape() {
        assert_eq!(expanded_unit(&["protectionUnit($filter=id eq 'u-1')".into()]).unwrap(), "u-1");
        assert_eq!(expanded_unit(&["ProtectionUnit(filter=ID EQ 'a''b')".into()]).unwrap(), "a'b");
        for bad in [
            "protectionUnit",
            "protectionUnit($filter=siteId eq 'x')",
            "other($filter=id eq 'x')",
            "protectionUnit($filter=id eq x)",
        ] {
            assert!(expanded_unit(&[bad.into()]).is_err(), "{bad}");
        }
        let (from, to) =
            time_bounds("protectionDateTime lt 2026-01-02T00:00:00Z and protectionDateTime GE '2026-01-01T00:00:00Z'")
                .unwrap();
        assert!(from.unwrap().1, "ge is inclusive");
        assert!(!to.unwrap().1, "lt is exclusive");
        assert!(time_bounds("status eq 'x'").is_err());
        assert!(time_bounds("protectionDateTime lt yesterday").is_err());
        assert!(matches!(time_bounds(&"x".repeat(2000)), Err(ApiError::FilterLengthExceeded(_))));
        assert!(newest_first(Some("protectionDateTime asc")).is_ok_and(|n| !n));
        assert!(newest_first(Some("id")).is_err());
    }
}
