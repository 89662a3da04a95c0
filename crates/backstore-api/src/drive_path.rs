//! Graph's file paths: `/drives/{id}`, `/sites/{id}/drive`, `/users/{id or upn}/drive`, then `root`
//! or `items/{id}`, optionally `:/relative/path:` (raw, or percent-encoded in one segment as the
//! SDKs send it), then `children` or `content`. Parsed from the raw path, not by the Backup Storage
//! path parser: file names may hold parentheses and other characters that parser gives meaning to.

use percent_encoding::percent_decode_str;

use crate::error::ApiError;

/// Which drive a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriveRef {
    Id(String),
    /// A site's default document library, by site id.
    Site(String),
    /// A user's OneDrive, by directory object id or user principal name.
    User(String),
}

/// Where an item path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemRef {
    Root,
    Id(String),
}

/// What follows the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    None,
    Children,
    Content,
    /// `delta`, `delta()` or `delta(token='…')` (the token, when the function call carries it).
    Delta(Option<String>),
    /// `createUploadSession`
    CreateUploadSession,
    /// The site itself (`/sites/{id}`, `/sites/{hostname}:/{path}`), with no item.
    Site,
    /// `/sites/{id}/drives`
    SiteDrives,
}

/// A drive, or an item of it (by id or root, then a relative path), and what of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrivePath {
    pub drive: DriveRef,
    /// `None`: the drive itself.
    pub item: Option<(ItemRef, Option<String>)>,
    pub tail: Tail,
}

/// Navigation and actions of items that Graph has and backstore does not serve yet.
const ITEM_UNIMPLEMENTED: &[&str] = &[
    "versions",
    "permissions",
    "thumbnails",
    "copy",
    "invite",
    "createLink",
    "preview",
    "checkin",
    "checkout",
    "listItem",
    "analytics",
    "search",
    "restore",
    "follow",
    "unfollow",
];

fn not_found(what: &str) -> ApiError {
    ApiError::ResourceNotFound(format!("Resource not found for the segment '{what}'."))
}

fn decode(s: &str) -> Result<String, ApiError> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| ApiError::BadRequest(format!("The path '{s}' is not valid UTF-8.")))
}

/// The next `/`-separated raw segment of `rest` (decoded) and what follows it.
fn next_segment(rest: &str) -> Option<(String, &str)> {
    let rest = rest.strip_prefix('/')?;
    if rest.is_empty() {
        return None;
    }
    let end = rest.find('/').unwrap_or(rest.len());
    Some((percent_decode_str(&rest[..end]).decode_utf8_lossy().into_owned(), &rest[end..]))
}

/// Parses the part of a path after `/{version}`; `None` when it is not a file path.
pub fn parse(after_version: &str) -> Option<Result<DrivePath, ApiError>> {
    let (first, rest) = next_segment(after_version)?;
    let drive = if first.eq_ignore_ascii_case("drives") {
        let Some((id, rest)) = next_segment(rest) else { return Some(Err(not_found("drives"))) };
        (DriveRef::Id(id), rest)
    } else if first.eq_ignore_ascii_case("sites") {
        return Some(site_path(&after_version[1 + first.len()..]));
    } else if first.eq_ignore_ascii_case("users") {
        let Some((id, rest)) = next_segment(rest) else { return Some(Err(not_found(&first))) };
        match next_segment(rest) {
            Some((nav, rest)) if nav.eq_ignore_ascii_case("drive") => (DriveRef::User(id), rest),
            Some((nav, _)) => {
                return Some(Err(ApiError::NotImplemented(format!(
                    "'{first}/{{id}}/{nav}' is part of Microsoft Graph but is not implemented by backstore yet."
                ))))
            }
            None => {
                return Some(Err(ApiError::NotImplemented(format!(
                    "'{first}/{{id}}' is part of Microsoft Graph but is not implemented by backstore yet; use \
                     '{first}/{{id}}/drive'."
                ))))
            }
        }
    } else {
        return None;
    };
    Some(item_path(drive.0, drive.1))
}

