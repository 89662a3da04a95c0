//! Inclusion rule expressions (`siteExpression`, `mailboxExpression`, `driveExpression`): the
//! PowerShell-style filter language of the real service, parsed once and evaluated against the
//! tenant's directory.
//!
//! ```text
//! expr   := term ( "-or" term )*
//! term   := factor ( "-and" factor )*
//! factor := "-not" factor | "(" expr ")" | cond
//! cond   := PROPERTY OP STRING
//!         | PROPERTY "-in" "[" STRING ( "," STRING )* "]"
//!         | "memberOf" "-any" "(" "group.id" "-in" "[" STRING ( "," STRING )* "]" ")"
//! OP     := -eq -ne -contains -notContains -startsWith -endsWith   (case-insensitive)
//! STRING := '…' or "…" ('' or "" inside for the quote itself)
//! ```
//!
//! Sites know `displayName` and `webUrl`; mailboxes and OneDrives know `displayName`, `mail` and
//! `memberOf` (the owner's groups, at most [`MAX_RULE_GROUPS`] ids per expression). Comparisons
//! ignore case. Every refusal says at which character of the expression it happened.

use std::fmt;

use crate::enums::Workload;

/// Most group ids one expression may name (the real service answers 413 beyond).
pub const MAX_RULE_GROUPS: usize = 100;
/// Longest expression accepted.
pub const MAX_RULE_EXPRESSION_LEN: usize = 8192;
/// Deepest nesting of parentheses and `-not` accepted.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    DisplayName,
    WebUrl,
    Mail,
}

impl Property {
    fn name(self) -> &'static str {
        match self {
            Property::DisplayName => "displayName",
            Property::WebUrl => "webUrl",
            Property::Mail => "mail",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
}

impl Op {
    const ALL: [(&'static str, Op); 6] = [
        ("-eq", Op::Eq),
        ("-ne", Op::Ne),
        ("-contains", Op::Contains),
        ("-notContains", Op::NotContains),
        ("-startsWith", Op::StartsWith),
        ("-endsWith", Op::EndsWith),
    ];

    fn name(self) -> &'static str {
        Op::ALL.iter().find(|(_, o)| *o == self).map(|(n, _)| *n).unwrap_or("-eq")
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleExpr {
    Or(Vec<RuleExpr>),
    And(Vec<RuleExpr>),
    Not(Box<RuleExpr>),
    Compare { property: Property, op: Op, value: String },
    In { property: Property, values: Vec<String> },
    MemberOf { groups: Vec<String> },
}

/// Why an expression was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleExprError {
    /// Malformed, or naming something the workload does not know; `position` is 0-based, in characters.
    Invalid { position: usize, message: String },
    /// More than [`MAX_RULE_GROUPS`] group ids.
    TooManyGroups(usize),
}

impl fmt::Display for RuleExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleExprError::Invalid { position, message } => write!(f, "{message} (at position {position})"),
            RuleExprError::TooManyGroups(n) => {
                write!(f, "The expression names {n} groups; at most {MAX_RULE_GROUPS} are allowed.")
            }
        }
    }
}

/// What an expression is evaluated against: one resource of the tenant's directory.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleSubject<'a> {
    pub display_name: Option<&'a str>,
    pub web_url: Option<&'a str>,
    pub mail: Option<&'a str>,
    pub groups: &'a [String],
}

impl RuleExpr {
    /// Parses `text` as an expression over the properties of `workload`'s resources.
    pub fn parse(text: &str, workload: Workload) -> Result<RuleExpr, RuleExprError> {
        if text.chars().count() > MAX_RULE_EXPRESSION_LEN {
            return Err(RuleExprError::Invalid {
                position: MAX_RULE_EXPRESSION_LEN,
                message: format!("The expression is longer than {MAX_RULE_EXPRESSION_LEN} characters"),
            });
        }
        let mut p = Parser { chars: text.chars().collect(), pos: 0, workload, depth: 0 };
        p.skip_ws();
        if p.at_end() {
            return Err(p.error("The expression is empty"));
        }
        let expr = p.expr()?;
        p.skip_ws();
        if !p.at_end() {
            return Err(p.error("Expected '-and', '-or' or the end of the expression"));
        }
        let groups = expr.group_count();
        if groups > MAX_RULE_GROUPS {
            return Err(RuleExprError::TooManyGroups(groups));
        }
        Ok(expr)
    }

