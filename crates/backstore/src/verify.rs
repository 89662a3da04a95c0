//! `backstore sessions verify SESSION_ID`: asks a running server (`/admin/restoreSessions/{id}/proofs`)
//! for the proof of each artifact of a session that restored content and prints one line per
//! artifact:
//!
//! ```text
//! <artifactId> match|mismatch|unfinished point=<root> written=<root> items=<n> bytes=<n> removed=<n>
//! ```
//!
//! A mailbox's line compares digests (`point=digest:<hex>`), as its proof does. The caller exits
//! non-zero unless every artifact matches.

use std::io::Write;

use crate::watch::Client;

/// Prints the session's proofs to `out`; whether every artifact's restore wrote what its point
/// holds (a session with no content restored has nothing to disprove, and is `true`).
pub async fn verify(server: &str, token: String, session: &str, out: &mut impl Write) -> anyhow::Result<bool> {
    let client = Client::new(server, token);
    let url = format!("{}/admin/restoreSessions/{session}/proofs", client.server());
    let proofs = client.get(&url).await?;
    let all = proofs["value"].as_array().cloned().unwrap_or_default();
    if all.is_empty() {
        writeln!(out, "{session}: no artifact of this session restored content")?;
        return Ok(true);
    }
    let mut good = true;
    for p in &all {
        let text = |k: &str| p[k].as_str().unwrap_or("-").to_owned();
        let (point, written) = match p["pointDigest"].as_str() {
            Some(d) => (format!("digest:{d}"), format!("digest:{}", text("writtenDigest"))),
            None => (text("pointRoot"), text("writtenRoot")),
        };
        let verdict = text("verdict");
        good &= verdict == "match";
        writeln!(
            out,
            "{} {verdict} point={point} written={written} items={} bytes={} removed={}",
            text("artifactId"),
            p["itemsWritten"],
            p["bytesWritten"],
            p["itemsRemoved"],
        )?;
    }
    Ok(good)
}
