//! Inclusion rules (`siteInclusionRules`, `mailboxInclusionRules`, `driveInclusionRules`): created on
//! a policy with an expression over the tenant's directory, applied by the engine (`active` →
//! `completed` / `completedWithErrors`), listed per policy or per workload at the root. Like the real
//! service, only static rules exist: `isAutoApplyEnabled` is `false`, `run` applies a rule again,
//! and PATCH (for dynamic rules only) is refused.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use backstore_domain::rule::{RuleExpr, RuleExprError};
use backstore_domain::{RuleError, Workload};
use backstore_store::{RuleAction, RuleRecord};
use serde_json::{Map, Value};

use super::{collection, entity, page};
use crate::auth::Access;
use crate::error::ApiError;
use crate::names::{is_odata_type, names};
use crate::wire;
use crate::Ctx;

/// Server-managed members of `protectionRuleBase`: accepted in a body only as `null` (what the
/// SDKs send for unset model properties).
const READ_ONLY: &[&str] =
    &["id", "status", "error", "createdBy", "createdDateTime", "lastModifiedBy", "lastModifiedDateTime"];

fn rule_json(ctx: &Ctx, r: &RuleRecord) -> Map<String, Value> {
    wire::members(&wire::Rule::new(r, &ctx.render))
}

fn fragment(w: Workload, policy: Option<&str>) -> String {
    let n = names(w);
    match policy {
        Some(p) => format!("{}('{p}')/{}", n.policy_set, n.rules_nav),
        None => n.rules_nav.to_owned(),
    }
}

fn expression_error(e: RuleExprError, property: &str) -> ApiError {
    match e {
        RuleExprError::Invalid { .. } => ApiError::Rule(RuleError::InvalidRuleExpression(format!("{property}: {e}"))),
        RuleExprError::TooManyGroups(_) => ApiError::Rule(RuleError::RuleGroupLimit(e.to_string())),
    }
}

pub(super) async fn create_rule(ctx: &Ctx, w: Workload, policy: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    let n = names(w);
    let invalid = |m: String| ApiError::Rule(RuleError::InvalidRuleCreate(m));
    let obj = match crate::body::parse_json(&ctx.body)? {
        Value::Object(m) => m,
        _ => return Err(invalid(format!("The request body must be a {} object.", n.rule_type))),
    };
    let mut expression = None;
    for (k, v) in &obj {
        match k.as_str() {
            "@odata.type" => {
                if !v.as_str().is_some_and(|t| is_odata_type(t, n.rule_type)) {
                    return Err(invalid(format!("@odata.type {v} is not '#microsoft.graph.{}'.", n.rule_type)));
                }
            }
            k if k == n.rule_expression => match v {
                Value::String(s) => expression = Some(s.clone()),
                Value::Null => {}
                _ => return Err(invalid(format!("'{k}' must be a string."))),
            },
            "isAutoApplyEnabled" => match v {
                Value::Null | Value::Bool(false) => {}
                Value::Bool(true) => {
                    return Err(invalid(
                        "Only static rules are supported: isAutoApplyEnabled must be false or absent.".into(),
                    ))
                }
                _ => return Err(invalid("'isAutoApplyEnabled' must be a boolean.".into())),
            },
            k if k.starts_with('@') => {}
            k if READ_ONLY.contains(&k) => {
                if !v.is_null() {
                    return Err(invalid(format!("'{k}' is read-only.")));
                }
            }
            other => {
                return Err(invalid(format!(
                    "Property '{other}' does not exist on type 'microsoft.graph.{}'.",
                    n.rule_type
                )))
            }
        }
    }
    let expression = expression.ok_or_else(|| invalid(format!("'{}' is required.", n.rule_expression)))?;
    RuleExpr::parse(&expression, w).map_err(|e| expression_error(e, n.rule_expression))?;
    let rule = ctx.store().create_rule(ctx.writer(), policy, w, expression).await?;
    let location = format!("{}/{}('{policy}')/{}('{}')", ctx.service_url(), n.policy_set, n.rules_nav, rule.id);
    let r = entity(ctx, StatusCode::CREATED, &format!("{}/$entity", fragment(w, Some(policy))), rule_json(ctx, &rule));
    Ok(super::locate(r, &location, &[header::CONTENT_LOCATION, header::LOCATION]))
}

pub(super) async fn list_rules(ctx: &Ctx, w: Workload, policy: Option<&str>) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    if let Some(p) = policy {
        ctx.store().get_policy(ctx.tenant(), p, Some(w)).await?.ok_or(RuleError::PolicyNotFound)?;
    }
    let limit = ctx.query.page_size();
    let rows = ctx.store().list_rules(ctx.tenant(), w, policy, ctx.query.after, limit + 1).await?;
    let (rows, more_after) = page(rows, limit, |r| r.seq);
    let value = rows.iter().map(|r| Value::Object(rule_json(ctx, r))).collect();
    Ok(collection(ctx, &fragment(w, policy), value, more_after))
}

async fn load(ctx: &Ctx, w: Workload, policy: Option<&str>, id: &str) -> Result<RuleRecord, ApiError> {
    Ok(ctx.store().get_rule(ctx.tenant(), w, policy, id).await?.ok_or(RuleError::RuleNotFound)?)
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
    let n = names(w);
    let invalid = |m: String| ApiError::Rule(RuleError::InvalidRulePatch(m));
    let obj = match crate::body::parse_json(&ctx.body)? {
        Value::Object(m) => m,
        _ => return Err(invalid(format!("The request body must be a {} object.", n.rule_type))),
    };
    for (k, v) in &obj {
        match k.as_str() {
            k if k == n.rule_expression => {
                let text = v.as_str().ok_or_else(|| invalid(format!("'{k}' must be a string.")))?;
                RuleExpr::parse(text, w).map_err(|e| expression_error(e, k))?;
            }
            "isAutoApplyEnabled" if !matches!(v, Value::Null | Value::Bool(false)) => {
                return Err(invalid("isAutoApplyEnabled can only be set when a rule is created.".into()))
            }
            "isAutoApplyEnabled" => {}
            k if k.starts_with('@') => {}
            k if READ_ONLY.contains(&k) && v.is_null() => {}
            other => return Err(invalid(format!("Property '{other}' cannot be updated."))),
        }
    }
    load(ctx, w, policy, id).await?;
    Err(RuleError::PatchNotAllowedForStaticRule.into())
}

pub(super) async fn delete_rule(ctx: &Ctx, w: Workload, policy: Option<&str>, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    ctx.store().delete_rule(ctx.tenant(), w, policy, id).await?;
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
