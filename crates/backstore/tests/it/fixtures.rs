//! Fixtures the tests share beside `TestApp`: the directory's sites and users, seeded restore
//! points by kind, the three workloads' names, and where the repository and its test tools are.

use backstore::seed::SeedReport;
use backstore_domain::restore::Resource;
use backstore_domain::Workload;
use serde_json::Value;

use crate::support::{Resp, TestApp};

/// Creates a policy of `w` (mailboxes or OneDrives) protecting user `n`'s.
pub async fn user_policy(app: &TestApp, token: &str, w: Workload, n: u32) -> Resp {
    let (set, nav) = match w {
        Workload::Exchange => ("exchangeProtectionPolicies", "mailboxProtectionUnits"),
        _ => ("oneDriveForBusinessProtectionPolicies", "driveProtectionUnits"),
    };
    let units = serde_json::json!([{ "directoryObjectId": user(w, n).resource.directory_object_id }]);
    app.post(set, token, &serde_json::json!({ nav: units })).await
}

/// The JSON body of the answer to a request.
pub async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// Restore point ids of the seeded units of one kind (`site`, `mailbox`, `drive`), unit by unit.
pub fn points(report: &SeedReport, kind: &str) -> Vec<Vec<String>> {
    report.protection_units.iter().filter(|u| u.kind == kind).map(|u| u.restore_point_ids.clone()).collect()
}

/// The three workloads as (typed set, artifact navigation, seed kind, @odata.type).
pub const KINDS: [(&str, &str, &str, &str); 3] = [
    ("sharePointRestoreSessions", "siteRestoreArtifacts", "site", "#microsoft.graph.sharePointRestoreSession"),
    ("exchangeRestoreSessions", "mailboxRestoreArtifacts", "mailbox", "#microsoft.graph.exchangeRestoreSession"),
    (
        "oneDriveForBusinessRestoreSessions",
        "driveRestoreArtifacts",
        "drive",
        "#microsoft.graph.oneDriveForBusinessRestoreSession",
    ),
];

/// Site `n` of the tenant directory the protection tests use.
pub fn site(n: u32) -> backstore_store::DirectoryResource {
    let resource = Resource {
        workload: Workload::SharePoint,
        site_id: Some(format!("contoso.sharepoint.com,{n:08}-0000-4000-8000-000000000000,web{n}")),
        site_name: Some(format!("Site {n}")),
        site_web_url: Some(format!("https://contoso.sharepoint.com/sites/site{n}")),
        directory_object_id: None,
        display_name: None,
        email: None,
    };
    backstore_store::DirectoryResource { resource, fault: None, groups: Vec::new() }
}

pub fn site_id(n: u32) -> String {
    site(n).resource.site_id.unwrap()
}

/// User `n`'s mailbox or OneDrive.
pub fn user(w: Workload, n: u32) -> backstore_store::DirectoryResource {
    let resource = Resource {
        workload: w,
        site_id: None,
        site_name: None,
        site_web_url: None,
        directory_object_id: Some(format!("{n:08}-1111-4000-8000-{}", w.unit_kind())),
        display_name: Some(format!("User {n}")),
        email: Some(format!("user{n}@contoso.onmicrosoft.com")),
    };
    backstore_store::DirectoryResource { resource, fault: None, groups: Vec::new() }
}

/// The repository's root directory.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The tests' Python and Node tools (the Graph SDKs, moto), installed once by `tests/sdk/setup.sh`
/// into `.cache/sdk` at the repository root, which this returns.
pub fn test_tools() -> std::path::PathBuf {
    let setup =
        std::process::Command::new("bash").arg(repo_root().join("tests/sdk/setup.sh")).output().expect("setup runs");
    assert!(setup.status.success(), "tests/sdk/setup.sh failed:\n{}", String::from_utf8_lossy(&setup.stderr));
    std::path::PathBuf::from(String::from_utf8(setup.stdout).unwrap().trim())
}
