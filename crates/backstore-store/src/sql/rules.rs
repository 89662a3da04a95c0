//! Inclusion rules on SQLite: a rule is stored `active`, and the engine's `applyRule` job
//! evaluates its expression over the tenant's directory, putting every match into the rule's
//! policy (`completed`, or `completedWithErrors` with a detail per resource that could not join).
//! `run` applies it again; `deleteAndUnprotect` takes the units it added out of the policy and then
//! removes the rule. Every function runs inside the caller's transaction.

use super::activity_logs::{log_rule, unit_details};
use super::stored::{by_id, under_policy};
use backstore_domain::activity::{ActivityResult, ActivityType};

use super::tx::Tx;
use backstore_domain::rule::{RuleExpr, RuleSubject};
use backstore_domain::{RuleError, Timestamp, Workload};

use super::directory::resource_from_row;
use super::jobs::{enqueue, forget_done_job, Queue};
use super::outcome::{record_outcome, stored_error, OutcomeTable};
use super::policies::{enqueue_settle, load_policy, refresh_policy, require_policy};
use super::read::{Col, Columns};
use super::rows::{actor_json, json_list, micros, stamps, workload as parse_workload};
use super::units::{join, Joined};
use super::Lock;
use crate::{ErrorDetail, JobKind, JobRef, RuleAction, RuleRecord, Store, StoreResult, Writer};

const RULE_COLUMNS: &str = "seq, id, policy_id, workload, expression, status, error, created_at, created_by, \
    last_modified_at, last_modified_by";

fn rule_from_row(row: &dyn Columns) -> StoreResult<RuleRecord> {
    Ok(RuleRecord {
        seq: row.col("seq")?,
        id: row.col("id")?,
        policy_id: row.col("policy_id")?,
        workload: parse_workload(&row.col::<String>("workload")?)?,
        expression: row.col("expression")?,
        status: row.col("status")?,
        error: stored_error(row.col("error")?)?,
        stamps: stamps(row)?,
    })
}

super::stored::stored!(RuleRecord, "protection_rules", RULE_COLUMNS, rule_from_row; under_policy);

async fn require_rule(
    conn: &mut Tx,
    tenant: &str,
    workload: Workload,
    policy_id: Option<&str>,
    id: &str,
) -> StoreResult<RuleRecord> {
    Ok(under_policy(&mut *conn, (tenant, workload, policy_id), id).await?.ok_or(RuleError::RuleNotFound)?)
}

fn settled(rule: &RuleRecord) -> bool {
    matches!(rule.status.as_str(), "completed" | "completedWithErrors")
}

async fn remove_rule_rows(conn: &mut Tx, tenant: &str, id: &str) -> StoreResult<()> {
    forget_done_job(conn, tenant, JobKind::ApplyRule, id).await?;
    exec!(conn, "DELETE FROM protection_rules WHERE tenant_id = ? AND id = ?", tenant, id).await?;
    Ok(())
}

/// Runs a claimed `applyRule` job. False when the lease was lost.
/// What an `applyRule` job does to its rule: apply it, or carry out its `deleteAndUnprotect`.
async fn run_rule(conn: &mut Tx, job: &JobRef, now: Timestamp) -> StoreResult<()> {
    let tenant = job.tenant_id.as_str();
    if let Some(rule) = by_id::<RuleRecord>(&mut *conn, tenant, &job.target_id).await? {
        match rule.status.as_str() {
            "active" => apply(conn, &rule, tenant, now).await?,
            "deleteRequested" => unprotect_and_delete(conn, &rule, tenant, now).await?,
            _ => {}
        }
    }
    Ok(())
}

