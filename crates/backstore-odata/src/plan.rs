//! Trees → parameterised SQL through a [`Schema`]. The SQL text comes only from the schema (column
//! expressions written in code) and from fixed operators; every value is a [`Bind`]. Placeholders
//! are `?`; a backend that numbers its parameters renumbers them in order.

use crate::ast::{CmpOp, Expr, Literal, StrFunc};
use crate::QueryError;

/// What values a property takes, and how they are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Text limited to these members (compared by their canonical spelling).
    Enum(&'static [&'static str]),
    /// Stored as microseconds since the epoch.
    DateTime,
    /// Stored as 0 / 1.
    Bool,
    Int,
}

/// One property a collection can be filtered (and maybe sorted) on.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The OData path, e.g. `createdBy/user/id`.
    pub name: &'static str,
    /// The SQL expression it is stored as.
    pub column: &'static str,
    pub kind: Kind,
    /// The SQL expression to sort on (never NULL), or `None` when `$orderby` cannot use it.
    pub sort: Option<&'static str>,
}

/// The allow-list of one collection.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    /// The entity type, for messages (`restoreSessionBase`).
    pub type_name: &'static str,
    pub fields: &'static [Field],
    /// `isof` targets: type name (without `microsoft.graph.`) → SQL condition.
    pub types: &'static [(&'static str, &'static str)],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    Text(String),
    Int(i64),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqlFilter {
    pub sql: String,
    pub binds: Vec<Bind>,
}

impl Schema {
    fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    fn known(&self) -> String {
        self.fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
    }
}

/// Where `word` first stands as a token of `text` (for refusals found after parsing).
fn position_of(text: &str, word: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let w: Vec<char> = word.chars().collect();
    let mut in_string = false;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\'' {
            in_string = !in_string;
        } else if !in_string
            && chars[i..].starts_with(&w)
            && (i == 0 || !chars[i - 1].is_alphanumeric())
            && chars.get(i + w.len()).is_none_or(|c| !c.is_alphanumeric() && *c != '/')
        {
            return i;
        }
        i += 1;
    }
    0
}

struct Planner<'a> {
    schema: &'a Schema,
    text: &'a str,
    out: SqlFilter,
}

