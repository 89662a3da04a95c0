//! Granular mail searches: what `restorePoints/search` with an `artifactQuery` matched in a
//! mailbox's restore point, kept under its `searchResponseId` so a granular restore brings back
//! exactly those messages.

use backstore_domain::Timestamp;

use super::read::Col;
use super::rows::{from_micros, micros};
use super::Lock;
use crate::{Store, StoreError, StoreResult};

/// A search as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRecord {
    pub id: String,
    pub protection_unit_id: String,
    pub restore_point_id: String,
    /// The query as sent.
    pub query: String,
    /// The ids of the point's messages it matched.
    pub item_ids: Vec<String>,
    pub created_at: Timestamp,
}

impl Store {
    pub async fn save_search(&self, tenant: &str, s: &SearchRecord) -> StoreResult<()> {
        let ids = serde_json::to_string(&s.item_ids).expect("ids serialize");
        self.write(Lock::Tenant(tenant), async |tx| {
            exec!(
                tx,
                "INSERT INTO restore_searches (tenant_id, id, protection_unit_id, restore_point_id, query, item_ids, \
                 created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                tenant,
                s.id.as_str(),
                s.protection_unit_id.as_str(),
                s.restore_point_id.as_str(),
                s.query.as_str(),
                ids,
                micros(s.created_at),
            )
            .await?;
            Ok(())
        })
        .await
    }

    pub async fn search(&self, tenant: &str, id: &str) -> StoreResult<Option<SearchRecord>> {
        self.read_row("SELECT * FROM restore_searches WHERE tenant_id = ? AND id = ?", args![tenant, id], |r| {
            let ids: String = r.col("item_ids")?;
            Ok(SearchRecord {
                id: r.col("id")?,
                protection_unit_id: r.col("protection_unit_id")?,
                restore_point_id: r.col("restore_point_id")?,
                query: r.col("query")?,
                item_ids: serde_json::from_str(&ids)
                    .map_err(|e| StoreError::Corrupt(format!("search item ids: {e}")))?,
                created_at: from_micros(r.col("created_at")?)?,
            })
        })
        .await
    }
}
