//! OData system query options: `$top`, `$skip`, `$skiptoken`, `$select`, `$expand`, `$filter`,
//! `$orderby`, `$count`. Names are case-insensitive and the `$` is optional; an option not served
//! (on this collection) is a 501, a malformed one a 400. Never silently ignored. `$filter` and
//! `$orderby` are kept as text here and planned per collection (`handlers::list_spec`).

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use backstore_store::Bind;

use crate::error::ApiError;

/// Page size when `$top` is absent, and the largest `$top` (a larger one is capped).
pub const DEFAULT_PAGE_SIZE: i64 = 100;
pub const MAX_PAGE_SIZE: i64 = 999;

const SERVED: &[&str] = &["top", "skiptoken", "select", "expand", "filter", "orderby", "skip", "count", "deltatoken"];
const NOT_SERVED_YET: &[&str] = &["search", "format", "compute", "apply", "levels", "index", "schemaversion", "id"];

#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    pub top: Option<i64>,
    /// Keyset position decoded from `$skiptoken`: the last row's sequence…
    pub after: Option<i64>,
    /// …and the values of its `$orderby` keys.
    pub after_keys: Vec<Bind>,
    pub skip: Option<i64>,
    /// `$count=true`
    pub count: bool,
    pub select: Option<Vec<String>>,
    pub expand: Vec<String>,
    /// `$filter` as sent.
    pub filter: Option<String>,
    /// `$orderby` as sent.
    pub orderby: Option<String>,
    /// `$deltatoken`, as text: only a delta function reads it (`handle` refuses it elsewhere).
    pub delta_token: Option<String>,
    /// Every pair as sent, for building `@odata.nextLink`.
    pub raw: Vec<(String, String)>,
}

impl QueryOptions {
    pub fn page_size(&self) -> i64 {
        self.top.unwrap_or(DEFAULT_PAGE_SIZE).min(MAX_PAGE_SIZE)
    }

    /// Refuses the options a collection does not serve: `$filter`, `$orderby`, `$skip`, nested
    /// `$expand` options, and `$count=true` unless `counted` (a collection that can count).
    pub fn only_general(&self, counted: bool) -> Result<(), ApiError> {
        let unserved = |what: &str| {
            Err(ApiError::NotImplemented(format!("{what} is not implemented by backstore on this collection yet.")))
        };
        for (name, given) in [
            ("filter", self.filter.is_some()),
            ("orderby", self.orderby.is_some()),
            ("skip", self.skip.is_some()),
            ("count", self.count && !counted),
        ] {
            if given {
                return unserved(&format!("The query option '${name}'"));
            }
        }
        if let Some(nested) = self.expand.iter().find(|i| i.contains('(')) {
            return unserved(&format!("Query options inside $expand ('{nested}')"));
        }
        Ok(())
    }

    /// Refuses options that make no sense on a single entity.
    pub fn for_entity(&self) -> Result<(), ApiError> {
        for (name, given) in [
            ("$top", self.top.is_some()),
            ("$skiptoken", self.after.is_some()),
            ("$skip", self.skip.is_some()),
            ("$filter", self.filter.is_some()),
            ("$orderby", self.orderby.is_some()),
            ("$count", self.count),
        ] {
            if given {
                return Err(ApiError::BadRequest(format!("{name} applies to collections only.")));
            }
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

/// `$expand` items split on the commas outside parentheses (`a($select=x,y),b`).
fn expand_items(value: &str) -> Result<Vec<String>, ApiError> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in value.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(value[start..i].trim().to_owned());
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(ApiError::BadRequest(format!("The $expand value '{value}' has an unmatched ')' at {i}.")));
        }
    }
    if depth != 0 {
        return Err(ApiError::BadRequest(format!("The $expand value '{value}' has an unclosed '('.")));
    }
    items.push(value[start..].trim().to_owned());
    if items.iter().any(String::is_empty) {
        return Err(ApiError::BadRequest(format!("The $expand value '{value}' has an empty item.")));
    }
    Ok(items)
}

/// An `$expand` item as navigation and its nested `$select` (the one nested option served).
pub fn expand_select(item: &str) -> Result<(&str, Option<Vec<String>>), ApiError> {
    let Some(open) = item.find('(') else {
        return Ok((item, None));
    };
    let nav = item[..open].trim();
    let inner = item[open + 1..].strip_suffix(')').unwrap_or(&item[open + 1..]).trim();
    let (name, value) = inner.split_once('=').unwrap_or((inner, ""));
    let name = name.trim().trim_start_matches('$');
    if !name.eq_ignore_ascii_case("select") || inner.contains(';') {
        return Err(ApiError::NotImplemented(format!(
            "Only $select is implemented inside $expand by backstore; got '{inner}'."
        )));
    }
    Ok((nav, Some(list(value, "select")?)))
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
            "top" => out.top = Some(non_negative(&value, "top")?),
            "skiptoken" => {
                let (seq, keys) = decode_skiptoken(&value)?;
                out.after = Some(seq);
                out.after_keys = keys;
            }
            "skip" => out.skip = Some(non_negative(&value, "skip")?),
            "count" => {
                out.count = match value.trim() {
                    v if v.eq_ignore_ascii_case("true") => true,
                    v if v.eq_ignore_ascii_case("false") => false,
                    _ => {
                        return Err(ApiError::BadRequest(format!(
                            "Invalid value '{value}' for $count query option: expected true or false."
                        )))
                    }
                }
            }
            "select" => out.select = Some(list(&value, "select")?),
            "expand" => out.expand = expand_items(&value)?,
            "filter" => out.filter = Some(value.to_string()),
            "orderby" => out.orderby = Some(value.to_string()),
            "deltatoken" => out.delta_token = Some(value.to_string()),
            other => {
                return Err(ApiError::NotImplemented(format!(
                    "The query option '${other}' is not implemented by backstore yet."
                )))
            }
        }
    }
    Ok(out)
}