    fn group_count(&self) -> usize {
        match self {
            RuleExpr::Or(xs) | RuleExpr::And(xs) => xs.iter().map(RuleExpr::group_count).sum(),
            RuleExpr::Not(x) => x.group_count(),
            RuleExpr::MemberOf { groups } => groups.len(),
            RuleExpr::Compare { .. } | RuleExpr::In { .. } => 0,
        }
    }

    /// Whether `subject` matches.
    pub fn matches(&self, subject: &RuleSubject<'_>) -> bool {
        match self {
            RuleExpr::Or(xs) => xs.iter().any(|x| x.matches(subject)),
            RuleExpr::And(xs) => xs.iter().all(|x| x.matches(subject)),
            RuleExpr::Not(x) => !x.matches(subject),
            RuleExpr::Compare { property, op, value } => {
                let have = subject.get(*property).unwrap_or("").to_lowercase();
                let want = value.to_lowercase();
                match op {
                    Op::Eq => have == want,
                    Op::Ne => have != want,
                    Op::Contains => have.contains(&want),
                    Op::NotContains => !have.contains(&want),
                    Op::StartsWith => have.starts_with(&want),
                    Op::EndsWith => have.ends_with(&want),
                }
            }
            RuleExpr::In { property, values } => {
                let have = subject.get(*property).unwrap_or("");
                values.iter().any(|v| v.eq_ignore_ascii_case(have))
            }
            RuleExpr::MemberOf { groups } => {
                subject.groups.iter().any(|g| groups.iter().any(|want| want.eq_ignore_ascii_case(g)))
            }
        }
    }
}

impl RuleSubject<'_> {
    fn get(&self, p: Property) -> Option<&str> {
        match p {
            Property::DisplayName => self.display_name,
            Property::WebUrl => self.web_url,
            Property::Mail => self.mail,
        }
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn list(values: &[String]) -> String {
    values.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ")
}

/// The canonical text of an expression (fully parenthesised); it parses back to the same tree.
impl fmt::Display for RuleExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, xs: &[RuleExpr], sep: &str| {
            let parts: Vec<String> = xs.iter().map(|x| format!("({x})")).collect();
            write!(f, "{}", parts.join(sep))
        };
        match self {
            RuleExpr::Or(xs) => join(f, xs, " -or "),
            RuleExpr::And(xs) => join(f, xs, " -and "),
            RuleExpr::Not(x) => write!(f, "-not ({x})"),
            RuleExpr::Compare { property, op, value } => {
                write!(f, "{} {} {}", property.name(), op.name(), quote(value))
            }
            RuleExpr::In { property, values } => write!(f, "{} -in [{}]", property.name(), list(values)),
            RuleExpr::MemberOf { groups } => write!(f, "memberOf -any (group.id -in [{}])", list(groups)),
        }
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    workload: Workload,
    depth: usize,
}

