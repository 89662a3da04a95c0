//! OData query expressions as Graph clients send them: `$filter` and `$orderby` parsed into an
//! [`Expr`] tree (every refusal names the character where it happened), printed back canonically,
//! and planned into parameterised SQL through a [`Schema`], the allow-list of what a collection can
//! be filtered and sorted on. Request text never reaches SQL: property names map to column
//! expressions written in code, and every value is a bind parameter.

mod ast;
mod parse;
mod plan;

pub use ast::{CmpOp, Expr, Literal, StrFunc};
pub use parse::{parse_filter, parse_orderby, OrderItem};
pub use plan::{plan_filter, plan_order, Bind, Field, Kind, OrderKey, Schema, SqlFilter, MAX_ORDER_KEYS};

/// Why an expression was refused; always a 400 for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at position {position} of the {option} expression)")]
pub struct QueryError {
    /// `$filter` or `$orderby`.
    pub option: &'static str,
    /// 0-based, in characters.
    pub position: usize,
    pub message: String,
}

/// Longest `$filter` accepted, in characters.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses and `not` accepted.
pub const MAX_DEPTH: usize = 32;
