//! Bearer tokens: the signing key kept in the data dir, issuing tokens (`backstore token`), and
//! validating them into a [`Principal`] (tenant, caller, permissions).

use std::io::Write;
use std::path::{Path, PathBuf};

use backstore_domain::Actor;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
pub use crate::jwt::GRAPH_AUDIENCE;
use crate::jwt::{token_error, CLOCK_SKEW_SECS, CONSUMER_TENANT};
use crate::oidc::{self, ExternalClaims, Issuers};
use crate::token_cache::TokenCache;

/// Issuer of the tokens signed with the data dir's key.
pub const LOCAL_ISSUER: &str = "https://sts.backstore.local/";
/// Application id of tokens made by `backstore token` unless another is given.
pub const DEFAULT_APP_ID: &str = "b5c0e5a4-7f3e-4c59-9a8e-6b1d2c3f4a50";
pub const DEFAULT_APP_NAME: &str = "backstore CLI";

pub const CONTROL_READ: &str = "BackupRestore-Control.Read.All";
pub const CONTROL_READ_WRITE: &str = "BackupRestore-Control.ReadWrite.All";
pub const CONFIGURATION_READ: &str = "BackupRestore-Configuration.Read.All";
pub const CONFIGURATION_READ_WRITE: &str = "BackupRestore-Configuration.ReadWrite.All";
pub const RESTORE_READ: &str = "BackupRestore-Restore.Read.All";
pub const RESTORE_READ_WRITE: &str = "BackupRestore-Restore.ReadWrite.All";
pub const SEARCH_READ: &str = "BackupRestore-Search.Read.All";
pub const MONITOR_READ: &str = "BackupRestore-Monitor.Read.All";
pub const FILES_READ: &str = "Files.Read.All";
pub const FILES_READ_WRITE: &str = "Files.ReadWrite.All";
pub const SITES_READ: &str = "Sites.Read.All";
pub const SITES_READ_WRITE: &str = "Sites.ReadWrite.All";
pub const MAIL_READ: &str = "Mail.Read";
pub const MAIL_READ_WRITE: &str = "Mail.ReadWrite";

/// Every permission of the Backup Storage API and of the file and mail content it serves: what a
/// token has by default.
pub const ALL_PERMISSIONS: [&str; 14] = [
    CONTROL_READ_WRITE,
    CONFIGURATION_READ_WRITE,
    RESTORE_READ_WRITE,
    SEARCH_READ,
    MONITOR_READ,
    CONTROL_READ,
    CONFIGURATION_READ,
    RESTORE_READ,
    FILES_READ_WRITE,
    SITES_READ_WRITE,
    FILES_READ,
    SITES_READ,
    MAIL_READ_WRITE,
    MAIL_READ,
];

/// The read permissions: what `--read-only` gives.
pub const READ_PERMISSIONS: [&str; 8] =
    [CONTROL_READ, CONFIGURATION_READ, RESTORE_READ, SEARCH_READ, MONITOR_READ, FILES_READ, SITES_READ, MAIL_READ];

/// What an endpoint needs; each names the permissions that grant it (least privileged first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Restore sessions and artifacts, reading.
    RestoreRead,
    /// Restore sessions and artifacts, changing.
    RestoreWrite,
    /// Protection units and policies, reading.
    ConfigurationRead,
    /// Protection units and policies, changing.
    ConfigurationWrite,
    /// Listing and getting restore points (the newest page says Search, an older one Restore).
    RestorePointsRead,
    /// `restorePoints/search`.
    Search,
    /// The service state, reading.
    ControlRead,
    /// Enabling the service.
    ControlWrite,
    /// Drives and their items, reading.
    FilesRead,
    /// Drives and their items, changing.
    FilesWrite,
    /// beta `activityLogs`.
    Monitor,
    /// Mailboxes, reading.
    MailRead,
    /// Mailboxes, changing.
    MailWrite,
}

impl Access {
    pub fn granted_by(self) -> &'static [&'static str] {
        match self {
            Access::RestoreRead => &[RESTORE_READ, RESTORE_READ_WRITE],
            Access::RestoreWrite => &[RESTORE_READ_WRITE],
            Access::ConfigurationRead => &[CONFIGURATION_READ, CONFIGURATION_READ_WRITE],
            Access::ConfigurationWrite => &[CONFIGURATION_READ_WRITE],
            Access::RestorePointsRead => &[SEARCH_READ, RESTORE_READ, RESTORE_READ_WRITE],
            Access::Search => &[SEARCH_READ],
            Access::ControlRead => &[CONTROL_READ, CONTROL_READ_WRITE],
            Access::ControlWrite => &[CONTROL_READ_WRITE],
            Access::FilesRead => &[FILES_READ, SITES_READ, FILES_READ_WRITE, SITES_READ_WRITE],
            Access::FilesWrite => &[FILES_READ_WRITE, SITES_READ_WRITE],
            Access::Monitor => &[MONITOR_READ],
            Access::MailRead => &[MAIL_READ, MAIL_READ_WRITE],
            Access::MailWrite => &[MAIL_READ_WRITE],
        }
    }
}

