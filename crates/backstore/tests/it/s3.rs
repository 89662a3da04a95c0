//! The content store on an S3-compatible object store: moto's server on loopback (installed by
//! `tests/sdk/setup.sh`), the chunk index in the test's database.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use backstore_content::{Entry, Keyring, Objects, Repository, Tree, VerifyReport};
use futures::{StreamExt, TryStreamExt};

use crate::support::*;

/// moto's S3 server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    async fn start() -> Moto {
        let tools = test_tools();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(tools.join("venv/bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            // moto takes requests without checking signatures: a plain PUT makes the bucket.
            if let Ok(r) = client.put(format!("{}/backstore-test", moto.endpoint)).send().await {
                assert!(r.status().is_success(), "create bucket: {}", r.status());
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        moto
    }

    fn objects(&self) -> Objects {
        self.objects_at("s3://backstore-test/deployments/one")
    }

    fn objects_at(&self, url: &str) -> Objects {
        Objects::s3_with(
            url,
            &[
                ("aws_endpoint", self.endpoint.as_str()),
                ("aws_allow_http", "true"),
                ("aws_access_key_id", "testing"),
                ("aws_secret_access_key", "testing"),
                ("aws_region", "us-east-1"),
            ],
        )
        .unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn content_lives_on_an_s3_compatible_store() {
    let moto = Moto::start().await;
    let app = TestApp::spawn().await;
    // Small packs, so the file's first chunks sit apart from the manifest.
    let repo = Repository::new(moto.objects(), Keyring::new(app.data_dir().join("keys/content")), app.store())
        .with_pack_target(1 << 20);
    let mut doc = vec![0u8; 3 << 20];
    rand::RngCore::fill_bytes(&mut <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(4), &mut doc);

    let mut w = repo.writer(TENANT).unwrap();
    let c = w.write_bytes(&doc).await.unwrap();
    let note = w.write_bytes(b"hello from S3").await.unwrap();
    let root = w
        .write_tree(&Tree {
            entries: vec![
                Entry::file("doc.bin", "1", c.size, c.chunks.clone()),
                Entry::file("note.txt", "2", note.size, note.chunks.clone()),
            ],
        })
        .await
        .unwrap();
    w.flush().await.unwrap();
    let stats = w.stats();

    // A second handle on the same bucket (another process) reads it all back, checked.
    let other = Repository::new(moto.objects(), Keyring::new(app.data_dir().join("keys/content")), app.store());
    let read: Vec<_> = other.read_file(TENANT, &c.chunks, 0..c.size).try_collect().await.unwrap();
    assert_eq!(read.concat(), doc);
    let part: Vec<_> = other.read_file(TENANT, &c.chunks, 1_000_000..1_000_100).try_collect().await.unwrap();
    assert_eq!(part.concat(), &doc[1_000_000..1_000_100]);
    let listed: Vec<_> = other.objects().list_packs(TENANT).collect().await;
    assert_eq!(listed.len() as u64, stats.packs, "{listed:?}");
    let mut report = VerifyReport::default();
    assert!(other.verifier(TENANT).walk(&root, &mut report).await.unwrap().is_empty());
    assert_eq!((report.files, report.bytes), (2, c.size + note.size));

    // Writing a pack again is harmless (same name, same bytes): the store is written once.
    let mut again = other.writer(TENANT).unwrap();
    again.write_bytes(&doc).await.unwrap();
    again.flush().await.unwrap();
    assert_eq!(again.stats().new_blobs, 0);

    // A pack removed behind backstore's back is reported, with the file it held.
    let at = app.store().content_locate(TENANT, &c.chunks[0].id).await.unwrap().unwrap();
    other.objects().delete_pack(TENANT, &at.pack).await.unwrap();
    let mut report = VerifyReport::default();
    let damage = other.verifier(TENANT).walk(&root, &mut report).await.unwrap();
    assert_eq!(damage.len(), 1, "{damage:?}");
    assert!(damage.iter().any(|d| d.path == "/doc.bin" && d.error.contains("missing")), "{damage:?}");
}

/// The AWS environment a process needs to reach moto.
fn aws_env(moto: &Moto) -> [(&'static str, String); 5] {
    [
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

#[tokio::test]
async fn serve_with_an_s3_blob_store_keeps_every_file_there() {
    use crate::process::{serve, sigterm_and_wait, BIN};
    let moto = Moto::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_owned();
    let store = "s3://backstore-test/serve-e2e";
    let env = aws_env(&moto);
    let run = |args: &[&str]| {
        let out = Command::new(BIN).args(args).envs(env.iter().map(|(k, v)| (k, v))).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let seed_args = ["seed", "--data-dir", &d, "--tenant", "t-s3", "--sites", "1", "--drives", "0", "--mailboxes", "0"];
    let seeded: serde_json::Value = serde_json::from_str(&run(&[
        &seed_args[..],
        &["--restore-points", "2", "--content", "1MiB", "--blob-store", store],
    ]
    .concat()))
    .unwrap();
    let drive = seeded["protectionUnits"][0]["driveId"].as_str().unwrap().to_owned();
    let token = run(&["token", "--data-dir", &d, "--tenant", "t-s3"]).trim().to_owned();

    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = serve(&["--listen", "127.0.0.1:0", "--data-dir", &d, "--blob-store", store], &envs);
    let http = reqwest::Client::new();
    let graph = |path: &str| format!("{}/v1.0/drives/{drive}/{path}", server.origin);
    // The seeded tree reads back through Graph, and an upload lands in the bucket.
    let children: serde_json::Value =
        http.get(graph("root/children")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert!(!children["value"].as_array().unwrap().is_empty(), "{children}");
    let body: Vec<u8> = (0..700_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let put =
        http.put(graph("root:/from-serve.bin:/content")).bearer_auth(&token).body(body.clone()).send().await.unwrap();
    assert_eq!(put.status(), 201);
    let item: serde_json::Value = put.json().await.unwrap();
    let download = item["@microsoft.graph.downloadUrl"].as_str().unwrap();
    assert_eq!(http.get(download).send().await.unwrap().bytes().await.unwrap().as_ref(), body.as_slice());
    sigterm_and_wait(server);

    // Nothing went to the data dir's disk; the bucket holds it all, and verify reads it there.
    assert!(!dir.path().join("blobs").exists());
    let listed: Vec<_> = moto.objects_at(store).list_packs("t-s3").collect().await;
    assert!(!listed.is_empty());
    let verified: serde_json::Value =
        serde_json::from_str(&run(&["verify", "--data-dir", &d, "--blob-store", store])).unwrap();
    assert_eq!(verified["damaged"], serde_json::json!([]), "{verified}");
    assert!(verified["bytes"].as_u64().unwrap() >= 1_700_000, "{verified}");
}
