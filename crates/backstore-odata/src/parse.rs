//! `$filter` and `$orderby` text → trees. Keywords and function names are matched without regard
//! to case, as Graph does; every refusal says at which character it happened.

use chrono::{DateTime, Utc};

use crate::ast::{CmpOp, Expr, Literal, StrFunc};
use crate::{QueryError, MAX_DEPTH, MAX_FILTER_LEN};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Comma,
    Str(String),
    /// A number or an unquoted date-time, as written.
    Num(String),
    Word(String),
}

fn err(option: &'static str, position: usize, message: impl Into<String>) -> QueryError {
    QueryError { option, position, message: message.into() }
}

fn tokens(text: &str, option: &'static str) -> Result<Vec<(usize, Tok)>, QueryError> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let tok = match ch {
            '(' => {
                i += 1;
                Tok::Open
            }
            ')' => {
                i += 1;
                Tok::Close
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '\'' => {
                i += 1;
                let mut s = String::new();
                loop {
                    match c.get(i) {
                        None => return Err(err(option, start, "The string starting here is not closed")),
                        Some('\'') if c.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(x) => {
                            s.push(*x);
                            i += 1;
                        }
                    }
                }
                Tok::Str(s)
            }
            d if d.is_ascii_digit() || (d == '-' && c.get(i + 1).is_some_and(char::is_ascii_digit)) => {
                i += 1;
                while c.get(i).is_some_and(|x| x.is_ascii_alphanumeric() || matches!(x, ':' | '.' | '+' | '-')) {
                    i += 1;
                }
                Tok::Num(c[start..i].iter().collect())
            }
            w if w.is_alphabetic() || w == '_' || w == '$' || w == '@' => {
                i += 1;
                while c.get(i).is_some_and(|x| x.is_alphanumeric() || matches!(x, '_' | '.' | '/' | '@')) {
                    i += 1;
                }
                Tok::Word(c[start..i].iter().collect())
            }
            other => return Err(err(option, start, format!("Unexpected character '{other}'"))),
        };
        out.push((start, tok));
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    at: usize,
    /// Length of the text in characters: where "the end" is.
    end: usize,
    depth: usize,
}

impl Parser {
    fn pos(&self) -> usize {
        self.toks.get(self.at).map_or(self.end, |(p, _)| *p)
    }

