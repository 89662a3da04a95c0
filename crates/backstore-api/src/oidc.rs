//! Tokens from OpenID Connect issuers (Microsoft Entra ID, Keycloak, …) besides the server's own:
//! each configured issuer's signing keys come from its JWKS (found through its discovery document,
//! or named by URL or file), are cached, and are fetched again when a token names a `kid` the cache
//! does not know. A key verifies only with its own algorithm (`alg` pinned per key): no `none`, no
//! HMAC with a public key, no algorithm the token picks.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::error::ApiError;
use crate::jwt::{token_error, GRAPH_AUDIENCE};
pub use crate::jwt::{CLOCK_SKEW_SECS, CONSUMER_TENANT};

/// Where an issuer's keys come from.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum JwksSource {
    /// `{issuer}/.well-known/openid-configuration`, then its `jwks_uri`.
    Discovery,
    Uri(String),
    File(PathBuf),
}

/// One trusted issuer, as configured (`serve --oidc-config FILE`, a JSON array of these).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` of its tokens; `{tenantid}` stands for the token's `tid` (Entra's
    /// multi-tenant `https://login.microsoftonline.com/{tenantid}/v2.0`).
    pub issuer: String,
    /// Accepted `aud` values (default: Graph's URL and application id).
    #[serde(default = "graph_audiences")]
    pub audiences: Vec<String>,
    #[serde(default = "discovery")]
    pub jwks: JwksSource,
    /// The least time between two fetches of the keys (a token naming an unknown `kid` asks for one).
    #[serde(default = "default_refresh")]
    pub min_refresh_seconds: u64,
}

fn graph_audiences() -> Vec<String> {
    vec![GRAPH_AUDIENCE.to_owned(), "00000003-0000-0000-c000-000000000000".to_owned()]
}

fn discovery() -> JwksSource {
    JwksSource::Discovery
}

fn default_refresh() -> u64 {
    10
}

impl IssuerConfig {
    /// An issuer found through discovery, with Graph's audiences.
    pub fn discovered(issuer: &str) -> IssuerConfig {
        IssuerConfig {
            issuer: issuer.to_owned(),
            audiences: graph_audiences(),
            jwks: JwksSource::Discovery,
            min_refresh_seconds: default_refresh(),
        }
    }

    /// Refuses an issuer or key set URL that is neither https nor on this machine.
    pub fn validate(&self) -> Result<(), String> {
        check_url(&self.issuer)?;
        match &self.jwks {
            JwksSource::Uri(u) => check_url(u),
            _ => Ok(()),
        }
    }

    fn matches(&self, iss: &str, tid: Option<&str>) -> bool {
        match (self.issuer.contains("{tenantid}"), tid) {
            (true, Some(tid)) => iss == self.issuer.replace("{tenantid}", tid),
            (true, None) => false,
            (false, _) => iss == self.issuer,
        }
    }
}

/// Reads `--oidc-config`: a JSON array of issuers.
pub fn load_config(path: &std::path::Path) -> Result<Vec<IssuerConfig>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let list: Vec<IssuerConfig> =
        serde_json::from_str(&text).map_err(|e| format!("{} is not a JSON array of issuers: {e}", path.display()))?;
    for c in &list {
        c.validate()?;
    }
    Ok(list)
}

/// Keys are fetched over HTTPS, or over plain HTTP from this machine only.
fn check_url(url: &str) -> Result<(), String> {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
    if url.starts_with("https://") || loopback.iter().any(|p| url.starts_with(p)) {
        Ok(())
    } else {
        Err(format!("'{url}': issuers and key sets must be https:// (or http:// on this machine)"))
    }
}

struct Keys {
    by_kid: HashMap<String, (DecodingKey, Algorithm)>,
    fetched: Option<Instant>,
}

struct Issuer {
    config: IssuerConfig,
    keys: tokio::sync::Mutex<Keys>,
}

/// Every configured issuer, with its cached keys.
pub struct Issuers {
    list: Vec<Issuer>,
    http: reqwest::Client,
}

impl Default for Issuers {
    fn default() -> Self {
        Issuers::new(Vec::new())
    }
}

/// What the unverified parts of a token say: enough to pick the key that must verify it.
#[derive(Debug)]
pub struct Peek {
    pub alg: String,
    pub kid: Option<String>,
    pub iss: Option<String>,
    pub tid: Option<String>,
}

