//! `$metadata`: the served CSDL document, read back with an XML parser of its own (not the code
//! that writes it), must declare every type, property and enum member the API serves, and every
//! `@odata.context` of the wire recordings (`wire.rs`) must resolve against it.

use std::collections::HashMap;

use backstore_domain::{ArtifactStatus, DestinationType, ProtectionUnitStatus, RestoreJobType, SessionStatus};
use quick_xml::events::{BytesStart, Event};
use reqwest::Method;
use serde_json::Value;

use crate::support::*;

const NS: &str = "microsoft.graph.";

#[derive(Debug, Default)]
struct Structured {
    base: Option<String>,
    open: bool,
    /// Property name → type (`Edm.String`, `Collection(microsoft.graph.x)`).
    properties: HashMap<String, String>,
    /// Navigation property name → type.
    navs: HashMap<String, String>,
}

/// What a `$metadata` document declares, by qualified name.
#[derive(Debug, Default)]
pub struct Csdl {
    types: HashMap<String, Structured>,
    enums: HashMap<String, (bool, Vec<String>)>,
    singletons: HashMap<String, String>,
    entity_sets: HashMap<String, String>,
    /// Bound operations: (name, binding type).
    operations: Vec<(String, String)>,
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name).ok().flatten().map(|a| String::from_utf8_lossy(&a.value).into_owned())
}

impl Csdl {
    pub fn parse(xml: &str) -> Csdl {
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut c = Csdl::default();
        let mut current_type: Option<String> = None;
        let mut current_enum: Option<String> = None;
        let mut operation: Option<String> = None;
        loop {
            let event = reader.read_event().expect("well-formed XML");
            let (e, empty) = match &event {
                Event::Start(e) => (e.clone(), false),
                Event::Empty(e) => (e.clone(), true),
                Event::End(e) => {
                    match e.name().as_ref() {
                        b"EntityType" | b"ComplexType" => current_type = None,
                        b"EnumType" => current_enum = None,
                        b"Action" | b"Function" => operation = None,
                        _ => {}
                    }
                    continue;
                }
                Event::Eof => break,
                _ => continue,
            };
            let name = attr(&e, "Name").unwrap_or_default();
            match e.name().as_ref() {
                b"EntityType" | b"ComplexType" => {
                    let t = Structured {
                        base: attr(&e, "BaseType"),
                        open: attr(&e, "OpenType").as_deref() == Some("true"),
                        ..Structured::default()
                    };
                    c.types.insert(format!("{NS}{name}"), t);
                    if !empty {
                        current_type = Some(format!("{NS}{name}"));
                    }
                }
                b"Property" | b"NavigationProperty" => {
                    let t = c.types.get_mut(current_type.as_ref().expect("a member inside a type")).unwrap();
                    let of = attr(&e, "Type").expect("a member has a type");
                    match e.name().as_ref() {
                        b"Property" => t.properties.insert(name, of),
                        _ => t.navs.insert(name, of),
                    };
                }
                b"EnumType" => {
                    let flags = attr(&e, "IsFlags").as_deref() == Some("true");
                    c.enums.insert(format!("{NS}{name}"), (flags, Vec::new()));
                    current_enum = Some(format!("{NS}{name}"));
                }
                b"Member" => {
                    let list = &mut c.enums.get_mut(current_enum.as_ref().expect("a member in an enum")).unwrap().1;
                    list.push(name);
                }
                b"Singleton" => {
                    c.singletons.insert(name, attr(&e, "Type").expect("a singleton has a type"));
                }
                b"EntitySet" => {
                    c.entity_sets.insert(name, attr(&e, "EntityType").expect("an entity set has a type"));
                }
                b"Action" | b"Function" => operation = Some(name),
                b"Parameter" if attr(&e, "Name").as_deref() == Some("bindingParameter") => {
                    let op = operation.clone().expect("a parameter in an operation");
                    c.operations.push((op, attr(&e, "Type").expect("a parameter has a type")));
                }
                _ => {}
            }
        }
        c
    }