impl Planner<'_> {
    fn error(&self, at: &str, message: String) -> QueryError {
        QueryError { option: "$filter", position: position_of(self.text, at), message }
    }

    fn field(&self, name: &str) -> Result<Field, QueryError> {
        self.schema.field(name).copied().ok_or_else(|| {
            self.error(
                name,
                format!(
                    "Could not find a property named '{name}' on type 'microsoft.graph.{}' that can be filtered on; \
                     these can: {}",
                    self.schema.type_name,
                    self.schema.known()
                ),
            )
        })
    }

    fn value(&mut self, f: &Field, v: &Literal) -> Result<Bind, QueryError> {
        let mismatch = |what: &str| self.error(f.name, format!("'{}' compares with {what}, not with {v}", f.name));
        Ok(match (f.kind, v) {
            (Kind::Text, Literal::Str(s)) => Bind::Text(s.clone()),
            (Kind::Enum(members), Literal::Str(s)) => match members.iter().find(|m| m.eq_ignore_ascii_case(s)) {
                Some(m) => Bind::Text((*m).to_owned()),
                None => {
                    return Err(
                        self.error(f.name, format!("'{s}' is not a member of '{}': {}", f.name, members.join(", ")))
                    )
                }
            },
            (Kind::DateTime, Literal::DateTime(t)) => Bind::Int(t.timestamp_micros()),
            (Kind::Bool, Literal::Bool(b)) => Bind::Int(i64::from(*b)),
            (Kind::Int, Literal::Int(i)) => Bind::Int(*i),
            (Kind::Text | Kind::Enum(_), _) => return Err(mismatch("a quoted string")),
            (Kind::DateTime, _) => return Err(mismatch("a date and time like 2026-01-01T00:00:00Z")),
            (Kind::Bool, _) => return Err(mismatch("true or false")),
            (Kind::Int, _) => return Err(mismatch("an integer")),
        })
    }

    fn push(&mut self, sql: &str) {
        self.out.sql.push_str(sql);
    }

    fn expr(&mut self, e: &Expr) -> Result<(), QueryError> {
        match e {
            Expr::Or(a, b) | Expr::And(a, b) => {
                self.push("(");
                self.expr(a)?;
                self.push(if matches!(e, Expr::Or(..)) { " OR " } else { " AND " });
                self.expr(b)?;
                self.push(")");
            }
            Expr::Not(x) => {
                self.push("NOT (");
                self.expr(x)?;
                self.push(")");
            }
            Expr::Cmp { property, op, value } => {
                let f = self.field(property)?;
                if *value == Literal::Null {
                    let sql = match op {
                        CmpOp::Eq => "IS NULL",
                        CmpOp::Ne => "IS NOT NULL",
                        _ => return Err(self.error(property, "null compares with eq and ne only".into())),
                    };
                    self.push(&format!("{} {sql}", f.column));
                    return Ok(());
                }
                if matches!(f.kind, Kind::Bool | Kind::Enum(_)) && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    return Err(self.error(property, format!("'{}' compares with eq and ne only", f.name)));
                }
                let bind = self.value(&f, value)?;
                self.push(&format!("{} {} ?", f.column, op.sql()));
                self.out.binds.push(bind);
            }
            Expr::In { property, values } => {
                let f = self.field(property)?;
                let binds = values.iter().map(|v| self.value(&f, v)).collect::<Result<Vec<_>, _>>()?;
                let marks = vec!["?"; binds.len()].join(", ");
                self.push(&format!("{} IN ({marks})", f.column));
                self.out.binds.extend(binds);
            }
            Expr::Func { func, property, value } => {
                let f = self.field(property)?;
                if f.kind != Kind::Text {
                    return Err(self.error(
                        property,
                        format!("{} applies to text properties; '{}' is not one", func.name(), f.name),
                    ));
                }
                let escaped = value.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                let pattern = match func {
                    StrFunc::StartsWith => format!("{escaped}%"),
                    StrFunc::EndsWith => format!("%{escaped}"),
                    StrFunc::Contains => format!("%{escaped}%"),
                };
                self.push(&format!("lower({}) LIKE ? ESCAPE '\\'", f.column));
                self.out.binds.push(Bind::Text(pattern));
            }
            Expr::IsOf(t) => {
                let bare = t.trim_start_matches('#');
                let bare = bare.strip_prefix("microsoft.graph.").unwrap_or(bare);
                let Some((_, cond)) = self.schema.types.iter().find(|(n, _)| n.eq_ignore_ascii_case(bare)) else {
                    let known: Vec<String> =
                        self.schema.types.iter().map(|(n, _)| format!("microsoft.graph.{n}")).collect();
                    return Err(self.error(
                        "isof",
                        format!("isof('{t}') names no type of this collection; these are: {}", known.join(", ")),
                    ));
                };
                self.push(&format!("({cond})"));
            }
        }
        Ok(())
    }
}

/// Plans a parsed `$filter` (`text` is what the client sent, for positions in refusals).
/// The SQL is the same for every backend: what differs between dialects lives in the schema's
/// column expressions, which each backend writes for itself.
pub fn plan_filter(expr: &Expr, schema: &Schema, text: &str) -> Result<SqlFilter, QueryError> {
    let mut p = Planner { schema, text, out: SqlFilter::default() };
    p.expr(expr)?;
    Ok(p.out)
}

/// One sort key: a never-NULL SQL expression, its direction and kind (for keyset values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderKey {
    pub sql: &'static str,
    pub desc: bool,
    pub kind: Kind,
}

/// Plans `$orderby` items; a property that cannot be sorted on is refused where it stands.
/// How many properties one `$orderby` may name.
pub const MAX_ORDER_KEYS: usize = 8;

