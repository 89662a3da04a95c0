//! `backstore cert`: a local certificate authority and a certificate for localhost signed by it,
//! so `serve --tls-cert/--tls-key` can be trusted by clients that are told about the authority.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::Datelike as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};

/// The files `make` wrote.
pub struct Made {
    pub ca: PathBuf,
    pub ca_key: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Writes `ca.pem`/`ca-key.pem` and `localhost.pem`/`localhost-key.pem` (for localhost, 127.0.0.1,
/// ::1 and `names`) into `dir`. An authority already there is reused, so clients that trust it
/// keep trusting new certificates.
pub fn make(dir: &Path, names: &[String]) -> anyhow::Result<Made> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let made = Made {
        ca: dir.join("ca.pem"),
        ca_key: dir.join("ca-key.pem"),
        cert: dir.join("localhost.pem"),
        key: dir.join("localhost-key.pem"),
    };
    let year = chrono::Utc::now().year();
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name.push(DnType::CommonName, "backstore local certificate authority");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    ca.not_after = rcgen::date_time_ymd(year + 10, 1, 1);
    let (ca_cert, ca_key) = if made.ca.exists() && made.ca_key.exists() {
        // The same name and key: what a client trusts in ca.pem verifies the new certificate.
        let key = KeyPair::from_pem(&std::fs::read_to_string(&made.ca_key)?).context("ca-key.pem is not a key")?;
        (ca.self_signed(&key)?, key)
    } else {
        let key = KeyPair::generate()?;
        let cert = ca.self_signed(&key)?;
        write(&made.ca, &cert.pem(), false)?;
        write(&made.ca_key, &key.serialize_pem(), true)?;
        (cert, key)
    };
    let mut sans = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    sans.extend(names.iter().cloned());
    let mut params = CertificateParams::new(sans)?;
    params.distinguished_name.push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    params.not_after = rcgen::date_time_ymd(year + 1, 12, 31);
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca_cert, &ca_key)?;
    write(&made.cert, &cert.pem(), false)?;
    write(&made.key, &key.serialize_pem(), true)?;
    Ok(made)
}

fn write(path: &Path, text: &str, secret: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    std::io::Write::write_all(&mut options.open(path)?, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

impl Made {
    /// What to do with the files.
    pub fn instructions(&self) -> String {
        let (ca, cert, key) = (self.ca.display(), self.cert.display(), self.key.display());
        format!(
            "wrote {ca} (the authority), {cert} and {key} (localhost)\n\
             serve:   backstore serve --tls-cert {cert} --tls-key {key}\n\
             curl:    curl --cacert {ca} https://127.0.0.1:8080/v1.0/solutions/backupRestore\n\
             Python:  export REQUESTS_CA_BUNDLE={ca} SSL_CERT_FILE={ca}\n\
             Node.js: export NODE_EXTRA_CA_CERTS={ca}\n\
             system:  sudo cp {ca} /usr/local/share/ca-certificates/backstore.crt && sudo update-ca-certificates"
        )
    }
}