    /// The property or navigation property `name` of `ty` or one of its bases: (type, is a nav).
    fn member(&self, ty: &str, name: &str) -> Option<(String, bool)> {
        let mut at = Some(ty.to_owned());
        while let Some(t) = at {
            let s = self.types.get(&t)?;
            if let Some(of) = s.properties.get(name) {
                return Some((of.clone(), false));
            }
            if let Some(of) = s.navs.get(name) {
                return Some((of.clone(), true));
            }
            at = s.base.clone();
        }
        None
    }

    fn derives(&self, ty: &str, from: &str) -> bool {
        let mut at = Some(ty.to_owned());
        while let Some(t) = at {
            if t == from {
                return true;
            }
            at = self.types.get(&t).and_then(|s| s.base.clone());
        }
        false
    }

    fn is_open(&self, ty: &str) -> bool {
        let mut at = Some(ty.to_owned());
        while let Some(t) = at {
            match self.types.get(&t) {
                Some(s) if s.open => return true,
                Some(s) => at = s.base.clone(),
                None => return false,
            }
        }
        false
    }

    /// What a context URL's fragment names: (type, is a collection).
    pub fn resolve(&self, fragment: &str) -> Result<(String, bool), String> {
        let (path, entity) = match fragment.strip_suffix("/$entity") {
            Some(p) => (p, true),
            None => (fragment, false),
        };
        if let Some(inner) = path.strip_prefix("Collection(").and_then(|p| p.strip_suffix(')')) {
            // Graph writes some collections' types unqualified (`Collection(driveItem)`).
            let qualified = if inner.contains('.') { inner.to_owned() } else { format!("{NS}{inner}") };
            return self.declared(&qualified).map(|t| (t, true));
        }
        if path.starts_with(NS) && !path.contains('/') {
            return self.declared(path).map(|t| (t, false));
        }
        let mut segments = path.split('/');
        let first = segments.next().unwrap_or_default();
        let (name, keyed) = match first.split_once('(') {
            Some((n, _)) => (n, true),
            None => (first, false),
        };
        let (mut ty, mut many) = match (self.singletons.get(name), self.entity_sets.get(name)) {
            (Some(t), _) if !keyed => (t.clone(), false),
            (_, Some(t)) => (t.clone(), !keyed),
            _ => return Err(format!("no singleton or entity set '{first}'")),
        };
        for seg in segments {
            let (name, keyed) = match seg.split_once('(') {
                Some((n, _)) => (n, true),
                None => (seg, false),
            };
            if name.starts_with(NS) {
                let cast = self.declared(name)?;
                if !self.derives(&cast, &ty) {
                    return Err(format!("{cast} is not a {ty}"));
                }
                ty = cast;
                continue;
            }
            let (of, nav) = self.member(&ty, name).ok_or_else(|| format!("{ty} has no '{name}'"))?;
            if !nav {
                return Err(format!("{ty}.{name} is not a navigation property"));
            }
            match of.strip_prefix("Collection(").and_then(|o| o.strip_suffix(')')) {
                Some(inner) => (ty, many) = (inner.to_owned(), !keyed),
                None => (ty, many) = (of, false),
            }
        }
        Ok((ty, many && !entity))
    }

    fn declared(&self, name: &str) -> Result<String, String> {
        if self.types.contains_key(name) || self.enums.contains_key(name) {
            Ok(name.to_owned())
        } else {
            Err(format!("'{name}' is not declared"))
        }
    }

