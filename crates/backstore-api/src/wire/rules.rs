//! Inclusion rules.

use backstore_store::RuleRecord;
use serde::Serialize;

use super::{Named, PublicErrorWithDetails, Render, Stamped};
use crate::names::{names, odata_type};

/// An inclusion rule, with its kind's expression member (`siteExpression`, …).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule<'a> {
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub id: &'a str,
    #[serde(flatten)]
    pub expression: Named<&'a str>,
    pub is_auto_apply_enabled: bool,
    pub status: &'a str,
    pub error: Option<PublicErrorWithDetails<'a>>,
    #[serde(flatten)]
    pub stamps: Stamped<'a>,
}

impl<'a> Rule<'a> {
    pub fn new(r: &'a RuleRecord, render: &Render) -> Rule<'a> {
        let n = names(r.workload);
        Rule {
            odata_type: odata_type(n.rule_type),
            id: &r.id,
            expression: Named::new(n.rule_expression, &r.expression),
            // The service has static rules only.
            is_auto_apply_enabled: false,
            status: render.rule_status(&r.status),
            error: PublicErrorWithDetails::of(r.error.as_ref()),
            stamps: Stamped::of(&r.stamps),
        }
    }
}
