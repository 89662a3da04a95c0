//! The binary's content commands: `bench content`'s report, and `seed --content`, `verify`,
//! `import`, `keys` and `gc` on one data dir.

use serde_json::{json, Value};

use crate::process::run;

#[test]
fn bench_content_ingests_versions_and_reports_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(&[
        "bench",
        "content",
        "--size",
        "3MiB",
        "--versions",
        "2",
        "--no-peers",
        "--json",
        "--work-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let (table, json) = out.trim_end().rsplit_once('\n').unwrap();
    assert!(table.contains("first ingest MB/s") && table.contains("\nbackstore "), "{table}");
    let report: Value = serde_json::from_str(json).unwrap();
    assert_eq!(report["versionBytes"].as_array().unwrap().len(), 3);
    let ours = &report["tools"][0];
    assert_eq!(ours["tool"], "backstore");
    assert_eq!(ours["seconds"].as_array().unwrap().len(), 3);
    let stored = ours["storedBytes"].as_u64().unwrap();
    let first = report["versionBytes"][0].as_u64().unwrap();
    assert!(stored > 0 && stored < first * 2, "stored {stored} of {first}");
    assert!(report["rates"]["blake3"].as_f64().unwrap() > 0.0);
    // The work directory is gone afterwards.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn seed_content_gives_drives_that_change_between_points_and_import_syncs_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    // One unit of each kind, three points, 2 MiB of content each.
    let seed = |dir: &str| {
        run(&[
            "seed",
            "--data-dir",
            dir,
            "--tenant",
            "t-content",
            "--sites",
            "1",
            "--drives",
            "1",
            "--mailboxes",
            "1",
            "--restore-points",
            "3",
            "--content",
            "2MiB",
        ])
    };
    let (ok, out, err) = seed(&d);
    assert!(ok, "{err}");
    let seeded: Value = serde_json::from_str(&out).unwrap();
    let units = seeded["protectionUnits"].as_array().unwrap();
    for u in units {
        assert_eq!(u["restorePointIds"].as_array().unwrap().len(), 3, "{u}");
        if u["kind"] == "mailbox" {
            assert!(u.get("driveId").is_none());
            assert!(u["messageCount"].as_u64().unwrap() > 5 && u["bytes"].as_u64().unwrap() > 1_000_000, "{u}");
        } else {
            assert!(u["driveId"].as_str().unwrap().starts_with("b!"), "{u}");
            assert!(u["itemCount"].as_u64().unwrap() > 0 && u["bytes"].as_u64().unwrap() > 1_000_000, "{u}");
        }
    }
    // Each point of each drive and mailbox holds a tree of its own (three versions each), all sound.
    let (ok, out, err) = run(&["verify", "--data-dir", &d]);
    assert!(ok, "{err}");
    let found: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((found["snapshots"].as_u64(), found["damaged"].clone()), (Some(9), json!([])), "{found}");
    // The same seed gives the same mail.
    let again = tempfile::tempdir().unwrap();
    let (ok, out, err) = seed(&again.path().display().to_string());
    assert!(ok, "{err}");
    let twin: Value = serde_json::from_str(&out).unwrap();
    let mail = |v: &Value| {
        let u = v["protectionUnits"].as_array().unwrap().iter().find(|u| u["kind"] == "mailbox").unwrap().clone();
        (u["messageCount"].clone(), u["bytes"].clone())
    };
    assert_eq!(mail(&twin), mail(&seeded));

    // import makes a site's drive hold a directory; a second run changes nothing; an edit replaces.
    let local = tempfile::tempdir().unwrap();
    std::fs::create_dir(local.path().join("Imported reports")).unwrap();
    std::fs::write(local.path().join("Imported reports/q1.txt"), "first quarter").unwrap();
    std::fs::write(local.path().join("readme.md"), "# hello").unwrap();
    let site_url = units.iter().find(|u| u["kind"] == "site").unwrap()["siteWebUrl"].as_str().unwrap().to_owned();
    let import = |extra: &[&str]| {
        let mut args = vec!["import", "--data-dir", &d, "--tenant", "t-content"];
        args.extend_from_slice(extra);
        args.push(local.path().to_str().unwrap());
        run(&args)
    };
    let (ok, out, err) = import(&["--site", &site_url]);
    assert!(ok, "{err}");
    let first: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (first["files"].as_u64(), first["folders"].as_u64(), first["added"].as_u64()),
        (Some(2), Some(1), Some(3))
    );
    assert!(first["removed"].as_u64().unwrap() > 0, "the seeded files went: {first}");
    let (ok, out, _) = import(&["--site", &site_url]);
    assert!(ok);
    let again: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (again["added"].as_u64(), again["replaced"].as_u64(), again["removed"].as_u64()),
        (Some(0), Some(0), Some(0))
    );
    std::fs::write(local.path().join("readme.md"), "# hello, edited").unwrap();
    let (ok, out, _) = import(&["--site", &site_url]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["replaced"], 1);

    let (ok, _, err) = import(&["--user", "nobody@example.com"]);
    assert!(!ok);
    assert!(err.contains("no user 'nobody@example.com'"), "{err}");

    // Keys: rotate and re-seal, collect the old packs, retire the old key; everything still reads.
    let keys = |args: &[&str]| {
        let (ok, out, err) = run(&[&["keys"], args, &["--data-dir", &d, "--tenant", "t-content"]].concat());
        assert!(ok, "{err}");
        serde_json::from_str::<Value>(&out).unwrap()["tenants"][0].clone()
    };
    let listed = keys(&["list"]);
    assert_eq!((listed["currentKey"].as_u64(), listed["keys"].as_array().unwrap().len()), (Some(1), 1), "{listed}");
    let rotated = keys(&["rotate", "--reseal"]);
    assert_eq!(rotated["currentKey"], 2, "{rotated}");
    assert!(rotated["reseal"]["blobsResealed"].as_u64().unwrap() > 10, "{rotated}");
    let early = keys(&["retire"]);
    assert_eq!(early["retired"], json!([]), "the old packs still hold key 1's blobs: {early}");
    assert!(early["keys"][0]["sealedBlobs"].as_u64().unwrap() > 0, "{early}");
    let (ok, _, err) = run(&["gc", "--data-dir", &d, "--grace", "0s"]);
    assert!(ok, "{err}");
    let retired = keys(&["retire"]);
    assert_eq!(retired["retired"], json!([1]), "{retired}");
    assert_eq!(
        retired["keys"],
        json!([{"version": 2, "created": retired["keys"][0]["created"], "sealedBlobs": retired["keys"][0]["sealedBlobs"]}])
    );
    assert_eq!(keys(&["reseal", "--dry-run"])["reseal"]["packsRewritten"], 0);
    let (ok, out, err) = run(&["verify", "--data-dir", &d]);
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["damaged"], json!([]));
}
