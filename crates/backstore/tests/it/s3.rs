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
        Objects::s3_with(
            "s3://backstore-test/deployments/one",
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
