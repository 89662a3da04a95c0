//! The body of `enable`.

use super::{into_object, parse_json, BodyKind};
use crate::error::ApiError;

/// The tenant where the controlling app is registered (`appOwnerTenantId`, required).
pub fn enable(body: &[u8]) -> Result<String, ApiError> {
    let body = into_object(parse_json(body)?, BodyKind::Create)?;
    let mut owner = None;
    for (k, v) in &body {
        match k.as_str() {
            "appOwnerTenantId" => owner = v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
            k if k.starts_with('@') => {}
            other => return Err(ApiError::BadRequest(format!("'{other}' is not a parameter of enable."))),
        }
    }
    let owner = owner.ok_or_else(|| {
        ApiError::InvalidAppOwnerTenantId(
            "appOwnerTenantId, the tenant where the controlling app is registered, is required.".into(),
        )
    })?;
    Ok(owner)
}