const KEY_FILE: &str = "token-signing.key";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or create the signing key at {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the signing key at {0} is not 32+ bytes of base64")]
    Malformed(PathBuf),
    #[error("cannot sign the token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// The HMAC key that signs and checks local tokens.
#[derive(Clone)]
pub struct SigningKey {
    secret: Vec<u8>,
    /// The tokens this key has checked, shared by the key's clones.
    verified: TokenCache<Principal>,
}

impl SigningKey {
    /// Loads the key from `data_dir`, creating it (mode 0600) on first use. Two processes racing to
    /// create it end up with the same key: the file appears whole or not at all.
    pub fn load_or_create(data_dir: &Path) -> Result<SigningKey, KeyError> {
        let path = data_dir.join(KEY_FILE);
        let io = |source| KeyError::Io { path: path.clone(), source };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        if !path.exists() {
            let mut secret = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut secret);
            let tmp = data_dir.join(format!(".{KEY_FILE}.{}", uuid::Uuid::new_v4()));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp).map_err(io)?;
            file.write_all(base64::engine::general_purpose::STANDARD.encode(secret).as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            drop(file);
            let linked = std::fs::hard_link(&tmp, &path);
            let _ = std::fs::remove_file(&tmp);
            match linked {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let secret = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| KeyError::Malformed(path.clone()))?;
        if secret.len() < 32 {
            return Err(KeyError::Malformed(path));
        }
        Ok(SigningKey::from_secret(secret))
    }
}

impl SigningKey {
    /// A key from known bytes (fuzzing and tests; a server loads its key from the data dir).
    pub fn from_secret(secret: Vec<u8>) -> SigningKey {
        SigningKey { secret, verified: TokenCache::default() }
    }

    /// A keyed digest of `data` for one `purpose` (the console's CSRF tokens): whoever does not hold
    /// the key cannot make it, and a digest made for one purpose says nothing about another.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let key = blake3::derive_key(purpose, &self.secret);
        *blake3::keyed_hash(&key, data).as_bytes()
    }

    /// A pre-authenticated URL token (a file's download, an upload session) of one tenant, valid
    /// until `exp` (seconds, server clock): a JWT whose audience says what it is for, so it never
    /// passes as a bearer token or as the other kind.
    pub fn sign_grant(&self, grant: &DownloadGrant) -> Result<String, KeyError> {
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), grant, &EncodingKey::from_secret(&self.secret))?)
    }

    /// The grant a URL token for `audience` carries, if this key signed it; its expiry is the
    /// caller's to check against the server clock.
    pub fn verify_grant(&self, token: &str, audience: &str) -> Option<DownloadGrant> {
        let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["aud"]);
        jsonwebtoken::decode::<DownloadGrant>(token, &jsonwebtoken::DecodingKey::from_secret(&self.secret), &validation)
            .ok()
            .map(|t| t.claims)
    }
}

/// The audience of download tokens.
pub const DOWNLOAD_AUDIENCE: &str = "backstore-download";

/// The audience of upload session tokens.
pub const UPLOAD_AUDIENCE: &str = "backstore-upload";

/// What a pre-authenticated URL grants: one file (`itm`) of one tenant's drive, or one upload
/// session (`itm` is its id), until `exp`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DownloadGrant {
    pub aud: String,
    pub tid: String,
    pub drv: String,
    pub itm: String,
    pub exp: i64,
    /// An upload session whose file is made by an explicit commit (`deferCommit`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dfr: bool,
}

/// The claims of a token, named as Entra names them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub tid: String,
    pub oid: String,
    pub sub: String,
    pub appid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_displayname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Application permissions (app-only tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Delegated permissions, space-separated (tokens with a user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// `app` or `user`.
    pub idtyp: String,
}

/// What `backstore token` is asked for.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub tenant: String,
    /// The permissions the token carries (in `roles`, or space-separated in `scp` with a user).
    pub permissions: Vec<String>,
    pub user: Option<String>,
    pub ttl_seconds: i64,
    pub app_id: String,
}

