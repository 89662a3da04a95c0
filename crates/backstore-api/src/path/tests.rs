//! Paths to targets: the forms of one path, casts, keys, and what is unknown or not served.

use super::*;

fn target(p: &str) -> Target {
    parse(p).unwrap().1
}

#[test]
fn forms_of_the_same_path() {
    let want = Target::Session { id: "abc".into(), workload: Some(Workload::SharePoint), base: false };
    for p in [
        "/v1.0/solutions/backupRestore/sharePointRestoreSessions/abc",
        "/beta/solutions/backupRestore/sharepointRestoreSessions('abc')",
        "/V1.0/Solutions/BackupRestore/SHAREPOINTRESTORESESSIONS(abc)/",
    ] {
        assert_eq!(target(p), want, "{p}");
    }
    assert_eq!(
        target("/v1.0/solutions/backupRestore/restoreSessions('a''b')/microsoft.graph.activate"),
        Target::Activate { id: "a'b".into(), workload: None }
    );
    assert_eq!(
        target("/v1.0/solutions/backupRestore/restoreSessions/microsoft.graph.exchangeRestoreSession"),
        Target::Sessions { workload: Some(Workload::Exchange), base: true }
    );
    assert_eq!(
        target("/v1.0/solutions/backupRestore/exchangeRestoreSessions/s/mailboxRestoreArtifacts/a/restorePoint"),
        Target::ArtifactRestorePoint {
            session: "s".into(),
            workload: Workload::Exchange,
            granular: false,
            id: "a".into()
        }
    );
}