impl Parser {
    fn error(&self, message: &str) -> RuleExprError {
        RuleExprError::Invalid { position: self.pos, message: message.to_owned() }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// A word: letters, digits, `.`, `_` and a leading `-` (operators).
    fn word_at(&self) -> String {
        let mut end = self.pos;
        if self.chars.get(end) == Some(&'-') {
            end += 1;
        }
        while self.chars.get(end).is_some_and(|c| c.is_alphanumeric() || *c == '.' || *c == '_') {
            end += 1;
        }
        self.chars[self.pos..end].iter().collect()
    }

    /// Consumes the keyword `kw` (case-insensitive) if it is next.
    fn keyword(&mut self, kw: &str) -> bool {
        self.skip_ws();
        let w = self.word_at();
        if w.eq_ignore_ascii_case(kw) {
            self.pos += w.chars().count();
            true
        } else {
            false
        }
    }

    fn expect_char(&mut self, c: char, what: &str) -> Result<(), RuleExprError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("Expected {what}")))
        }
    }

    fn nest(&mut self) -> Result<(), RuleExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!("The expression nests deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<RuleExpr, RuleExprError> {
        let mut terms = vec![self.term()?];
        while self.keyword("-or") {
            terms.push(self.term()?);
        }
        Ok(if terms.len() == 1 { terms.pop().expect("one term") } else { RuleExpr::Or(terms) })
    }

    fn term(&mut self) -> Result<RuleExpr, RuleExprError> {
        let mut factors = vec![self.factor()?];
        while self.keyword("-and") {
            factors.push(self.factor()?);
        }
        Ok(if factors.len() == 1 { factors.pop().expect("one factor") } else { RuleExpr::And(factors) })
    }

    fn factor(&mut self) -> Result<RuleExpr, RuleExprError> {
        self.skip_ws();
        if self.keyword("-not") {
            self.nest()?;
            let inner = self.factor()?;
            self.depth -= 1;
            return Ok(RuleExpr::Not(Box::new(inner)));
        }
        if self.peek() == Some('(') {
            self.pos += 1;
            self.nest()?;
            let inner = self.expr()?;
            self.expect_char(')', "')'")?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.condition()
    }

    fn property(&mut self) -> Result<Option<Property>, RuleExprError> {
        self.skip_ws();
        let start = self.pos;
        let w = self.word_at();
        if w.is_empty() || w.starts_with('-') {
            return Err(self.error("Expected a property name or '('"));
        }
        let known: &[(&str, Option<Property>)] = match self.workload {
            Workload::SharePoint => &[("displayName", Some(Property::DisplayName)), ("webUrl", Some(Property::WebUrl))],
            Workload::Exchange | Workload::OneDrive => {
                &[("displayName", Some(Property::DisplayName)), ("mail", Some(Property::Mail)), ("memberOf", None)]
            }
        };
        match known.iter().find(|(n, _)| n.eq_ignore_ascii_case(&w)) {
            Some((_, p)) => {
                self.pos += w.chars().count();
                Ok(*p)
            }
            None => {
                let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
                Err(RuleExprError::Invalid {
                    position: start,
                    message: format!(
                        "Unknown property '{w}' in a {} expression; known: {}",
                        self.workload.unit_kind(),
                        names.join(", ")
                    ),
                })
            }
        }
    }

    fn condition(&mut self) -> Result<RuleExpr, RuleExprError> {
        let Some(property) = self.property()? else {
            return self.member_of();
        };
        self.skip_ws();
        let at = self.pos;
        let w = self.word_at();
        if w.eq_ignore_ascii_case("-in") {
            self.pos += 3;
            return Ok(RuleExpr::In { property, values: self.string_list()? });
        }
        let Some((_, op)) = Op::ALL.iter().find(|(n, _)| n.eq_ignore_ascii_case(&w)) else {
            return Err(RuleExprError::Invalid {
                position: at,
                message: format!(
                    "Expected an operator (-eq, -ne, -contains, -notContains, -startsWith, -endsWith, -in) after '{}'",
                    property.name()
                ),
            });
        };
        self.pos += w.chars().count();
        let value = self.string()?;
        Ok(RuleExpr::Compare { property, op: *op, value })
    }

    fn member_of(&mut self) -> Result<RuleExpr, RuleExprError> {
        if !self.keyword("-any") {
            return Err(self.error("Expected '-any' after 'memberOf'"));
        }
        self.expect_char('(', "'(' after '-any'")?;
        if !self.keyword("group.id") {
            return Err(self.error("Expected 'group.id' inside memberOf -any (...)"));
        }
        if !self.keyword("-in") {
            return Err(self.error("Expected '-in' after 'group.id'"));
        }
        let groups = self.string_list()?;
        self.expect_char(')', "')' closing memberOf -any (...)")?;
        Ok(RuleExpr::MemberOf { groups })
    }

    fn string_list(&mut self) -> Result<Vec<String>, RuleExprError> {
        self.expect_char('[', "'[' starting a list")?;
        let mut out = vec![self.string()?];
        loop {
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    out.push(self.string()?);
                }
                Some(']') => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => return Err(self.error("Expected ',' or ']' in a list")),
            }
        }
    }

    fn string(&mut self) -> Result<String, RuleExprError> {
        self.skip_ws();
        let Some(q) = self.peek().filter(|c| *c == '\'' || *c == '"') else {
            return Err(self.error("Expected a quoted string"));
        };
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(RuleExprError::Invalid {
                        position: start,
                        message: "The string starting here is not closed".into(),
                    })
                }
                Some(c) if c == q => {
                    self.pos += 1;
                    if self.peek() == Some(q) {
                        out.push(q);
                        self.pos += 1;
                    } else {
                        return Ok(out);
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(name: &str, url: &str) -> (String, String) {
        (name.to_owned(), url.to_owned())
    }

    fn matches_site(expr: &str, s: &(String, String)) -> bool {
        let e = RuleExpr::parse(expr, Workload::SharePoint).unwrap();
        e.matches(&RuleSubject { display_name: Some(&s.0), web_url: Some(&s.1), ..Default::default() })
    }

    #[test]
    fn the_documented_site_example() {
        let expr = "((displayName -contains 'Finance') -or (displayName -contains 'Legal'))";
        assert!(matches_site(expr, &site("Finance Team", "https://c/sites/f")));
        assert!(matches_site(expr, &site("legal", "https://c/sites/l")));
        assert!(!matches_site(expr, &site("Marketing", "https://c/sites/m")));
    }

    #[test]
    fn operators_and_precedence() {
        let s = site("Sales EMEA", "https://contoso.sharepoint.com/sites/SalesEMEA");
        assert!(matches_site("webUrl -startsWith 'https://contoso.sharepoint.com/sites/sales'", &s));
        assert!(matches_site("displayName -endsWith 'emea' -and -not (displayName -eq 'x')", &s));
        assert!(matches_site("displayName -eq 'nope' -or displayName -ne 'nope' -and webUrl -contains 'Sales'", &s));
        assert!(matches_site("displayName -in ['Other', 'sales emea']", &s));
        assert!(!matches_site("displayName -notContains 'sales'", &s));
        assert!(matches_site("DISPLAYNAME -CONTAINS \"it's\" -or displayName -contains 'Sales'", &s));
    }

    #[test]
    fn member_of_groups() {
        let e = RuleExpr::parse("memberOf -any (group.id -in ['g1', 'G2'])", Workload::Exchange).unwrap();
        let groups = vec!["g2".to_owned()];
        assert!(e.matches(&RuleSubject { groups: &groups, ..Default::default() }));
        assert!(!e.matches(&RuleSubject::default()));
        let many: Vec<String> = (0..101).map(|i| format!("'g{i}'")).collect();
        let text = format!("memberOf -any (group.id -in [{}])", many.join(","));
        assert_eq!(RuleExpr::parse(&text, Workload::OneDrive), Err(RuleExprError::TooManyGroups(101)));
    }

    #[test]
    fn refusals_point_at_the_position() {
        let pos = |text: &str, w: Workload| match RuleExpr::parse(text, w) {
            Err(RuleExprError::Invalid { position, .. }) => position,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(pos("", Workload::SharePoint), 0);
        assert_eq!(pos("mail -eq 'a'", Workload::SharePoint), 0);
        assert_eq!(pos("displayName -like 'a'", Workload::SharePoint), 12);
        assert_eq!(pos("displayName -eq 'a", Workload::SharePoint), 16);
        assert_eq!(pos("(displayName -eq 'a'", Workload::SharePoint), 20);
        assert_eq!(pos("displayName -eq 'a' extra", Workload::SharePoint), 20);
        assert_eq!(pos("memberOf -all (group.id -in ['a'])", Workload::Exchange), 9);
        assert_eq!(pos("webUrl -eq 'a'", Workload::OneDrive), 0);
        let deep = format!("{}displayName -eq 'a'{}", "(".repeat(40), ")".repeat(40));
        assert!(pos(&deep, Workload::SharePoint) <= 40);
    }

    #[test]
    fn display_parses_back_to_the_same_tree() {
        for (text, w) in [
            ("((displayName -contains 'Fin''ance') -or (displayName -contains 'Legal'))", Workload::SharePoint),
            ("-not displayName -eq 'a' -and webUrl -in ['x','y'] -or webUrl -endsWith 'z'", Workload::SharePoint),
            ("memberOf -any (group.id -in ['a']) -and mail -startsWith 'j'", Workload::OneDrive),
        ] {
            let e = RuleExpr::parse(text, w).unwrap();
            assert_eq!(RuleExpr::parse(&e.to_string(), w).unwrap(), e, "{text}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        for text in ["(", ")", "-", "'", "[", "displayName", "displayName -in [", "displayName -in ['a',", "ü -eq 'x'"]
        {
            assert!(RuleExpr::parse(text, Workload::SharePoint).is_err(), "{text}");
        }
    }
}