    /// Every way `v` (at `at`) is not a value of `ty`.
    pub fn check(&self, ty: &str, v: &Value, at: &str, problems: &mut Vec<String>) {
        if v.is_null() {
            return;
        }
        if let Some(inner) = ty.strip_prefix("Collection(").and_then(|t| t.strip_suffix(')')) {
            match v.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check(inner, item, &format!("{at}[{i}]"), problems);
                    }
                }
                None => problems.push(format!("{at}: not a collection of {inner}")),
            }
            return;
        }
        let fits = match ty {
            "Edm.String" | "Edm.DateTimeOffset" | "Edm.Duration" | "Edm.Binary" => v.is_string(),
            "Edm.Int32" | "Edm.Int64" => v.is_i64() || v.is_u64(),
            "Edm.Boolean" => v.is_boolean(),
            _ => true,
        };
        if !fits {
            problems.push(format!("{at}: {v} is not an {ty}"));
            return;
        }
        if let Some((flags, members)) = self.enums.get(ty) {
            let text = v.as_str().unwrap_or_default();
            let names: Vec<&str> = if *flags { text.split(',').collect() } else { vec![text] };
            for n in names {
                if !members.iter().any(|m| m == n) {
                    problems.push(format!("{at}: '{n}' is not a member of {ty}"));
                }
            }
            return;
        }
        if !self.types.contains_key(ty) {
            if !ty.starts_with("Edm.") {
                problems.push(format!("{at}: type {ty} is not declared"));
            }
            return;
        }
        let Some(object) = v.as_object() else {
            problems.push(format!("{at}: not an object of {ty}"));
            return;
        };
        let mut ty = ty.to_owned();
        if let Some(t) = object.get("@odata.type").and_then(Value::as_str) {
            let named = t.trim_start_matches('#');
            if !self.types.contains_key(named) || !self.derives(named, &ty) {
                problems.push(format!("{at}: @odata.type {t} is not a declared {ty}"));
                return;
            }
            ty = named.to_owned();
        }
        for (key, value) in object {
            if key.starts_with('@') {
                continue;
            }
            // `name@odata.nextLink`, `name@delta`: annotations of a declared member.
            let (name, annotation) = match key.split_once('@') {
                Some((n, _)) => (n, true),
                None => (key.as_str(), false),
            };
            match self.member(&ty, name) {
                Some(_) if annotation => {}
                Some((of, _)) => self.check(&of, value, &format!("{at}.{name}"), problems),
                None if self.is_open(&ty) => {}
                None => problems.push(format!("{at}: {ty} declares no '{name}'")),
            }
        }
    }
}

async fn document(app: &TestApp, version: &str) -> Csdl {
    let r = app.send(Method::GET, &format!("{}/{version}/$metadata", app.origin), None, None, &[]).await;
    r.expect(200);
    assert_eq!(r.header("content-type"), Some("application/xml"));
    assert_eq!(r.header("odata-version"), Some("4.0"));
    Csdl::parse(&r.text)
}

/// The wire recording of `version` against its `$metadata`: every answer with a context must be
/// what the context says, in every member. Called by the wire test with its recording.
pub async fn check_recording(app: &TestApp, version: &str, answers: &Value) {
    check_answers(app, version, answers, &format!("http://[server]/{version}/$metadata#"), 50).await;
}

/// Every answer of `answers` (by name, each `{"body"}`) whose context starts with `prefix`, against
/// `version`'s `$metadata`; at least `least` of them.
pub async fn check_answers(app: &TestApp, version: &str, answers: &Value, prefix: &str, least: usize) {
    let csdl = document(app, version).await;
    let mut problems = Vec::new();
    let mut checked = 0;
    for (name, answer) in answers.as_object().expect("answers by name") {
        let body = &answer["body"];
        let Some(context) = body.get("@odata.context").and_then(Value::as_str) else { continue };
        let Some(fragment) = context.strip_prefix(prefix) else {
            problems.push(format!("{name}: context {context} is not of this version's $metadata"));
            continue;
        };
        match csdl.resolve(fragment) {
            Ok((ty, true)) => csdl.check(&format!("Collection({ty})"), &body["value"], name, &mut problems),
            Ok((ty, false)) => csdl.check(&ty, body, name, &mut problems),
            Err(e) => problems.push(format!("{name}: context {fragment}: {e}")),
        }
        checked += 1;
    }
    assert!(checked >= least, "only {checked} answers had a context");
    assert!(problems.is_empty(), "{version} answers $metadata does not describe:\n{}", problems.join("\n"));
}