/// A `$skiptoken`: the last row's sequence and `$orderby` key values, as URL-safe base64 of JSON.
pub fn encode_skiptoken(seq: i64, keys: &[Bind]) -> String {
    let keys: Vec<serde_json::Value> = keys
        .iter()
        .map(|k| match k {
            Bind::Text(s) => serde_json::Value::String(s.clone()),
            Bind::Int(i) => serde_json::Value::from(*i),
        })
        .collect();
    let json = serde_json::json!({ "s": seq, "k": keys });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
}

pub(crate) fn decode_skiptoken(token: &str) -> Result<(i64, Vec<Bind>), ApiError> {
    let bad = || ApiError::BadRequest(format!("The $skiptoken '{token}' is not valid."));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| bad())?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let seq = v["s"].as_i64().ok_or_else(bad)?;
    let keys = match &v["k"] {
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| match i {
                serde_json::Value::String(s) => Some(Bind::Text(s.clone())),
                other => other.as_i64().map(Bind::Int),
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    Ok((seq, keys))
}

/// Characters escaped in nextLink query strings: everything but unreserved ones and `$`.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'$');

/// The query string of the next page: the request's own options with `$skiptoken` replaced and
/// `$skip` dropped (the token already stands after the skipped rows).
pub fn next_query(raw: &[(String, String)], token: &str) -> String {
    with_option(raw, &["skiptoken", "skip"], "$skiptoken", token)
}

/// The query string of the next page of a collection paged by `$skip` (as Graph pages mail): the
/// request's own options with `$skip` set to `skip`.
pub fn skip_query(raw: &[(String, String)], skip: i64) -> String {
    with_option(raw, &["skip"], "$skip", &skip.to_string())
}

/// The request's own options without those named in `drop` (OData names, without `$`), then
/// `name=value`.
pub fn with_option(raw: &[(String, String)], drop: &[&str], name: &str, value: &str) -> String {
    let mut parts: Vec<String> = raw
        .iter()
        .filter(|(k, _)| option_name(k).is_none_or(|n| !drop.contains(&n.as_str())))
        .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, QUERY), utf8_percent_encode(v, QUERY)))
        .collect();
    parts.push(format!("{name}={}", utf8_percent_encode(value, QUERY)));
    parts.join("&")
}

/// The value of `$top` or `$skip`: a non-negative integer.
fn non_negative(value: &str, option: &str) -> Result<i64, ApiError> {
    value.trim().parse().ok().filter(|n: &i64| *n >= 0).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "Invalid value '{value}' for ${option} query option: expected a non-negative integer."
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let q = parse(Some("$TOP=5&expand=siteRestoreArtifacts&foo=bar")).unwrap();
        assert_eq!(q.top, Some(5));
        assert_eq!(q.expand, vec!["siteRestoreArtifacts"]);
        let q = parse(Some("$expand=siteRestoreArtifacts($select=id,status),x")).unwrap();
        assert_eq!(q.expand, vec!["siteRestoreArtifacts($select=id,status)", "x"]);
        assert_eq!(
            expand_select(&q.expand[0]).unwrap(),
            ("siteRestoreArtifacts", Some(vec!["id".into(), "status".into()]))
        );
        assert!(matches!(expand_select("a($filter=x eq 1)"), Err(ApiError::NotImplemented(_))));
        assert!(matches!(parse(Some("$expand=a(b")), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse(Some("$top=-1")), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse(Some("$top=1&top=2")), Err(ApiError::BadRequest(_))));
        assert!(matches!(
            parse(Some("$filter=status eq 'draft'")).unwrap().only_general(true),
            Err(ApiError::NotImplemented(_))
        ));
        assert!(parse(Some("$count=true")).unwrap().count);
        assert!(parse(Some("$count=true")).unwrap().only_general(true).is_ok());
        assert!(matches!(parse(Some("$count=true")).unwrap().only_general(false), Err(ApiError::NotImplemented(_))));
        assert!(matches!(parse(Some("$count=maybe")), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse(Some("$search=x")), Err(ApiError::NotImplemented(_))));
        assert!(matches!(parse(Some("$skiptoken=garbage")), Err(ApiError::BadRequest(_))));
        assert_eq!(parse(Some("$top=5000")).unwrap().page_size(), MAX_PAGE_SIZE);
        let token = encode_skiptoken(7, &[Bind::Text("a'b".into()), Bind::Int(-3)]);
        let raw = [("$top".into(), "2".into()), ("$skip".into(), "4".into()), ("$skiptoken".into(), "x".into())];
        let next = next_query(&raw, &token);
        let q = parse(Some(&next)).unwrap();
        assert_eq!((q.top, q.after, q.skip), (Some(2), Some(7), None));
        assert_eq!(q.after_keys, [Bind::Text("a'b".into()), Bind::Int(-3)]);
        assert!(next.starts_with("$top=2&$skiptoken="));
    }
}