/// After `/sites`: `/{id}` or `/{hostname}:/{server-relative path}[:]`, then nothing (the site),
/// `/drives`, or `/drive…` (its document library and items).
fn site_path(rest: &str) -> Result<DrivePath, ApiError> {
    let rest = decode(rest)?;
    let rest = rest.strip_prefix('/').unwrap_or(&rest);
    let first = rest.split('/').next().unwrap_or(rest);
    if first.is_empty() {
        return Err(not_found("sites"));
    }
    let (key, after) = match first.find(':') {
        // `hostname:/sites/marketing` (to the closing `:` or the end).
        Some(colon) => {
            let host = &first[..colon];
            let path = &rest[colon + 1..];
            match path.find(':') {
                Some(close) => (format!("{host}:{}", &path[..close]), &path[close + 1..]),
                None => (format!("{host}:{path}"), ""),
            }
        }
        None => (first.to_owned(), &rest[first.len()..]),
    };
    let site = DriveRef::Site(key);
    let nav = after.trim_end_matches('/');
    if nav.is_empty() {
        return Ok(DrivePath { drive: site, item: None, tail: Tail::Site });
    }
    if nav.eq_ignore_ascii_case("/drives") {
        return Ok(DrivePath { drive: site, item: None, tail: Tail::SiteDrives });
    }
    if let Some(drive_rest) = strip_ci(nav, "/drive").filter(|r| r.is_empty() || r.starts_with('/')) {
        // Already decoded: encode `%` again so item_path's decoding leaves names as they are.
        return item_path(site, &drive_rest.replace('%', "%25"));
    }
    let nav = nav.trim_start_matches('/');
    Err(ApiError::NotImplemented(format!(
        "'sites/{{id}}/{nav}' is part of Microsoft Graph but is not implemented by backstore yet."
    )))
}

fn item_path(drive: DriveRef, rest: &str) -> Result<DrivePath, ApiError> {
    let rest = decode(rest)?;
    let mut rest = rest.as_str();
    if rest.is_empty() || rest == "/" {
        return Ok(DrivePath { drive, item: None, tail: Tail::None });
    }
    rest = rest.strip_prefix('/').unwrap_or(rest);
    // `root`, `root:…`, `items/{id}`, `items/{id}:…`
    let (start, after) = if let Some(r) = strip_ci(rest, "root") {
        (ItemRef::Root, r)
    } else if let Some(r) = strip_ci(rest, "items/") {
        let end = r.find(['/', ':']).unwrap_or(r.len());
        let id = &r[..end];
        if id.is_empty() {
            return Err(not_found("items"));
        }
        let start = if id.eq_ignore_ascii_case("root") { ItemRef::Root } else { ItemRef::Id(id.to_owned()) };
        (start, &r[end..])
    } else {
        let seg = rest.split('/').next().unwrap_or(rest);
        if ["special", "recent", "sharedWithMe", "following", "bundles", "list", "activities"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(seg))
        {
            return Err(ApiError::NotImplemented(format!(
                "'drive/{seg}' is part of Microsoft Graph but is not implemented by backstore yet."
            )));
        }
        return Err(not_found(seg));
    };
    let (path, after) = match after.strip_prefix(':') {
        Some(p) => match p.find(':') {
            Some(close) => (Some(&p[..close]), &p[close + 1..]),
            None => (Some(p), ""),
        },
        None => (None, after),
    };
    if let Some(p) = path {
        if !p.starts_with('/') && !p.is_empty() {
            return Err(ApiError::BadRequest(format!("The path '{p}' must start with '/'.")));
        }
    }
    let path = path.map(|p| p.trim_end_matches('/').to_owned()).filter(|p| !p.is_empty());
    let nav = after.trim_start_matches('/').trim_end_matches('/');
    let tail = if nav.is_empty() {
        Tail::None
    } else if nav.eq_ignore_ascii_case("children") {
        Tail::Children
    } else if nav.eq_ignore_ascii_case("content") || nav.eq_ignore_ascii_case("$value") {
        Tail::Content
    } else if nav.eq_ignore_ascii_case("createUploadSession")
        || nav.eq_ignore_ascii_case("microsoft.graph.createUploadSession")
    {
        Tail::CreateUploadSession
    } else if let Some(call) = strip_ci(nav, "delta").or_else(|| strip_ci(nav, "microsoft.graph.delta")) {
        match call {
            "" | "()" => Tail::Delta(None),
            args => {
                let inner = args.strip_prefix('(').and_then(|a| a.strip_suffix(')')).ok_or_else(|| not_found(nav))?;
                let (name, value) = inner.split_once('=').ok_or_else(|| not_found(nav))?;
                if !name.trim().eq_ignore_ascii_case("token") {
                    return Err(ApiError::BadRequest(format!(
                        "delta takes a 'token' parameter, not '{}'.",
                        name.trim()
                    )));
                }
                let value = value.trim();
                let value = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).unwrap_or(value);
                Tail::Delta(Some(value.replace("''", "'")))
            }
        }
    } else if let Some(name) = ITEM_UNIMPLEMENTED
        .iter()
        .find(|n| nav.eq_ignore_ascii_case(n) || nav.eq_ignore_ascii_case(&format!("microsoft.graph.{n}")))
    {
        return Err(ApiError::NotImplemented(format!(
            "'{name}' of drive items is part of Microsoft Graph but is not implemented by backstore yet."
        )));
    } else {
        return Err(not_found(nav));
    };
    Ok(DrivePath { drive, item: Some((start, path)), tail })
}