/// The answers of a recording that have a context, each with the type the context names: objects
/// `{"name", "type", "collection", "body"}` (what the SDKs' model round trip reads).
#[allow(dead_code)] // read by the SDK tests, which only the SQLite suite has
pub async fn typed_answers(app: &TestApp, version: &str, raw: &serde_json::Map<String, Value>) -> Vec<Value> {
    let csdl = document(app, version).await;
    let prefix = format!("{}/{version}/$metadata#", app.origin);
    let mut out = Vec::new();
    for (name, body) in raw {
        let Some(context) = body.get("@odata.context").and_then(Value::as_str) else { continue };
        let fragment = context.strip_prefix(&prefix).unwrap_or_else(|| panic!("{name}: context {context}"));
        let (ty, collection) = csdl.resolve(fragment).unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push(serde_json::json!({ "name": name, "type": ty, "collection": collection, "body": body }));
    }
    out
}

#[tokio::test]
async fn metadata_is_public_xml_and_declares_every_enum_member_served() {
    let app = TestApp::spawn().await;
    for version in ["v1.0", "beta"] {
        let csdl = document(&app, version).await;
        let members = |name: &str| csdl.enums.get(&format!("{NS}{name}")).map(|e| e.1.clone()).unwrap_or_default();
        let served: [(&str, Vec<&str>); 6] = [
            ("restoreSessionStatus", SessionStatus::ALL.iter().map(|s| s.as_str()).collect()),
            ("artifactRestoreStatus", ArtifactStatus::ALL.iter().map(|s| s.as_str()).collect()),
            ("destinationType", DestinationType::ALL.iter().map(|s| s.as_str()).collect()),
            ("restoreJobType", RestoreJobType::ALL.iter().map(|s| s.as_str()).collect()),
            ("restorePointTags", backstore_domain::RestorePointTags::ALL.iter().map(|s| s.as_str()).collect()),
            ("protectionUnitStatus", ProtectionUnitStatus::ALL.iter().map(|s| s.as_str()).collect()),
        ];
        for (e, values) in served {
            let declared = members(e);
            for v in values {
                assert!(declared.iter().any(|d| d == v), "{version}: {e} lacks {v}");
            }
            assert!(declared.iter().any(|d| d == "unknownFutureValue"), "{version}: {e} lacks the sentinel");
        }
        // The bound operations the API serves, each on its type.
        for (op, on) in [
            ("enable", "backupRestoreRoot"),
            ("activate", "restoreSessionBase"),
            ("activate", "protectionPolicyBase"),
            ("offboard", "protectionUnitBase"),
            ("search", "Collection(microsoft.graph.restorePoint)"),
            ("browse", "browseSessionBase"),
        ] {
            let binding = if on.starts_with("Collection(") { on.to_owned() } else { format!("{NS}{on}") };
            assert!(csdl.operations.iter().any(|(n, b)| n == op && *b == binding), "{version}: {op} on {on}");
        }
        // Beta's own types are on beta only.
        let beta_only = csdl.types.contains_key("microsoft.graph.activityLogBase");
        assert_eq!(beta_only, version == "beta", "{version}: activityLogBase");
        // Contexts of the documented forms resolve.
        for (fragment, ty, many) in [
            ("solutions/backupRestore/$entity", "backupRestoreRoot", false),
            ("solutions/backupRestore/restoreSessions", "restoreSessionBase", true),
            (
                "solutions/backupRestore/sharePointRestoreSessions('x')/siteRestoreArtifacts",
                "siteRestoreArtifact",
                true,
            ),
            ("solutions/backupRestore/protectionUnits/microsoft.graph.siteProtectionUnit", "siteProtectionUnit", true),
            ("Collection(microsoft.graph.browseQueryResponseItem)", "browseQueryResponseItem", true),
        ] {
            assert_eq!(csdl.resolve(fragment), Ok((format!("{NS}{ty}"), many)), "{version}: {fragment}");
        }
        assert!(csdl.resolve("solutions/backupRestore/nothing").is_err());
    }
    // Only GET (and HEAD) read it.
    let r = app.send(Method::POST, &format!("{}/v1.0/$metadata", app.origin), None, None, &[]).await;
    r.expect_error(405, "MethodNotAllowed");
}

