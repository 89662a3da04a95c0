//! Inclusion rule bodies: a create with its expression (parsed here, so a bad one is refused with
//! its position before anything is stored), and the PATCH the service refuses for static rules once
//! the body itself is sound.

use backstore_domain::rule::{RuleExpr, RuleExprError};
use backstore_domain::{RuleError, Workload};
use serde_json::Value;

use super::parse_json;
use crate::error::ApiError;
use crate::names::{is_odata_type, names};

/// Server-managed members of `protectionRuleBase`: accepted in a body only as `null` (what the
/// SDKs send for unset model properties).
const READ_ONLY: &[&str] =
    &["id", "status", "error", "createdBy", "createdDateTime", "lastModifiedBy", "lastModifiedDateTime"];

fn expression_error(e: RuleExprError, property: &str) -> ApiError {
    match e {
        RuleExprError::Invalid { .. } => ApiError::Rule(RuleError::InvalidRuleExpression(format!("{property}: {e}"))),
        RuleExprError::TooManyGroups(_) => ApiError::Rule(RuleError::RuleGroupLimit(e.to_string())),
    }
}

/// The expression of a create on the `w` rule set.
pub fn create_rule(body: &[u8], w: Workload) -> Result<String, ApiError> {
    let n = names(w);
    let invalid = |m: String| ApiError::Rule(RuleError::InvalidRuleCreate(m));
    let obj = match parse_json(body)? {
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
    Ok(expression)
}

/// Checks a PATCH body of a `w` rule: a sound body is still refused by the rule itself.
pub fn rule_patch(body: &[u8], w: Workload) -> Result<(), ApiError> {
    let n = names(w);
    let invalid = |m: String| ApiError::Rule(RuleError::InvalidRulePatch(m));
    let obj = match parse_json(body)? {
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
    Ok(())
}
