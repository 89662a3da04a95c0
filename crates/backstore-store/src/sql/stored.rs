//! Records kept one per row of a table of their own, keyed by tenant and id: read by id and, for
//! the ones that belong to a policy (inclusion rules, unit bulk jobs), listed per workload or per
//! policy.

use backstore_domain::Workload;

use super::listing;
use super::read::Columns;
use super::rows::{and_eq, kind_scope};
use super::tx::On;
use crate::{Store, StoreResult};

/// A record kept in a table of its own: the table, the columns a row is read with, and how.
pub trait Stored: Sized {
    const TABLE: &'static str;
    const COLUMNS: &'static str;
    fn from_row(row: &dyn Columns) -> StoreResult<Self>;
}

/// A record that belongs to a protection policy of one workload: an inclusion rule, a unit bulk job.
pub trait UnderPolicy: Stored {
    fn workload(&self) -> Workload;
    fn policy_id(&self) -> &str;
    /// Its place in creation order, for paging.
    fn seq(&self) -> i64;
}

/// Implements [`Stored`] (and with `; under_policy`, [`UnderPolicy`] from the record's `workload`,
/// `policy_id` and `seq` fields) for a record type.
macro_rules! stored {
    ($record:ty, $table:literal, $columns:expr, $decode:path) => {
        impl $crate::sql::stored::Stored for $record {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static str = $columns;
            fn from_row(row: &dyn $crate::sql::read::Columns) -> $crate::StoreResult<Self> {
                $decode(row)
            }
        }
    };
    ($record:ty, $table:literal, $columns:expr, $decode:path; under_policy) => {
        $crate::sql::stored::stored!($record, $table, $columns, $decode);
        impl $crate::sql::stored::UnderPolicy for $record {
            fn workload(&self) -> backstore_domain::Workload {
                self.workload
            }
            fn policy_id(&self) -> &str {
                &self.policy_id
            }
            fn seq(&self) -> i64 {
                self.seq
            }
        }
    };
}
pub(crate) use stored;

/// The record of this tenant with this id.
pub(super) async fn by_id<T: Stored>(on: impl Into<On<'_>>, tenant: &str, id: &str) -> StoreResult<Option<T>> {
    let sql = format!("SELECT {} FROM {} WHERE tenant_id = ? AND id = ?", T::COLUMNS, T::TABLE);
    on.into().row(&sql, args![tenant, id], T::from_row).await
}

/// The record of this tenant with this id, if it is of `workload` (and of `policy_id`, when given).
pub(super) async fn under_policy<T: UnderPolicy>(
    on: impl Into<On<'_>>,
    (tenant, workload, policy_id): (&str, Workload, Option<&str>),
    id: &str,
) -> StoreResult<Option<T>> {
    let found = by_id::<T>(on, tenant, id).await?;
    Ok(found.filter(|r| r.workload() == workload && policy_id.is_none_or(|p| p == r.policy_id())))
}

impl Store {
    /// Inclusion rules or unit bulk jobs of a workload, of one policy or all, in creation order:
    /// at most `limit`, after the one at `after`.
    pub async fn list_under_policy<T: UnderPolicy>(
        &self,
        (tenant, workload, policy_id): (&str, Workload, Option<&str>),
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<T>> {
        let select = format!("SELECT {} FROM {}", T::COLUMNS, T::TABLE);
        let scope = and_eq(kind_scope(tenant, Some(workload)), "policy_id", policy_id);
        listing::after_seq(self, &select, scope, ("seq", after, limit), T::from_row).await
    }

    /// How many inclusion rules or unit bulk jobs of a workload there are (of one policy, or all).
    pub async fn count_under_policy<T: UnderPolicy>(
        &self,
        (tenant, workload, policy_id): (&str, Workload, Option<&str>),
    ) -> StoreResult<i64> {
        let scope = and_eq(kind_scope(tenant, Some(workload)), "policy_id", policy_id);
        listing::count_in(self, T::TABLE, scope).await
    }

    /// One inclusion rule or unit bulk job of a workload (and of `policy_id`, when given).
    pub async fn get_under_policy<T: UnderPolicy>(
        &self,
        of: (&str, Workload, Option<&str>),
        id: &str,
    ) -> StoreResult<Option<T>> {
        under_policy(self, of, id).await
    }
}
