//! What a collection read asks of the store: a planned `$filter`, the `$orderby` keys, the keyset
//! position to continue after, `$skip` and the page size. Rows come back with the values of their
//! sort keys, from which the API makes the next `$skiptoken`.

pub use backstore_odata::{Bind, OrderKey, Schema, SqlFilter};

/// The collections that take OData query options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Sessions,
    Artifacts,
    Units,
}

#[derive(Debug, Clone, Default)]
pub struct ListSpec {
    pub filter: Option<SqlFilter>,
    /// Sort keys before the row sequence (which always ends the order, ascending).
    pub order: Vec<OrderKey>,
    /// Continue after the row with these sort values and this sequence.
    pub after: Option<(Vec<Bind>, i64)>,
    pub skip: i64,
    pub limit: i64,
}

impl ListSpec {
    /// The first `limit` rows in creation order.
    pub fn first(limit: i64) -> ListSpec {
        ListSpec { limit, ..ListSpec::default() }
    }

    /// Rows after sequence `after` in creation order.
    pub fn after_seq(after: Option<i64>, limit: i64) -> ListSpec {
        ListSpec { after: after.map(|s| (Vec::new(), s)), limit, ..ListSpec::default() }
    }
}

/// A row and the values of its sort keys (in `ListSpec::order`'s order).
#[derive(Debug, Clone, PartialEq)]
pub struct Keyed<T> {
    pub record: T,
    pub keys: Vec<Bind>,
}