    fn error(&self, message: impl Into<String>) -> QueryError {
        err("$filter", self.pos(), message)
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(_, t)| t)
    }

    fn peek_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).map(|(_, t)| t.clone());
        self.at += 1;
        t
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<(), QueryError> {
        if self.peek() == Some(&want) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(format!("Expected {what}")))
        }
    }

    fn nest(&mut self) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("The expression nests deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        self.chain("or", Self::and, Expr::Or)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        self.chain("and", Self::unary, Expr::And)
    }

    /// `operand (word operand)*`, folded to the left.
    fn chain(
        &mut self,
        word: &str,
        operand: fn(&mut Self) -> Result<Expr, QueryError>,
        join: fn(Box<Expr>, Box<Expr>) -> Expr,
    ) -> Result<Expr, QueryError> {
        let mut left = operand(self)?;
        while self.peek_word(word) {
            self.at += 1;
            let right = operand(self)?;
            left = join(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if self.peek_word("not") {
            self.at += 1;
            self.nest()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        match self.peek() {
            Some(Tok::Open) => {
                self.at += 1;
                self.nest()?;
                let inner = self.or()?;
                self.expect(Tok::Close, "')'")?;
                self.depth -= 1;
                Ok(inner)
            }
            Some(Tok::Word(w)) => {
                let w = w.clone();
                let is_call = matches!(self.toks.get(self.at + 1), Some((_, Tok::Open)));
                if is_call {
                    return self.call(&w);
                }
                if is_keyword(&w) {
                    return Err(self.error(format!("Expected a property name, found '{w}'")));
                }
                self.at += 1;
                self.comparison(w)
            }
            Some(_) => Err(self.error("Expected a property name, a function or '('")),
            None => Err(self.error("The expression ends where a condition was expected")),
        }
    }

    fn call(&mut self, name: &str) -> Result<Expr, QueryError> {
        let start = self.pos();
        self.at += 2; // name and '('
        if name.eq_ignore_ascii_case("isof") {
            let Some(Tok::Str(t)) = self.bump() else {
                self.at -= 1;
                return Err(
                    self.error("isof takes a quoted type name, e.g. isof('microsoft.graph.exchangeRestoreSession')")
                );
            };
            self.expect(Tok::Close, "')' closing isof")?;
            return Ok(Expr::IsOf(t));
        }
        let Some((_, func)) = StrFunc::ALL.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
            return Err(err(
                "$filter",
                start,
                format!("Unsupported function '{name}'; supported: startswith, endswith, contains, isof"),
            ));
        };
        let property = match self.bump() {
            Some(Tok::Word(p)) if !is_keyword(&p) => p,
            _ => {
                self.at -= 1;
                return Err(self.error(format!("{name} takes a property name first")));
            }
        };
        self.expect(Tok::Comma, "','")?;
        let Some(Tok::Str(value)) = self.bump() else {
            self.at -= 1;
            return Err(self.error(format!("{name} takes a quoted string second")));
        };
        self.expect(Tok::Close, &format!("')' closing {name}"))?;
        let call = Expr::Func { func: *func, property, value };
        // `startswith(p,'x') eq true` is the same condition written longer.
        if self.peek_word("eq") || self.peek_word("ne") {
            let negate_op = self.peek_word("ne");
            let save = self.at;
            self.at += 1;
            match self.bump() {
                Some(Tok::Word(b)) if b.eq_ignore_ascii_case("true") || b.eq_ignore_ascii_case("false") => {
                    let want = b.eq_ignore_ascii_case("true") != negate_op;
                    return Ok(if want { call } else { Expr::Not(Box::new(call)) });
                }
                _ => {
                    self.at = save + 1;
                    return Err(self.error("A function's result compares with true or false only"));
                }
            }
        }
        Ok(call)
    }

    fn comparison(&mut self, property: String) -> Result<Expr, QueryError> {
        if self.peek_word("in") {
            self.at += 1;
            self.expect(Tok::Open, "'(' after in")?;
            let mut values = vec![self.literal()?];
            while self.peek() == Some(&Tok::Comma) {
                self.at += 1;
                values.push(self.literal()?);
            }
            self.expect(Tok::Close, "',' or ')' in the in list")?;
            return Ok(Expr::In { property, values });
        }
        let op = match self.peek() {
            Some(Tok::Word(w)) => CmpOp::ALL.iter().find(|(n, _)| n.eq_ignore_ascii_case(w)).map(|(_, o)| *o),
            _ => None,
        };
        let Some(op) = op else {
            return Err(self.error(format!("Expected an operator (eq, ne, gt, ge, lt, le, in) after '{property}'")));
        };
        self.at += 1;
        let value = self.literal()?;
        Ok(Expr::Cmp { property, op, value })
    }

    fn literal(&mut self) -> Result<Literal, QueryError> {
        let here = self.pos();
        match self.bump() {
            Some(Tok::Str(s)) => Ok(Literal::Str(s)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Ok(Literal::Null),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Ok(Literal::Bool(false)),
            Some(Tok::Num(n)) => {
                if let Ok(i) = n.parse::<i64>() {
                    return Ok(Literal::Int(i));
                }
                DateTime::parse_from_rfc3339(&n).map(|t| Literal::DateTime(t.with_timezone(&Utc))).map_err(|_| {
                    err(
                        "$filter",
                        here,
                        format!("'{n}' is neither an integer nor a date and time like 2026-01-01T00:00:00Z"),
                    )
                })
            }
            _ => {
                self.at -= 1;
                Err(err(
                    "$filter",
                    here,
                    "Expected a value: a quoted string, a number, a date and time, true, false or null",
                ))
            }
        }
    }
}

fn is_keyword(w: &str) -> bool {
    ["and", "or", "not", "in", "eq", "ne", "gt", "ge", "lt", "le", "true", "false", "null"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(w))
}

/// Parses a `$filter` value.
pub fn parse_filter(text: &str) -> Result<Expr, QueryError> {
    let len = text.chars().count();
    if len > MAX_FILTER_LEN {
        return Err(err("$filter", MAX_FILTER_LEN, format!("The filter is longer than {MAX_FILTER_LEN} characters")));
    }
    let mut p = Parser { toks: tokens(text, "$filter")?, at: 0, end: len, depth: 0 };
    if p.toks.is_empty() {
        return Err(err("$filter", 0, "The filter is empty"));
    }
    let e = p.or()?;
    if p.at < p.toks.len() {
        return Err(p.error("Expected 'and', 'or' or the end of the filter"));
    }
    Ok(e)
}

/// One `$orderby` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub property: String,
    pub desc: bool,
    /// Where the property starts, for refusals made later (unknown property).
    pub position: usize,
}

/// Parses an `$orderby` value: `prop [asc|desc], ...`.
pub fn parse_orderby(text: &str) -> Result<Vec<OrderItem>, QueryError> {
    let toks = tokens(text, "$orderby")?;
    let end = text.chars().count();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let (position, property) = match toks.get(i) {
            Some((p, Tok::Word(w))) => (*p, w.clone()),
            Some((p, _)) => return Err(err("$orderby", *p, "Expected a property name")),
            None => return Err(err("$orderby", end, "Expected a property name")),
        };
        i += 1;
        let mut desc = false;
        if let Some((_, Tok::Word(d))) = toks.get(i) {
            if d.eq_ignore_ascii_case("desc") || d.eq_ignore_ascii_case("asc") {
                desc = d.eq_ignore_ascii_case("desc");
                i += 1;
            }
        }
        out.push(OrderItem { property, desc, position });
        match toks.get(i) {
            None => return Ok(out),
            Some((_, Tok::Comma)) => i += 1,
            Some((p, _)) => return Err(err("$orderby", *p, "Expected ',', 'asc', 'desc' or the end")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(text: &str) -> usize {
        parse_filter(text).unwrap_err().position
    }

    #[test]
    fn what_graph_clients_write() {
        for text in [
            "status eq 'draft'",
            "status eq 'draft' or status eq 'active'",
            "not (status eq 'draft') and createdDateTime ge 2026-01-01T00:00:00Z",
            "createdBy/user/id eq 'abc'",
            "status in ('draft', 'active')",
            "startswith(displayName, 'Fin') and contains(displayName,'x')",
            "isof('microsoft.graph.exchangeRestoreSession')",
            "restorePoint/id eq 'rp'",
            "completionDateTime eq null",
            "startswith(displayName,'a') eq false",
            "STATUS EQ 'draft' AND Not Contains(x, 'y')",
        ] {
            let e = parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parse_filter(&e.to_string()).unwrap(), e, "{text}");
        }
        assert_eq!(
            parse_filter("startswith(displayName,'a') eq false").unwrap(),
            Expr::Not(Box::new(Expr::Func {
                func: StrFunc::StartsWith,
                property: "displayName".into(),
                value: "a".into()
            }))
        );
    }

    #[test]
    fn refusals_point_at_the_place() {
        assert_eq!(pos(""), 0);
        assert_eq!(pos("status eq"), 9);
        assert_eq!(pos("status is 'draft'"), 7);
        assert_eq!(pos("status eq 'draft"), 10);
        assert_eq!(pos("(status eq 'a'"), 14);
        assert_eq!(pos("status eq 'a' xor"), 14);
        assert_eq!(pos("length(status) eq 1"), 0);
        assert_eq!(pos("createdDateTime gt 2026-13-01"), 19);
        assert_eq!(pos("status eq 'a' and #"), 18);
        assert_eq!(pos("and eq 1"), 0);
    }

    #[test]
    fn orderby() {
        let o = parse_orderby("createdDateTime desc, status,id ASC").unwrap();
        assert_eq!(o.len(), 3);
        assert!(o[0].desc && !o[1].desc && !o[2].desc);
        assert_eq!(parse_orderby("a desc desc").unwrap_err().position, 7);
        assert_eq!(parse_orderby("").unwrap_err().position, 0);
        assert_eq!(parse_orderby("a,").unwrap_err().position, 2);
    }
}