/// Reads a compact JWS's header and payload without trusting them. Every malformed token is a 401.
pub fn peek(token: &str) -> Result<Peek, ApiError> {
    let fail = || ApiError::InvalidAuthenticationToken("JWT is not well formed.".into());
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_sig), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(fail());
    };
    let decode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('='));
    // Only the members read here are decoded; the rest of each object is skipped unparsed.
    let header: PeekedHeader = serde_json::from_slice(&decode(header).map_err(|_| fail())?).map_err(|_| fail())?;
    let payload: PeekedPayload = serde_json::from_slice(&decode(payload).map_err(|_| fail())?).map_err(|_| fail())?;
    Ok(Peek { alg: header.alg.0.ok_or_else(fail)?, kid: header.kid.0, iss: payload.iss.0, tid: payload.tid.0 })
}

#[derive(serde::Deserialize)]
struct PeekedHeader {
    #[serde(default)]
    alg: Text,
    #[serde(default)]
    kid: Text,
}

#[derive(serde::Deserialize)]
struct PeekedPayload {
    #[serde(default)]
    iss: Text,
    #[serde(default)]
    tid: Text,
}

/// A member read as text when it is a string, and as absent when it is anything else.
#[derive(Default)]
struct Text(Option<String>);

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Text(Some(s)),
            _ => Text(None),
        })
    }
}

/// The one algorithm a JWK verifies with: its `alg`, or what its key type implies.
fn key_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    if let Some(alg) = jwk.common.key_algorithm {
        return match alg {
            KeyAlgorithm::RS256 => Some(Algorithm::RS256),
            KeyAlgorithm::RS384 => Some(Algorithm::RS384),
            KeyAlgorithm::RS512 => Some(Algorithm::RS512),
            KeyAlgorithm::PS256 => Some(Algorithm::PS256),
            KeyAlgorithm::PS384 => Some(Algorithm::PS384),
            KeyAlgorithm::PS512 => Some(Algorithm::PS512),
            KeyAlgorithm::ES256 => Some(Algorithm::ES256),
            KeyAlgorithm::ES384 => Some(Algorithm::ES384),
            KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
            // Symmetric keys and encryption algorithms never verify an access token here.
            _ => None,
        };
    }
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
        AlgorithmParameters::OctetKey(_) => None,
    }
}

/// The verifying keys of a key set, by `kid`; keys without one, symmetric ones and ones of an
/// unknown kind are left out.
pub fn parse_jwks(text: &str) -> Result<HashMap<String, (DecodingKey, Algorithm)>, String> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("not a JWK set: {e}"))?;
    let mut out = HashMap::new();
    for jwk in &set.keys {
        let (Some(kid), Some(alg)) = (jwk.common.key_id.clone(), key_algorithm(jwk)) else { continue };
        if let Ok(key) = DecodingKey::from_jwk(jwk) {
            out.insert(kid, (key, alg));
        }
    }
    Ok(out)
}