fn strip_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)).then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &str) -> DrivePath {
        parse(path).expect("a file path").expect("parses")
    }

    #[test]
    fn every_addressing_form_parses() {
        let d = || DriveRef::Id("b!x".into());
        assert_eq!(p("/drives/b!x"), DrivePath { drive: d(), item: None, tail: Tail::None });
        assert_eq!(
            p("/drives/b%21x/root"),
            DrivePath { drive: d(), item: Some((ItemRef::Root, None)), tail: Tail::None }
        );
        assert_eq!(p("/drives/b!x/items/root/children").item, Some((ItemRef::Root, None)));
        assert_eq!(p("/drives/b!x/items/root/children").tail, Tail::Children);
        let by_path = p("/drives/b!x/root:/a/b (1).txt:/content");
        assert_eq!(by_path.item, Some((ItemRef::Root, Some("/a/b (1).txt".into()))));
        assert_eq!(by_path.tail, Tail::Content);
        // The SDKs' form: the whole key encoded in one segment.
        let encoded = p("/drives/b%21x/items/root%3A%2Fa%2Fb%20%281%29.txt%3A/content");
        assert_eq!(encoded, by_path);
        assert_eq!(p("/drives/b!x/root:/a/b.txt").item, Some((ItemRef::Root, Some("/a/b.txt".into()))));
        assert_eq!(p("/drives/b!x/items/ID1:/sub:").item, Some((ItemRef::Id("ID1".into()), Some("/sub".into()))));
        assert_eq!(
            p("/sites/contoso.sharepoint.com,1,2/drive/root").drive,
            DriveRef::Site("contoso.sharepoint.com,1,2".into())
        );
        assert_eq!(p("/users/me@x.com/drive").drive, DriveRef::User("me@x.com".into()));
        assert!(parse("/solutions/backupRestore").is_none());
        assert!(matches!(parse("/drives/b!x/items/1/versions"), Some(Err(ApiError::NotImplemented(_)))));
        assert!(matches!(parse("/drives/b!x/bogus"), Some(Err(ApiError::ResourceNotFound(_)))));
        assert_eq!(p("/sites/s1").tail, Tail::Site);
        assert_eq!(p("/sites/s1/drives").tail, Tail::SiteDrives);
        let by_path = p("/sites/contoso.sharepoint.com:/sites/marketing:/drive/root:/a b.txt:/content");
        assert_eq!(by_path.drive, DriveRef::Site("contoso.sharepoint.com:/sites/marketing".into()));
        assert_eq!(by_path.item, Some((ItemRef::Root, Some("/a b.txt".into()))));
        assert_eq!(p("/sites/contoso.sharepoint.com:/sites/marketing").tail, Tail::Site);
        assert!(matches!(parse("/sites/s1/lists"), Some(Err(ApiError::NotImplemented(_)))));
        assert_eq!(p("/drives/b!x/root/delta").tail, Tail::Delta(None));
        assert_eq!(p("/drives/b!x/items/root/delta()").tail, Tail::Delta(None));
        assert_eq!(p("/drives/b!x/root/microsoft.graph.delta(token='abc')").tail, Tail::Delta(Some("abc".into())));
    }
}
