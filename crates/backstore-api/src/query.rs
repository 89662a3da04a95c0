//! OData system query options as far as backstore serves them: `$top`, `$skiptoken`, `$select`,
//! `$expand`. Names are case-insensitive and the `$` is optional; an option not served yet is a 501,
//! a malformed one a 400. Never silently ignored.

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::ApiError;

/// Page size when `$top` is absent, and the largest `$top` (a larger one is capped).
pub const DEFAULT_PAGE_SIZE: i64 = 100;
pub const MAX_PAGE_SIZE: i64 = 999;

const SERVED: &[&str] = &["top", "skiptoken", "select", "expand"];
const NOT_SERVED_YET: &[&str] = &[
    "filter",
    "orderby",
    "skip",
    "count",
    "search",
    "format",
    "compute",
    "apply",
    "levels",
    "deltatoken",
    "index",
    "schemaversion",
    "id",
];

#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    pub top: Option<i64>,
    /// Keyset position decoded from `$skiptoken`.
    pub after: Option<i64>,
    pub select: Option<Vec<String>>,
    pub expand: Vec<String>,
    /// `$filter` as sent: only `restorePoints` reads it so far.
    pub filter: Option<String>,
    /// `$orderby` as sent: only `restorePoints` reads it so far.
    pub orderby: Option<String>,
    /// Every pair as sent, for building `@odata.nextLink`.
    pub raw: Vec<(String, String)>,
}

impl QueryOptions {
    pub fn page_size(&self) -> i64 {
        self.top.unwrap_or(DEFAULT_PAGE_SIZE).min(MAX_PAGE_SIZE)
    }

    /// Refuses what only `restorePoints` understands yet: `$filter`, `$orderby`, options inside `$expand`.
    pub fn only_general(&self) -> Result<(), ApiError> {
        let unserved = |what: &str| {
            Err(ApiError::NotImplemented(format!("{what} is not implemented by backstore on this collection yet.")))
        };
        if self.filter.is_some() {
            return unserved("The query option '$filter'");
        }
        if self.orderby.is_some() {
            return unserved("The query option '$orderby'");
        }
        if let Some(nested) = self.expand.iter().find(|i| i.contains('(')) {
            return unserved(&format!("Query options inside $expand ('{nested}')"));
        }
        Ok(())
    }

    /// Refuses options that make no sense on a single entity.
    pub fn for_entity(&self) -> Result<(), ApiError> {
        if self.top.is_some() || self.after.is_some() {
            return Err(ApiError::BadRequest("$top and $skiptoken apply to collections only.".into()));
        }
        Ok(())
    }
}

fn option_name(key: &str) -> Option<String> {
    let bare = key.strip_prefix('$').unwrap_or(key).to_ascii_lowercase();
    (SERVED.contains(&bare.as_str()) || NOT_SERVED_YET.contains(&bare.as_str())).then_some(bare)
}

fn list(value: &str, option: &str) -> Result<Vec<String>, ApiError> {
    let items: Vec<String> = value.split(',').map(|s| s.trim().to_owned()).collect();
    if items.iter().any(String::is_empty) {
        return Err(ApiError::BadRequest(format!("The ${option} value '{value}' has an empty item.")));
    }
    Ok(items)
}

pub fn parse(query: Option<&str>) -> Result<QueryOptions, ApiError> {
    let mut out = QueryOptions::default();
    let mut seen = Vec::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        out.raw.push((key.to_string(), value.to_string()));
        let Some(name) = option_name(&key) else {
            continue; // not an OData option: custom parameters are ignored, as Graph does
        };
        if seen.contains(&name) {
            return Err(ApiError::BadRequest(format!("Query option '${name}' was specified more than once.")));
        }
        seen.push(name.clone());
        match name.as_str() {
            "top" => {
                let top: i64 = value.trim().parse().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "Invalid value '{value}' for $top query option: expected a non-negative integer."
                    ))
                })?;
                out.top = Some(top);
            }
            "skiptoken" => out.after = Some(decode_skiptoken(&value)?),
            "select" => out.select = Some(list(&value, "select")?),
            "expand" => out.expand = list(&value, "expand")?,
            "filter" => out.filter = Some(value.to_string()),
            "orderby" => out.orderby = Some(value.to_string()),
            other => {
                return Err(ApiError::NotImplemented(format!(
                    "The query option '${other}' is not implemented by backstore yet."
                )))
            }
        }
    }
    Ok(out)
}

const TOKEN_PREFIX: &str = "seq:";

pub fn encode_skiptoken(after: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{after}"))
}

fn decode_skiptoken(token: &str) -> Result<i64, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix(TOKEN_PREFIX).and_then(|n| n.parse().ok()))
        .ok_or_else(|| ApiError::BadRequest(format!("The $skiptoken '{token}' is not valid.")))
}

/// Characters escaped in nextLink query strings: everything but unreserved ones and `$`.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'$');

/// The query string of the next page: the request's own options with `$skiptoken` replaced.
pub fn next_query(raw: &[(String, String)], after: i64) -> String {
    let mut parts: Vec<String> = raw
        .iter()
        .filter(|(k, _)| option_name(k).as_deref() != Some("skiptoken"))
        .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, QUERY), utf8_percent_encode(v, QUERY)))
        .collect();
    parts.push(format!("$skiptoken={}", encode_skiptoken(after)));
    parts.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let q = parse(Some("$TOP=5&expand=siteRestoreArtifacts&foo=bar")).unwrap();
        assert_eq!(q.top, Some(5));
        assert_eq!(q.expand, vec!["siteRestoreArtifacts"]);
        assert!(matches!(parse(Some("$top=-1")), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse(Some("$top=1&top=2")), Err(ApiError::BadRequest(_))));
        assert!(matches!(
            parse(Some("$filter=status eq 'draft'")).unwrap().only_general(),
            Err(ApiError::NotImplemented(_))
        ));
        assert!(matches!(parse(Some("$count=true")), Err(ApiError::NotImplemented(_))));
        assert!(matches!(parse(Some("$skiptoken=garbage")), Err(ApiError::BadRequest(_))));
        assert_eq!(parse(Some("$top=5000")).unwrap().page_size(), MAX_PAGE_SIZE);
        let next = next_query(&[("$top".into(), "2".into()), ("$skiptoken".into(), "x".into())], 7);
        let q = parse(Some(&next)).unwrap();
        assert_eq!((q.top, q.after), (Some(2), Some(7)));
        assert!(next.starts_with("$top=2&$skiptoken="));
    }
}