/// Signs a token for `req`, valid from now for its ttl.
pub fn issue_token(key: &SigningKey, req: &TokenRequest) -> Result<String, KeyError> {
    let now = chrono::Utc::now().timestamp();
    let (oid, idtyp, roles, scp, name) = match &req.user {
        Some(user) => (user.clone(), "user", None, Some(req.permissions.join(" ")), Some(format!("User {user}"))),
        None => (format!("sp-{}", req.app_id), "app", Some(req.permissions.clone()), None, None),
    };
    let claims = Claims {
        iss: LOCAL_ISSUER.into(),
        aud: GRAPH_AUDIENCE.into(),
        iat: now,
        nbf: now,
        exp: now + req.ttl_seconds,
        tid: req.tenant.clone(),
        sub: oid.clone(),
        oid,
        appid: req.app_id.clone(),
        app_displayname: Some(DEFAULT_APP_NAME.into()).filter(|_| req.app_id == DEFAULT_APP_ID),
        name,
        roles,
        scp,
        idtyp: idtyp.into(),
    };
    Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&key.secret))?)
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: String,
    pub actor: Actor,
    pub permissions: Vec<String>,
}

impl Principal {
    fn has(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }

    /// A 403 unless the token carries one of the permissions that grant `access`.
    pub fn require(&self, access: Access) -> Result<(), ApiError> {
        let needed = access.granted_by();
        if needed.iter().any(|p| self.has(p)) {
            return Ok(());
        }
        Err(ApiError::AccessDenied(format!(
            "Missing role permissions on the request. API requires one of '{}'. Permissions on the request: '{}'.",
            needed.join(", "),
            self.permissions.join(", ")
        )))
    }

    /// A 403 for application tokens on operations the service offers to signed-in users only.
    pub fn require_delegated(&self, operation: &str) -> Result<(), ApiError> {
        if self.is_delegated() {
            return Ok(());
        }
        Err(ApiError::AccessDenied(format!(
            "'{operation}' supports delegated (user) permissions only; application permissions are not supported."
        )))
    }

    /// Whether the caller is a user (delegated token): some fields are shown to users only.
    pub fn is_delegated(&self) -> bool {
        self.actor.user_id.is_some()
    }
}

/// The bearer token of an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, ApiError> {
    let fail = |msg: &str| ApiError::InvalidAuthenticationToken(msg.to_owned());
    let header = header.ok_or_else(|| fail("Access token is empty."))?;
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| fail("Access token is empty or the Authorization header is not a Bearer token."))
}

/// Validates the `Authorization` header value into a principal: a token of the server's own key,
/// or of a configured OpenID Connect issuer. Every failure is a 401.
pub async fn authenticate(key: &SigningKey, issuers: &Issuers, header: Option<&str>) -> Result<Principal, ApiError> {
    let token = bearer(header)?;
    if let Some(known) = key.verified.get(token) {
        return Ok(known);
    }
    let peek = oidc::peek(token)?;
    if peek.iss.as_deref() == Some(LOCAL_ISSUER) || issuers.is_empty() {
        return verify_local(key, token, &peek);
    }
    match issuers.verify(token, &peek).await? {
        Some(claims) => external_principal(claims),
        None => Err(ApiError::InvalidAuthenticationToken("Invalid issuer.".into())),
    }
}

/// Validates the `Authorization` header value against the server's own key only (the admin
/// endpoints, which are the operator's).
pub fn authenticate_local(key: &SigningKey, header: Option<&str>) -> Result<Principal, ApiError> {
    let token = bearer(header)?;
    if let Some(known) = key.verified.get(token) {
        return Ok(known);
    }
    verify_local(key, token, &oidc::peek(token)?)
}

/// Checks a token of the server's own key (HS256 only) into a principal.
pub fn verify_local(key: &SigningKey, token: &str, peek: &oidc::Peek) -> Result<Principal, ApiError> {
    let fail = |msg: &str| ApiError::InvalidAuthenticationToken(msg.to_owned());
    if peek.alg != "HS256" {
        return Err(fail("The token's signing algorithm is not accepted."));
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[GRAPH_AUDIENCE]);
    validation.set_issuer(&[LOCAL_ISSUER]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud"]);
    validation.validate_nbf = true;
    validation.leeway = CLOCK_SKEW_SECS;
    let c = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&key.secret), &validation)
        .map_err(token_error)?
        .claims;
    check_tenant(&c.tid)?;
    let (permissions, user) = match (&c.roles, &c.scp) {
        (Some(roles), None) => (roles.clone(), None),
        (None, Some(scp)) => (scp.split_whitespace().map(str::to_owned).collect(), Some(c.oid.clone())),
        _ => return Err(fail("The token must carry either roles (application) or scp (delegated).")),
    };
    let principal = Principal {
        tenant: c.tid,
        actor: Actor {
            application_id: c.appid,
            application_name: c.app_displayname,
            user_id: user,
            user_name: c.name.filter(|_| c.scp.is_some()),
        },
        permissions,
    };
    key.verified.put(token, &principal, c.nbf, c.exp);
    Ok(principal)
}

