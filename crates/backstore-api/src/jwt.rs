//! What every bearer token is checked against, whoever issued it: Graph's audience, the tolerated
//! clock skew, the consumer tenant that is refused, and what a failed check tells the caller.

use crate::error::ApiError;

/// Audience of every token: Microsoft Graph, as for Entra-issued Graph tokens.
pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";

/// The tenant id of personal Microsoft accounts, whose tokens this API refuses as Graph does.
pub const CONSUMER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// How much a token's `exp` and `nbf` may be off the server's clock.
pub const CLOCK_SKEW_SECS: u64 = 60;

/// What a failed `jsonwebtoken` check means to the caller.
pub(crate) fn token_error(e: jsonwebtoken::errors::Error) -> ApiError {
    use jsonwebtoken::errors::ErrorKind;
    let fail = |msg: &str| ApiError::InvalidAuthenticationToken(msg.to_owned());
    match e.kind() {
        ErrorKind::ExpiredSignature => fail("Lifetime validation failed, the token is expired."),
        ErrorKind::ImmatureSignature => fail("Lifetime validation failed, the token is not yet valid."),
        ErrorKind::InvalidSignature => fail("Signature validation failed."),
        ErrorKind::InvalidAudience => fail("Invalid audience."),
        ErrorKind::InvalidIssuer => fail("Invalid issuer."),
        ErrorKind::InvalidAlgorithm => fail("The token's signing algorithm is not accepted."),
        ErrorKind::MissingRequiredClaim(c) => fail(&format!("The token has no '{c}' claim.")),
        _ => fail("JWT is not well formed."),
    }
}