async fn apply(conn: &mut Tx, rule: &RuleRecord, tenant: &str, now: Timestamp) -> StoreResult<()> {
    let mut details = Vec::new();
    match (
        RuleExpr::parse(&rule.expression, rule.workload),
        load_policy(&mut *conn, tenant, &rule.policy_id, None).await?,
    ) {
        (_, None) => details.push(ErrorDetail {
            code: "PolicyNotFound".into(),
            message: "The protection policy of this rule no longer exists.".into(),
            target: rule.policy_id.clone(),
        }),
        (Err(e), _) => details.push(ErrorDetail {
            code: "InvalidRuleExpression".into(),
            message: e.to_string(),
            target: rule.expression.clone(),
        }),
        (Ok(expr), Some(policy)) => {
            let creator = rule.stamps.last_modified_by.clone();
            let w = Writer { tenant, actor: &creator, now };
            let rows = conn
                .fetch_all(
                    "SELECT d.*, (SELECT json_group_array(g.group_id) FROM directory_groups g \
                 WHERE g.tenant_id = d.tenant_id AND g.directory_object_id = d.directory_object_id) AS groups \
                 FROM directory_resources d WHERE d.tenant_id = ? AND d.workload = ? ORDER BY d.resource_id",
                    args![tenant, rule.workload.unit_kind()],
                )
                .await?;
            let mut needs_settle = false;
            let mut added = 0;
            for row in &rows {
                let mut resource = resource_from_row(row, rule.workload)?;
                resource.groups = json_list(&row.col::<String>("groups")?)?;
                let subject = RuleSubject {
                    // A site's display name is its title.
                    display_name: resource.resource.display_name.as_deref().or(resource.resource.site_name.as_deref()),
                    web_url: resource.resource.site_web_url.as_deref(),
                    mail: resource.resource.email.as_deref(),
                    groups: &resource.groups,
                };
                if !expr.matches(&subject) {
                    continue;
                }
                let Some(resource_id) = resource.resource.resource_id() else { continue };
                match join(conn, &w, &policy, resource_id).await? {
                    Joined::Added { unit_id, requested } => {
                        needs_settle |= requested;
                        added += 1;
                        exec!(
                            conn,
                            "UPDATE protection_units SET rule_id = ? WHERE tenant_id = ? AND id = ?",
                            &rule.id,
                            tenant,
                            &unit_id
                        )
                        .await?;
                    }
                    Joined::InOtherPolicy => {
                        let target = resource.resource.site_web_url.clone().or(resource.resource.email.clone());
                        details.push(ErrorDetail {
                            code: "ProtectionUnitAlreadyExists".into(),
                            message: format!("'{resource_id}' is already protected by another protection policy."),
                            target: target.unwrap_or_else(|| resource_id.to_owned()),
                        });
                    }
                    Joined::AlreadyIn | Joined::Unknown => {}
                }
            }
            if needs_settle {
                enqueue_settle(conn, tenant, &policy.id, now).await?;
            }
            refresh_policy(conn, tenant, &policy.id, needs_settle, None).await?;
            let result =
                if details.is_empty() { ActivityResult::Succeeded } else { ActivityResult::PartiallySucceeded };
            let what = (ActivityType::DynamicRuleExecution, result, Some(&rule.stamps.last_modified_by), now);
            let units = unit_details(added, 0, details.len());
            log_rule(conn, (tenant, &policy.id, rule.workload), what, units).await?;
        }
    }
    let message = format!("{} resources matching the rule could not be added to the protection policy.", details.len());
    record_outcome(conn, OutcomeTable::ProtectionRules, tenant, &rule.id, details, message, now).await
}

async fn unprotect_and_delete(conn: &mut Tx, rule: &RuleRecord, tenant: &str, now: Timestamp) -> StoreResult<()> {
    let moved = exec!(
        conn,
        "UPDATE protection_units SET status = 'removeRequested', last_modified_at = ?, last_modified_by = ? \
         WHERE tenant_id = ? AND policy_id = ? AND rule_id = ? AND status <> 'removeRequested'",
        micros(now),
        actor_json(&rule.stamps.last_modified_by),
        tenant,
        &rule.policy_id,
        &rule.id
    )
    .await?;
    if moved > 0 {
        enqueue_settle(conn, tenant, &rule.policy_id, now).await?;
        refresh_policy(conn, tenant, &rule.policy_id, true, None).await?;
    }
    let what = (ActivityType::DynamicRuleDeletion, ActivityResult::Succeeded, Some(&rule.stamps.last_modified_by), now);
    let units = unit_details(0, moved as usize, 0);
    log_rule(conn, (tenant, &rule.policy_id, rule.workload), what, units).await?;
    exec!(conn, "DELETE FROM protection_rules WHERE tenant_id = ? AND id = ?", tenant, &rule.id).await?;
    Ok(())
}