pub fn plan_order(items: &[crate::OrderItem], schema: &Schema) -> Result<Vec<OrderKey>, QueryError> {
    if let Some(extra) = items.get(MAX_ORDER_KEYS) {
        return Err(QueryError {
            option: "$orderby",
            position: extra.position,
            message: format!("$orderby takes at most {MAX_ORDER_KEYS} properties"),
        });
    }
    items
        .iter()
        .map(|item| {
            let refuse = |m: String| QueryError { option: "$orderby", position: item.position, message: m };
            let f = schema.field(&item.property).ok_or_else(|| {
                refuse(format!(
                    "Could not find a property named '{}' on type 'microsoft.graph.{}'",
                    item.property, schema.type_name
                ))
            })?;
            let sql = f.sort.ok_or_else(|| refuse(format!("'{}' cannot be used in $orderby", f.name)))?;
            Ok(OrderKey { sql, desc: item.desc, kind: f.kind })
        })
        .collect()
}

impl OrderKey {
    /// The row sequence ends every order as the tiebreaker; it runs descending when every key
    /// does, so one index scanned backwards serves the whole order.
    fn seq_desc(keys: &[OrderKey]) -> bool {
        !keys.is_empty() && keys.iter().all(|k| k.desc)
    }

    /// `ORDER BY` items for `keys` then the row's sequence (`seq`).
    pub fn order_by(keys: &[OrderKey], seq: &str) -> String {
        let dir = |desc: bool| if desc { "DESC" } else { "ASC" };
        let mut parts: Vec<String> = keys.iter().map(|k| format!("{} {}", k.sql, dir(k.desc))).collect();
        parts.push(format!("{seq} {}", dir(Self::seq_desc(keys))));
        parts.join(", ")
    }

    /// The condition for rows after the one whose sort values are `values` and sequence `seq_value`
    /// (keyset paging). When every key runs the same way it is one row-value comparison,
    /// `(k1, k2, seq) > (?, ?, ?)`, which an index can seek to; mixed directions expand to
    /// `(k1 > v1) OR (k1 = v1 AND k2 < v2) OR …`. `None` when `values` does not fit the keys (a
    /// token made for another `$orderby`).
    pub fn after(keys: &[OrderKey], seq: &str, values: &[Bind], seq_value: i64) -> Option<SqlFilter> {
        if values.len() != keys.len() {
            return None;
        }
        for (k, v) in keys.iter().zip(values) {
            let fits = matches!(
                (k.kind, v),
                (Kind::Text | Kind::Enum(_), Bind::Text(_)) | (Kind::DateTime | Kind::Bool | Kind::Int, Bind::Int(_))
            );
            if !fits {
                return None;
            }
        }
        let seq_desc = Self::seq_desc(keys);
        let mut out = SqlFilter::default();
        if keys.iter().all(|k| k.desc == seq_desc) {
            let mut columns: Vec<&str> = keys.iter().map(|k| k.sql).collect();
            columns.push(seq);
            let marks = vec!["?"; columns.len()].join(", ");
            let op = if seq_desc { "<" } else { ">" };
            out.sql = if keys.is_empty() {
                format!("{seq} {op} ?")
            } else {
                format!("({}) {op} ({marks})", columns.join(", "))
            };
            out.binds = values.to_vec();
            out.binds.push(Bind::Int(seq_value));
            return Some(out);
        }
        let mut ors = Vec::new();
        for i in 0..=keys.len() {
            let mut ands = Vec::new();
            for (k, v) in keys.iter().zip(values).take(i) {
                ands.push(format!("{} = ?", k.sql));
                out.binds.push(v.clone());
            }
            match keys.get(i) {
                Some(k) => {
                    ands.push(format!("{} {} ?", k.sql, if k.desc { "<" } else { ">" }));
                    out.binds.push(values[i].clone());
                }
                None => {
                    ands.push(format!("{seq} {} ?", if seq_desc { "<" } else { ">" }));
                    out.binds.push(Bind::Int(seq_value));
                }
            }
            ors.push(format!("({})", ands.join(" AND ")));
        }
        out.sql = format!("({})", ors.join(" OR "));
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_filter, parse_orderby};

