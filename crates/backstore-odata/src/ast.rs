//! The `$filter` tree and its canonical text.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub const ALL: [(&'static str, CmpOp); 6] = [
        ("eq", CmpOp::Eq),
        ("ne", CmpOp::Ne),
        ("gt", CmpOp::Gt),
        ("ge", CmpOp::Ge),
        ("lt", CmpOp::Lt),
        ("le", CmpOp::Le),
    ];

    pub fn name(self) -> &'static str {
        CmpOp::ALL.iter().find(|(_, o)| *o == self).map_or("eq", |(n, _)| n)
    }

    pub fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrFunc {
    StartsWith,
    EndsWith,
    Contains,
}

impl StrFunc {
    pub const ALL: [(&'static str, StrFunc); 3] =
        [("startswith", StrFunc::StartsWith), ("endswith", StrFunc::EndsWith), ("contains", StrFunc::Contains)];

    pub fn name(self) -> &'static str {
        StrFunc::ALL.iter().find(|(_, f)| *f == self).map_or("contains", |(n, _)| n)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    DateTime(DateTime<Utc>),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => write!(f, "null"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Literal::DateTime(t) => write!(f, "{}", t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

/// A `$filter` expression. Properties are paths (`createdBy/user/id`), always on the left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp {
        property: String,
        op: CmpOp,
        value: Literal,
    },
    In {
        property: String,
        values: Vec<Literal>,
    },
    Func {
        func: StrFunc,
        property: String,
        value: String,
    },
    /// `isof('microsoft.graph.exchangeRestoreSession')`
    IsOf(String),
}

/// Canonical text: every binary operation in parentheses, so it parses back to the same tree.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(a, b) => write!(f, "({a}) or ({b})"),
            Expr::And(a, b) => write!(f, "({a}) and ({b})"),
            Expr::Not(x) => write!(f, "not ({x})"),
            Expr::Cmp { property, op, value } => write!(f, "{property} {} {value}", op.name()),
            Expr::In { property, values } => {
                let items: Vec<String> = values.iter().map(ToString::to_string).collect();
                write!(f, "{property} in ({})", items.join(", "))
            }
            Expr::Func { func, property, value } => {
                write!(f, "{}({property}, {})", func.name(), Literal::Str(value.clone()))
            }
            Expr::IsOf(t) => write!(f, "isof({})", Literal::Str(t.clone())),
        }
    }
}