impl Store {
    /// Adds an `active` rule to a policy of `workload` and queues its `applyRule` job.
    pub async fn create_rule(
        &self,
        w: Writer<'_>,
        policy_id: &str,
        workload: Workload,
        expression: String,
    ) -> StoreResult<RuleRecord> {
        self.write(Lock::Tenant(w.tenant), async move |conn| {
            require_policy(conn, w.tenant, policy_id, Some(workload)).await?;
            let id = uuid::Uuid::new_v4().to_string();
            exec!(
        conn,
        "INSERT INTO protection_rules (tenant_id, id, policy_id, workload, expression, status, created_at, created_by, \
         last_modified_at, last_modified_by) VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)",
        w.tenant, &id, policy_id, workload.unit_kind(), &expression, micros(w.now), actor_json(w.actor), micros(w.now),
        actor_json(w.actor),
    )
            .await?;
            enqueue(conn, (w.tenant, policy_id, &id), JobKind::ApplyRule, Queue::Rearm, w.now).await?;
            require_rule(conn, w.tenant, workload, None, &id).await
        })
        .await
    }

    /// Deletes a rule that is not being applied; the units it added stay.
    pub async fn delete_rule(
        &self,
        w: Writer<'_>,
        workload: Workload,
        policy_id: Option<&str>,
        id: &str,
    ) -> StoreResult<()> {
        let tenant = w.tenant;
        self.write(Lock::Tenant(tenant), async move |conn| {
            let rule = require_rule(conn, tenant, workload, policy_id, id).await?;
            if !settled(&rule) {
                return Err(RuleError::RuleStatusForDeletion(format!(
                    "The protection rule is {}; it can be deleted once it is completed or completedWithErrors.",
                    rule.status
                ))
                .into());
            }
            let what = (ActivityType::DynamicRuleDeletion, ActivityResult::Succeeded, Some(w.actor), w.now);
            log_rule(conn, (tenant, &rule.policy_id, rule.workload), what, unit_details(0, 0, 0)).await?;
            remove_rule_rows(conn, tenant, id).await
        })
        .await
    }

    /// `run` or `deleteAndUnprotect` on a rule that is not being applied; its job carries it out.
    pub async fn rule_action(
        &self,
        w: Writer<'_>,
        workload: Workload,
        policy_id: Option<&str>,
        id: &str,
        action: RuleAction,
    ) -> StoreResult<RuleRecord> {
        self.write(Lock::Tenant(w.tenant), async move |conn| {
            let rule = require_rule(conn, w.tenant, workload, policy_id, id).await?;
            if !settled(&rule) {
                let verb = match action {
                    RuleAction::Run => "run",
                    RuleAction::DeleteAndUnprotect => "deleted and unprotected",
                };
                return Err(RuleError::RuleActionNotAllowed(format!(
                    "The protection rule is {}; it can be {verb} once it is completed or completedWithErrors.",
                    rule.status
                ))
                .into());
            }
            let status = match action {
                RuleAction::Run => "active",
                RuleAction::DeleteAndUnprotect => "deleteRequested",
            };
            exec!(
                conn,
                "UPDATE protection_rules SET status = ?, error = NULL, last_modified_at = ?, last_modified_by = ? \
         WHERE tenant_id = ? AND id = ?",
                status,
                micros(w.now),
                actor_json(w.actor),
                w.tenant,
                id
            )
            .await?;
            enqueue(conn, (w.tenant, &rule.policy_id, id), JobKind::ApplyRule, Queue::Rearm, w.now).await?;
            require_rule(conn, w.tenant, workload, None, id).await
        })
        .await
    }

    /// Runs a claimed `applyRule` job. False when the lease was lost.
    pub async fn apply_rule_job(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool> {
        self.complete_job(job, now, async move |tx| run_rule(tx, job, now).await).await
    }
}