    const STATUS: &[&str] = &["draft", "activating", "active", "completed"];
    const SCHEMA: Schema = Schema {
        type_name: "restoreSessionBase",
        fields: &[
            Field { name: "id", column: "id", kind: Kind::Text, sort: Some("id") },
            Field { name: "status", column: "status", kind: Kind::Enum(STATUS), sort: Some("status") },
            Field { name: "createdDateTime", column: "created_at", kind: Kind::DateTime, sort: Some("created_at") },
            Field {
                name: "createdBy/user/id",
                column: "json_extract(created_by, '$.user_id')",
                kind: Kind::Text,
                sort: None,
            },
            Field { name: "completedDateTime", column: "completed_at", kind: Kind::DateTime, sort: None },
        ],
        types: &[("exchangeRestoreSession", "workload = 'mailbox'")],
    };

    fn plan(text: &str) -> Result<SqlFilter, QueryError> {
        plan_filter(&parse_filter(text)?, &SCHEMA, text)
    }

    #[test]
    fn filters_become_bound_sql() {
        let f = plan("status eq 'Draft' and createdDateTime ge 2026-01-01T00:00:00Z").unwrap();
        assert_eq!(f.sql, "(status = ? AND created_at >= ?)");
        assert_eq!(f.binds, [Bind::Text("draft".into()), Bind::Int(1_767_225_600_000_000)]);
        let f = plan("not startswith(id, '50%_') or completedDateTime eq null").unwrap();
        assert_eq!(f.sql, "(NOT (lower(id) LIKE ? ESCAPE '\\') OR completed_at IS NULL)");
        assert_eq!(f.binds, [Bind::Text("50\\%\\_%".into())]);
        let f = plan("isof('microsoft.graph.exchangeRestoreSession') and status in ('draft','active')").unwrap();
        assert_eq!(f.sql, "((workload = 'mailbox') AND status IN (?, ?))");
        let f = plan("createdBy/user/id eq 'u; DROP TABLE x'").unwrap();
        assert_eq!(f.binds, [Bind::Text("u; DROP TABLE x".into())]);
    }

    #[test]
    fn refusals_point_at_the_property() {
        let e = plan("status eq 'draft' and colour eq 'red'").unwrap_err();
        assert_eq!(e.position, 22);
        assert!(e.message.contains("colour"), "{e}");
        assert_eq!(plan("status eq 'paused'").unwrap_err().position, 0);
        assert_eq!(plan("status gt 'draft'").unwrap_err().position, 0);
        assert_eq!(plan("id eq 'x' and createdDateTime eq 'yesterday'").unwrap_err().position, 14);
        assert_eq!(plan("contains(createdDateTime, 'x')").unwrap_err().position, 9);
        assert!(plan("isof('microsoft.graph.nope')").is_err());
    }

    #[test]
    fn keyset_after_the_last_row() {
        let keys = plan_order(&parse_orderby("createdDateTime desc, id desc").unwrap(), &SCHEMA).unwrap();
        assert_eq!(OrderKey::order_by(&keys, "seq"), "created_at DESC, id DESC, seq DESC");
        let after = OrderKey::after(&keys, "seq", &[Bind::Int(5), Bind::Text("x".into())], 9).unwrap();
        assert_eq!(after.sql, "(created_at, id, seq) < (?, ?, ?)");
        assert_eq!(OrderKey::after(&[], "seq", &[], 9).unwrap().sql, "seq > ?");
        let keys = plan_order(&parse_orderby("status desc, createdDateTime").unwrap(), &SCHEMA).unwrap();
        assert_eq!(OrderKey::order_by(&keys, "seq"), "status DESC, created_at ASC, seq ASC");
        let after = OrderKey::after(&keys, "seq", &[Bind::Text("draft".into()), Bind::Int(5)], 9).unwrap();
        assert_eq!(
            after.sql,
            "((status < ?) OR (status = ? AND created_at > ?) OR (status = ? AND created_at = ? AND seq > ?))"
        );
        assert_eq!(after.binds.len(), 6);
        assert!(OrderKey::after(&keys, "seq", &[Bind::Int(1), Bind::Int(5)], 9).is_none());
        let e = plan_order(&parse_orderby("status, completedDateTime").unwrap(), &SCHEMA).unwrap_err();
        assert_eq!(e.position, 8);
    }
}