impl Issuers {
    pub fn new(configs: Vec<IssuerConfig>) -> Issuers {
        let list = configs
            .into_iter()
            .map(|config| Issuer {
                config,
                keys: tokio::sync::Mutex::new(Keys { by_kid: HashMap::new(), fetched: None }),
            })
            .collect();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        Issuers { list, http }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The configured issuer a token claims to come from.
    fn find(&self, peek: &Peek) -> Option<&Issuer> {
        let iss = peek.iss.as_deref()?;
        self.list.iter().find(|i| i.config.matches(iss, peek.tid.as_deref()))
    }

    async fn fetch(&self, config: &IssuerConfig) -> Result<String, String> {
        let get = |url: String| async move {
            let r = self.http.get(&url).send().await.map_err(|e| format!("{url}: {e}"))?;
            if !r.status().is_success() {
                return Err(format!("{url}: {}", r.status()));
            }
            r.text().await.map_err(|e| format!("{url}: {e}"))
        };
        match &config.jwks {
            JwksSource::File(path) => {
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
            }
            JwksSource::Uri(uri) => get(uri.clone()).await,
            JwksSource::Discovery => {
                let base = config.issuer.trim_end_matches('/');
                let doc = get(format!("{base}/.well-known/openid-configuration")).await?;
                let doc: serde_json::Value = serde_json::from_str(&doc).map_err(|e| format!("discovery: {e}"))?;
                let uri = doc["jwks_uri"].as_str().ok_or("the discovery document has no jwks_uri")?;
                check_url(uri)?;
                get(uri.to_owned()).await
            }
        }
    }

    /// The key `kid` of `issuer`, fetching the key set when it is not cached (at most once per
    /// `min_refresh_seconds`).
    async fn key(&self, issuer: &Issuer, kid: &str) -> Result<(DecodingKey, Algorithm), ApiError> {
        let mut keys = issuer.keys.lock().await;
        if let Some(k) = keys.by_kid.get(kid) {
            return Ok(k.clone());
        }
        let may_fetch =
            keys.fetched.is_none_or(|t| t.elapsed() >= Duration::from_secs(issuer.config.min_refresh_seconds));
        if may_fetch {
            keys.fetched = Some(Instant::now());
            match self.fetch(&issuer.config).await.and_then(|t| parse_jwks(&t)) {
                Ok(by_kid) => keys.by_kid = by_kid,
                Err(e) => tracing::warn!(issuer = %issuer.config.issuer, error = %e, "cannot fetch the issuer's keys"),
            }
        }
        keys.by_kid.get(kid).cloned().ok_or_else(|| {
            ApiError::InvalidAuthenticationToken("Signature validation failed: the signing key is not known.".into())
        })
    }

    /// Verifies a token of a configured issuer into its claims.
    pub async fn verify(&self, token: &str, peek: &Peek) -> Result<Option<ExternalClaims>, ApiError> {
        let fail = |m: &str| ApiError::InvalidAuthenticationToken(m.to_owned());
        let Some(issuer) = self.find(peek) else { return Ok(None) };
        let kid = peek.kid.as_deref().ok_or_else(|| fail("The token names no signing key (kid)."))?;
        let (key, alg) = self.key(issuer, kid).await?;
        if peek.alg.parse::<Algorithm>().ok() != Some(alg) {
            return Err(fail("The token's signing algorithm is not accepted."));
        }
        let mut validation = Validation::new(alg);
        validation.set_audience(&issuer.config.audiences);
        validation.set_issuer(&[peek.iss.as_deref().unwrap_or_default()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = CLOCK_SKEW_SECS;
        let data = jsonwebtoken::decode::<ExternalClaims>(token, &key, &validation).map_err(token_error)?;
        Ok(Some(data.claims))
    }
}

/// The claims backstore reads from an access token of Entra ID or another OpenID Connect issuer
/// (each may be missing).
#[derive(Debug, Clone, Deserialize)]
pub struct ExternalClaims {
    pub tid: Option<String>,
    pub oid: Option<String>,
    pub sub: Option<String>,
    /// The client application: `appid` (v1 tokens), `azp` (v2 and Keycloak).
    pub appid: Option<String>,
    pub azp: Option<String>,
    pub app_displayname: Option<String>,
    pub name: Option<String>,
    pub roles: Option<Vec<String>>,
    pub scp: Option<String>,
    /// `app` or `user`, when the issuer says.
    pub idtyp: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_reads_only_well_formed_tokens() {
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let t = format!("{}.{}.sig", b(r#"{"alg":"RS256","kid":"k1"}"#), b(r#"{"iss":"https://i","tid":"t"}"#));
        let p = peek(&t).unwrap();
        assert_eq!((p.alg.as_str(), p.kid.as_deref(), p.iss.as_deref()), ("RS256", Some("k1"), Some("https://i")));
        for bad in ["", "a.b", "a.b.c.d", "!!.e30.x", &format!("{}.{}.s", b("[]"), b("{}"))] {
            assert!(peek(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn issuers_match_exactly_or_by_tenant_template() {
        let c = IssuerConfig::discovered("https://login.microsoftonline.com/{tenantid}/v2.0");
        assert!(c.matches("https://login.microsoftonline.com/t1/v2.0", Some("t1")));
        assert!(!c.matches("https://login.microsoftonline.com/t2/v2.0", Some("t1")));
        assert!(!c.matches("https://login.microsoftonline.com/t1/v2.0", None));
        assert!(check_url("http://example.com/keys").is_err());
        assert!(check_url("http://127.0.0.1:9/keys").is_ok());
    }
}
