//! A real browser for the console's tests: Debian's Chromium, headless, driven over WebDriver by
//! its own `chromedriver` (installed by `tests/browser/setup.sh` when missing), with downloads
//! going to a directory of the test's.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;
use thirtyfour::prelude::*;

pub struct Browser {
    pub driver: WebDriver,
    pub downloads: PathBuf,
    _chromedriver: KillOnDrop,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    /// Chromium at 1280 × 900 pixels, headless.
    pub async fn start() -> Browser {
        let setup = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/browser/setup.sh");
        let status = Command::new("bash").arg(setup).status().expect("run tests/browser/setup.sh");
        assert!(status.success(), "tests/browser/setup.sh could not install chromium and chromium-driver");
        let port = free_port();
        let chromedriver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let dir = tempfile::tempdir().unwrap();
        let downloads = dir.path().join("downloads");
        std::fs::create_dir_all(&downloads).unwrap();
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary("/usr/bin/chromium").unwrap();
        for arg in
            ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"]
        {
            caps.add_arg(arg).unwrap();
        }
        let profile = dir.path().join("profile");
        caps.add_arg(&format!("--user-data-dir={}", profile.display())).unwrap();
        let prefs = json!({
            "download.default_directory": downloads.display().to_string(),
            "download.prompt_for_download": false,
        });
        caps.add_experimental_option("prefs", prefs).unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let mut driver = None;
        for _ in 0..100 {
            match WebDriver::new(&url, caps.clone()).await {
                Ok(d) => {
                    driver = Some(d);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let driver = driver.expect("chromedriver answers within 10 s");
        driver
            .cdp()
            .send_raw(
                "Browser.setDownloadBehavior",
                json!({ "behavior": "allow", "downloadPath": downloads.display().to_string() }),
            )
            .await
            .expect("downloads allowed");
        Browser { driver, downloads, _chromedriver: KillOnDrop(chromedriver), _dir: dir }
    }

    /// Waits (up to 30 s) until `check` holds for the page.
    pub async fn wait_for<F, Fut>(&self, what: &str, check: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..300 {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let source = self.driver.source().await.unwrap_or_default();
        panic!("waited 30 s for {what}; the page is:\n{source}");
    }

    /// The text of the element `css` (empty when there is none).
    pub async fn text(&self, css: &str) -> String {
        match self.driver.find(By::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the page's heading is `title`.
    pub async fn on_page(&self, title: &str) {
        self.wait_for(&format!("the page '{title}'"), || async { self.text("h1").await == title }).await;
    }

    /// Writes a screenshot of the page as `name.png` in `dir`.
    pub async fn screenshot(&self, dir: &Path, name: &str) {
        std::fs::create_dir_all(dir).unwrap();
        self.driver.screenshot(&dir.join(format!("{name}.png"))).await.expect("screenshot");
    }

    /// A downloaded file once it is whole (up to 20 s).
    pub async fn downloaded(&self, name: &str) -> Vec<u8> {
        let path = self.downloads.join(name);
        for _ in 0..200 {
            let partial = std::fs::read_dir(&self.downloads)
                .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".crdownload")))
                .unwrap_or(false);
            if path.exists() && !partial {
                return std::fs::read(&path).unwrap();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{name} was not downloaded to {}", self.downloads.display());
    }

    pub async fn quit(self) {
        let _ = self.driver.quit().await;
    }
}

/// `chromedriver`, stopped when the test ends, pass or fail.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