/// A tenant the API serves: present, and not the personal-accounts tenant.
fn check_tenant(tid: &str) -> Result<(), ApiError> {
    if tid.trim().is_empty() {
        return Err(ApiError::InvalidAuthenticationToken("The token has no tenant (tid).".into()));
    }
    if tid.eq_ignore_ascii_case(CONSUMER_TENANT) {
        return Err(ApiError::InvalidAuthenticationToken(
            "Personal Microsoft accounts are not supported by the Backup Storage API; use a work or school account."
                .into(),
        ));
    }
    Ok(())
}

/// The principal of an issuer's token: delegated when it carries `scp`, an application when it
/// carries only `roles`; an `idtyp` that says otherwise is refused.
fn external_principal(c: ExternalClaims) -> Result<Principal, ApiError> {
    let fail = |msg: &str| ApiError::InvalidAuthenticationToken(msg.to_owned());
    let tid = c.tid.ok_or_else(|| fail("The token has no tenant (tid)."))?;
    check_tenant(&tid)?;
    let app = c.appid.or(c.azp).ok_or_else(|| fail("The token names no client application (appid or azp)."))?;
    let scp = c.scp.filter(|s| !s.trim().is_empty());
    let (permissions, user) = match (scp, c.roles, c.idtyp.as_deref()) {
        (Some(_), _, Some("app")) | (None, Some(_), Some("user")) => {
            return Err(fail("The token's permissions are not of its kind (scp for users, roles for applications)."))
        }
        (Some(scp), _, _) => {
            let user = c.oid.or(c.sub).ok_or_else(|| fail("A delegated token names no user (oid or sub)."))?;
            (scp.split_whitespace().map(str::to_owned).collect(), Some(user))
        }
        (None, Some(roles), _) => (roles, None),
        (None, None, _) => return Err(fail("The token must carry either roles (application) or scp (delegated).")),
    };
    Ok(Principal {
        tenant: tid,
        actor: Actor {
            application_id: app,
            application_name: c.app_displayname,
            user_name: c.name.filter(|_| user.is_some()),
            user_id: user,
        },
        permissions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(key: &SigningKey, header: Option<&str>) -> Result<Principal, ApiError> {
        authenticate_local(key, header)
    }

    fn request(user: Option<&str>, read_only: bool, ttl: i64) -> TokenRequest {
        let permissions: &[&str] = if read_only { &READ_PERMISSIONS } else { &ALL_PERMISSIONS };
        TokenRequest {
            tenant: "t1".into(),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            user: user.map(str::to_owned),
            ttl_seconds: ttl,
            app_id: DEFAULT_APP_ID.into(),
        }
    }

    #[test]
    fn issue_and_validate() {
        let dir = tempfile_dir();
        let key = SigningKey::load_or_create(&dir).unwrap();
        let again = SigningKey::load_or_create(&dir).unwrap();
        assert_eq!(key.secret, again.secret);

        let app = issue_token(&key, &request(None, false, 3600)).unwrap();
        let p = local(&key, Some(&format!("Bearer {app}"))).unwrap();
        assert_eq!(p.tenant, "t1");
        assert!(p.actor.user_id.is_none());
        assert!(p.require(Access::RestoreWrite).is_ok());

        let user = issue_token(&key, &request(Some("u1"), true, 3600)).unwrap();
        let p = local(&key, Some(&format!("Bearer {user}"))).unwrap();
        assert_eq!(p.actor.user_id.as_deref(), Some("u1"));
        assert!(p.require(Access::RestoreRead).is_ok());
        assert!(p.require(Access::RestoreWrite).is_err());
        assert!(p.require(Access::Search).is_ok());

        let expired = issue_token(&key, &request(None, false, -3600)).unwrap();
        assert!(local(&key, Some(&format!("Bearer {expired}"))).is_err());
        assert!(local(&key, Some("Bearer not.a.jwt")).is_err());
        assert!(local(&key, None).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("backstore-auth-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
