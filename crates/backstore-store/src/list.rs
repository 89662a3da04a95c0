//! What a collection read asks of the store: the parsed `$filter` and `$orderby`, the keyset
//! position to continue after, `$skip` and the page size. The store plans the trees against the
//! collection's allow-list itself (`sql/listing.rs`); the API only parses. Rows come back with the
//! values of their sort keys, from which the API makes the next `$skiptoken`.

pub use backstore_odata::{Bind, Expr, OrderItem};

/// A parsed `$filter` and the text it came from (a refusal found while planning, such as an unknown
/// property, names its position in that text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub expr: Expr,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct ListSpec {
    pub filter: Option<Filter>,
    /// Sort keys before the row sequence (which always ends the order, ascending).
    pub order: Vec<OrderItem>,
    /// Continue after the row with these sort values and this sequence.
    pub after: Option<(Vec<Bind>, i64)>,
    pub skip: i64,
    pub limit: i64,
    /// Count every row the filter keeps too (`$count=true`).
    pub count: bool,
}

/// A page of a collection: its rows, keyed for the next link, and the count when it was asked for.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<Keyed<T>>,
    pub count: Option<i64>,
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
