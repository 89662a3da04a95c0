//! The `Authorization` header and the token in it: reading the bearer value, peeking at the
//! unverified header and payload, verifying with the server's key, and reading a JWK set never
//! panic, and nothing but a token signed with the key verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let key = backstore_api::auth::SigningKey::from_secret(b"fuzzing-secret-of-thirty-two-bytes!!".to_vec());
    let _ = backstore_api::auth::bearer(Some(text));
    let _ = backstore_api::oidc::peek(text);
    assert!(backstore_api::auth::authenticate_local(&key, Some(text)).is_err());
    assert!(backstore_api::auth::authenticate_local(&key, Some(&format!("Bearer {text}"))).is_err());
    let _ = backstore_api::oidc::parse_jwks(text);
});