/// The files and mail paths' answers of `version` in a tenant of their own, by name (each
/// `{"body"}`): a mailbox's folders, a message with an attachment, a folder's messages and its
/// delta, a move; a site, its drives, a drive, items, children, an upload session, the drive's delta.
#[allow(dead_code)] // the SQLite suite's SDK tests read it too
pub async fn content_answers(app: &TestApp, version: &str) -> serde_json::Map<String, Value> {
    let tenant = format!("content-{version}");
    let seeded = app.seed(&tenant, 1, 1, 0, 1).await;
    let token = app.token(&tenant);
    let site = seeded.protection_units.iter().find(|u| u.kind == "site").unwrap().site_id.clone().unwrap();
    let mailbox = seeded.protection_units.iter().find(|u| u.kind == "mailbox").unwrap();
    let user = mailbox.directory_object_id.clone().unwrap();
    let at = |path: &str| format!("{}/{version}/{path}", app.origin);
    let mut answers = serde_json::Map::new();
    let mut keep = |name: &str, r: &Resp, status: u16| {
        r.expect(status);
        answers.insert(name.to_owned(), serde_json::json!({ "body": r.body }));
    };
    let base = at(&format!("users/{user}"));
    keep("folders", &app.get_abs(&format!("{base}/mailFolders?$top=5"), &token).await, 200);
    let folder = serde_json::json!({ "displayName": "Kept" });
    keep("folder-create", &app.post_abs(&format!("{base}/mailFolders"), &token, &folder).await, 201);
    keep("child-folders", &app.get_abs(&format!("{base}/mailFolders/inbox/childFolders"), &token).await, 200);
    let message = serde_json::json!({
        "subject": "Quarterly", "body": {"contentType": "text", "content": "See the report."},
        "toRecipients": [{"emailAddress": {"address": "a@contoso.com", "name": "A"}}],
        "attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "r.txt", "contentBytes": "YQ=="}]
    });
    let made = app.post_abs(&format!("{base}/mailFolders/inbox/messages"), &token, &message).await;
    keep("message-create", &made, 201);
    let id = made.body["id"].as_str().unwrap().to_owned();
    keep("message-get", &app.get_abs(&format!("{base}/messages/{id}"), &token).await, 200);
    keep("messages", &app.get_abs(&format!("{base}/mailFolders/inbox/messages"), &token).await, 200);
    keep("attachments", &app.get_abs(&format!("{base}/messages/{id}/attachments"), &token).await, 200);
    keep("delta", &app.get_abs(&format!("{base}/mailFolders/inbox/messages/delta"), &token).await, 200);
    let archive = serde_json::json!({"destinationId": "archive"});
    keep("move", &app.post_abs(&format!("{base}/messages/{id}/move"), &token, &archive).await, 201);
    keep("site", &app.get_abs(&at(&format!("sites/{site}")), &token).await, 200);
    keep("site-drives", &app.get_abs(&at(&format!("sites/{site}/drives")), &token).await, 200);
    let drive = app.get_abs(&at(&format!("sites/{site}/drive")), &token).await;
    keep("drive", &drive, 200);
    let d = drive.body["id"].as_str().unwrap().to_owned();
    keep("root", &app.get_abs(&at(&format!("drives/{d}/root")), &token).await, 200);
    let folder = serde_json::json!({ "name": "Reports", "folder": {} });
    keep("folder", &app.post_abs(&at(&format!("drives/{d}/root/children")), &token, &folder).await, 201);
    keep("children", &app.get_abs(&at(&format!("drives/{d}/root/children")), &token).await, 200);
    let upload = at(&format!("drives/{d}/root:/big.bin:/createUploadSession"));
    keep("upload-session", &app.post_abs(&upload, &token, &serde_json::json!({})).await, 200);
    keep("drive-delta", &app.get_abs(&at(&format!("drives/{d}/root/delta")), &token).await, 200);
    answers
}

/// The files and mail paths' answers are described by `$metadata` too, on both versions.
#[tokio::test]
async fn files_and_mail_answers_are_described_by_metadata() {
    let app = TestApp::spawn().await;
    for version in ["v1.0", "beta"] {
        let answers = content_answers(&app, version).await;
        let prefix = format!("{}/{version}/$metadata#", app.origin);
        check_answers(&app, version, &Value::Object(answers), &prefix, 14).await;
    }
}
