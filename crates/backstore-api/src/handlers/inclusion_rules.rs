//! Inclusion rules (`siteInclusionRules`, `mailboxInclusionRules`, `driveInclusionRules`): created on
//! a policy with an expression over the tenant's directory, applied by the engine (`active` →
//! `completed` / `completedWithErrors`), listed per policy or per workload at the root. Like the real
//! service, only static rules exist: `isAutoApplyEnabled` is `false`, `run` applies a rule again,
//! and PATCH (for dynamic rules only) is refused.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use backstore_domain::{RuleError, Workload};
use backstore_store::{RuleAction, RuleRecord};
use serde_json::{Map, Value};

use super::{counted_collection, entity, page};
use crate::auth::Access;
use crate::error::ApiError;
use crate::names::names;
use crate::path::CountOf;
use crate::wire;
use crate::Ctx;

fn rule_json(ctx: &Ctx, r: &RuleRecord) -> Map<String, Value> {
    wire::members(&wire::Rule::new(r, &ctx.render))
}

fn fragment(w: Workload, policy: Option<&str>) -> String {
    super::under_policy(w, policy, names(w).rules_nav)
}

pub(super) async fn create_rule(ctx: &Ctx, w: Workload, policy: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    let n = names(w);
    let expression = crate::body::create_rule(&ctx.body, w)?;
    let rule = ctx.store().create_rule(ctx.writer(), policy, w, expression).await?;
    let location = format!("{}/{}('{policy}')/{}('{}')", ctx.service_url(), n.policy_set, n.rules_nav, rule.id);
    let r = entity(ctx, StatusCode::CREATED, &format!("{}/$entity", fragment(w, Some(policy))), rule_json(ctx, &rule));
    Ok(super::locate(r, &location, &[header::CONTENT_LOCATION, header::LOCATION]))
}

pub(super) async fn list_rules(ctx: &Ctx, w: Workload, policy: Option<&str>) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    super::protection_policies::require_under(ctx, Some(w), policy).await?;
    let limit = ctx.query.page_size();
    let count = super::inline_count(ctx, CountOf::Rules { workload: w, policy: policy.map(str::to_owned) }).await?;
    let rows =
        ctx.store().list_under_policy::<RuleRecord>((ctx.tenant(), w, policy), ctx.query.after, limit + 1).await?;
    let (rows, more_after) = page(rows, limit, |r| r.seq);
    let value = rows.iter().map(|r| Value::Object(rule_json(ctx, r))).collect();
    Ok(counted_collection(ctx, &fragment(w, policy), value, more_after, count))
}

async fn load(ctx: &Ctx, w: Workload, policy: Option<&str>, id: &str) -> Result<RuleRecord, ApiError> {
    Ok(ctx
        .store()
        .get_under_policy::<RuleRecord>((ctx.tenant(), w, policy), id)
        .await?
        .ok_or(RuleError::RuleNotFound)?)
}

pub(super) async fn get_rule(ctx: &Ctx, w: Workload, policy: Option<&str>, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    ctx.query.for_entity()?;
    let rule = load(ctx, w, policy, id).await?;
    Ok(entity(ctx, StatusCode::OK, &format!("{}/$entity", fragment(w, policy)), rule_json(ctx, &rule)))
}

/// PATCH is for dynamic rules only. The body is checked first (changing `isAutoApplyEnabled` or an
/// unknown property is its own error), then the rule: every rule here is static.
pub(super) async fn update_rule(ctx: &Ctx, w: Workload, policy: Option<&str>, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    let _n = names(w);
    crate::body::rule_patch(&ctx.body, w)?;
    load(ctx, w, policy, id).await?;
    Err(RuleError::PatchNotAllowedForStaticRule.into())
}

pub(super) async fn delete_rule(ctx: &Ctx, w: Workload, policy: Option<&str>, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    ctx.store().delete_rule(ctx.writer(), w, policy, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn rule_action(
    ctx: &Ctx,
    w: Workload,
    policy: Option<&str>,
    id: &str,
    unprotect: bool,
) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    let (action, name) =
        if unprotect { (RuleAction::DeleteAndUnprotect, "deleteAndUnprotect") } else { (RuleAction::Run, "run") };
    crate::body::empty_action_body(&ctx.body, name)?;
    let rule = ctx.store().rule_action(ctx.writer(), w, policy, id, action).await?;
    let n = names(w);
    let fragment = format!("{}/$entity", fragment(w, policy));
    let r = entity(ctx, StatusCode::OK, &fragment, rule_json(ctx, &rule));
    let location = format!("{}/{}('{}')", ctx.service_url(), n.rules_nav, rule.id);
    Ok(super::locate(r, &location, &[header::CONTENT_LOCATION]))
}