#[test]
fn unknown_and_unimplemented() {
    assert!(matches!(parse("/v2/solutions/backupRestore"), Err(ApiError::ResourceNotFound(_))));
    assert!(matches!(parse("/v1.0/solutions/backupRestore/nope"), Err(ApiError::ResourceNotFound(_))));
    assert!(matches!(
        parse("/v1.0/solutions/backupRestore/sharePointRestoreSessions/x/mailboxRestoreArtifacts"),
        Err(ApiError::ResourceNotFound(_))
    ));
    assert_eq!(target("/beta/solutions/backupRestore/activityLogs"), Target::ActivityLogs);
    assert_eq!(
        target("/beta/solutions/backupRestore/exclusionUnits"),
        Target::Exclusions { workload: None, policy: None }
    );
    assert_eq!(
        target("/beta/solutions/backupRestore/sharePointProtectionPolicies/p1/siteExclusionUnits/e1"),
        Target::Exclusion { workload: Some(Workload::SharePoint), policy: Some("p1".into()), id: "e1".into() }
    );
    assert_eq!(
        target("/beta/solutions/backupRestore/siteExclusionUnitsBulkAdditionJobs"),
        Target::ExclusionJobs { workload: Workload::SharePoint, policy: None }
    );
    assert!(matches!(parse("/v1.0/solutions/backupRestore/siteExclusionUnits"), Err(ApiError::ResourceNotFound(_))));
    assert!(matches!(parse("/v1.0/solutions/backupRestore/activityLogs"), Err(ApiError::ResourceNotFound(_))));
    assert_eq!(
        target("/v1.0/solutions/backupRestore/browseSessions"),
        Target::BrowseSessions { workload: None, base: true }
    );
    assert_eq!(
        target("/beta/solutions/backupRestore/sharePointBrowseSessions/b1/microsoft.graph.browse"),
        Target::Browse { id: "b1".into(), workload: Some(Workload::SharePoint), token: None }
    );
    assert_eq!(
        target("/v1.0/solutions/backupRestore/browseSessions/b1/browse(nextFetchToken='a%3Db''c')"),
        Target::Browse { id: "b1".into(), workload: None, token: Some("a=b'c".into()) }
    );
    assert_eq!(
        target("/v1.0/solutions/backupRestore/browseSessions/microsoft.graph.oneDriveForBusinessBrowseSession"),
        Target::BrowseSessions { workload: Some(Workload::OneDrive), base: true }
    );
    assert_eq!(target("/v1.0/solutions/backupRestore/serviceApps"), Target::ServiceApps);
    assert_eq!(
        target("/beta/solutions/backupRestore/serviceApps('a1')/microsoft.graph.deactivate"),
        Target::ServiceAppAction { id: "a1".into(), activate: false }
    );
    assert_eq!(target("/v1.0/solutions/backupRestore/emailNotificationsSetting"), Target::NotificationSettings);
    assert_eq!(
        target("/v1.0/solutions/backupRestore/mailboxInclusionRules('r1')/deleteAndUnprotect"),
        Target::RuleAction { workload: Workload::Exchange, policy: None, id: "r1".into(), unprotect: true }
    );
    assert_eq!(
        target("/v1.0/solutions/backupRestore/restorePoints/microsoft.graph.search"),
        Target::RestorePointSearch
    );
    assert_eq!(
        target("/v1.0/solutions/backupRestore/protectionUnits/microsoft.graph.driveProtectionUnit"),
        Target::Units { workload: Some(Workload::OneDrive), base: true }
    );
    assert_eq!(
        target("/beta/solutions/backupRestore/SiteProtectionUnits('u1')"),
        Target::Unit { id: "u1".into(), workload: Some(Workload::SharePoint), base: false }
    );
    assert_eq!(
        target("/v1.0/solutions/backupRestore/protectionUnits('u1')/microsoft.graph.cancelOffboard"),
        Target::Offboard { id: "u1".into(), cancel: true }
    );
    assert_eq!(
        target("/v1.0/solutions/backupRestore/protectionPolicies/p1/microsoft.graph.sharePointProtectionPolicy"),
        Target::Policy { id: "p1".into(), workload: Some(Workload::SharePoint), base: true }
    );
    assert_eq!(
        target("/beta/solutions/backupRestore/exchangeProtectionPolicies('p1')/deactivate"),
        Target::PolicyAction { id: "p1".into(), workload: Some(Workload::Exchange), enable: false }
    );
    assert_eq!(
        target("/v1.0/solutions/backupRestore/oneDriveForBusinessProtectionPolicies/p1/driveProtectionUnits"),
        Target::PolicyUnits { policy: "p1".into(), workload: Workload::OneDrive }
    );
    assert!(matches!(
        parse("/v1.0/solutions/backupRestore/oneDriveForBusinessProtectionPolicies/p1/siteProtectionUnits"),
        Err(ApiError::ResourceNotFound(_))
    ));
    assert_eq!(
        target("/v1.0/solutions/backupRestore/sharePointProtectionPolicies/p1/siteInclusionRules('r1')/run"),
        Target::RuleAction {
            workload: Workload::SharePoint,
            policy: Some("p1".into()),
            id: "r1".into(),
            unprotect: false
        }
    );
    assert!(matches!(
        parse("/v1.0/solutions/backupRestore/sharePointProtectionPolicies/p1/driveInclusionRules"),
        Err(ApiError::ResourceNotFound(_))
    ));
    assert_eq!(
        target("/beta/solutions/backupRestore/sharePointRestoreSessions/x/granularSiteRestoreArtifacts"),
        Target::Artifacts { session: "x".into(), workload: Workload::SharePoint, granular: true }
    );
    assert!(matches!(
        parse(
            "/v1.0/solutions/backupRestore/sharePointRestoreSessions/x/granularSiteRestoreArtifacts/a,b/restorePoint"
        ),
        Err(ApiError::ResourceNotFound(_))
    ));
}

#[test]
fn the_admin_paths_that_read_a_point() {
    let admin = |p: &str| super::admin(p).map(|t| t.map_err(|e| e.status_and_code().1));
    assert_eq!(
        admin("/admin/browseSessions/s1/items/a%2Cb%2Cc%2Cd/content"),
        Some(Ok(Target::BrowseItemContent { id: "s1".into(), key: "a,b,c,d".into() }))
    );
    assert_eq!(admin("/admin/restorePoints/p1/items"), Some(Ok(Target::PointItems { id: "p1".into() })));
    assert_eq!(
        admin("/admin/restorePoints/p1/items/i%201/content"),
        Some(Ok(Target::PointItemContent { id: "p1".into(), item: "i 1".into() }))
    );
    assert_eq!(admin("/admin/restorePointStats"), Some(Ok(Target::PointStats)));
    for missing in ["/admin/restorePoints/p1", "/admin/restorePoints//items", "/admin/browseSessions/s1/items/k"] {
        assert_eq!(admin(missing), Some(Err("ResourceNotFound")), "{missing}");
    }
    assert_eq!(admin("/admin/restorePoints/%FF/items"), Some(Err("BadRequest")));
    // Other admin paths are the admin router's, and Graph's are Graph's.
    assert_eq!(admin("/admin/clock"), None);
    assert_eq!(admin("/v1.0/solutions/backupRestore/restorePoints"), None);
}
