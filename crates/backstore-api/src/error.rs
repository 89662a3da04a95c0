//! `ApiError`: every error the API answers with, its HTTP status and Graph error code in one match,
//! written as Graph's envelope `{"error":{"code","message","innerError":{…}}}`.

use axum::http::StatusCode;
use backstore_domain::RuleError;
use backstore_store::StoreError;

/// What a 503 asks a client to wait while the database is away.
pub const DATABASE_RETRY_AFTER_SECS: u64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `BadRequest`: a request Graph cannot read (bad JSON, unknown property, bad query option).
    #[error("{0}")]
    BadRequest(String),
    /// 401 `InvalidAuthenticationToken`
    #[error("{0}")]
    InvalidAuthenticationToken(String),
    /// 403 `accessDenied`: a valid token without the permission the operation needs.
    #[error("{0}")]
    AccessDenied(String),
    /// 404 `ResourceNotFound`: no such path.
    #[error("{0}")]
    ResourceNotFound(String),
    /// 405 `MethodNotAllowed`; `allow` lists the methods the path takes.
    #[error("The method is not allowed on this resource. Allowed: {allow}.")]
    MethodNotAllowed { allow: &'static str },
    /// 413 `RequestEntityTooLarge`: a body over the limit.
    #[error("The request body is larger than {0} bytes.")]
    RequestEntityTooLarge(usize),
    /// 408 `RequestTimeout`: the client did not send the body in time.
    #[error("The request body did not arrive within {0} seconds.")]
    RequestTimeout(u64),
    /// 431 `RequestHeaderFieldsTooLarge`
    #[error("The request line and headers are larger than {0} bytes.")]
    HeadersTooLarge(usize),
    /// 415 `UnsupportedMediaType`
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 501 `notImplemented`: a path of the Graph API that backstore does not serve yet.
    #[error("{0}")]
    NotImplemented(String),
    /// 404 `ProtectionUnitNotFound`
    #[error("Protection unit '{0}' was not found.")]
    ProtectionUnitNotFound(String),
    /// 404 `RestorePointNotFound`
    #[error("Restore point '{0}' was not found.")]
    RestorePointNotFound(String),
    /// 400 `InvalidSearchRequest`: a restore point search or list Graph cannot run.
    #[error("Requested date time limit or protection unit ID is invalid: {0}")]
    InvalidSearchRequest(String),
    /// 400 `InvalidProtectionUnitId`
    #[error("Protection unit ID in request is invalid: {0}")]
    InvalidProtectionUnitId(String),
    /// 400 `FilterLengthExceeded`
    #[error("Filter length exceeds allowed limit of {0} characters.")]
    FilterLengthExceeded(usize),
    /// 403 `BackupServiceNotEnabled`: the tenant has not enabled Microsoft 365 Backup.
    #[error("Microsoft 365 Backup Storage is not enabled for this tenant. Enable it with POST /solutions/backupRestore/enable.")]
    ServiceNotEnabled,
    /// 403 `BackupServiceProtectionChangeLocked` / `BackupServiceRestoreLocked`: the tenant's service
    /// status forbids this change.
    #[error("The Microsoft 365 Backup Storage service of this tenant is {0}: {1}")]
    ServiceLocked(&'static str, &'static str),
    /// 400 `InvalidAppOwnerTenantId`
    #[error("{0}")]
    InvalidAppOwnerTenantId(String),
    /// 400 `BulkRestoreRestorationResourcesCountExceedsLimit`
    #[error("Bulk restore input limit exceeded: at most {0} resources per request.")]
    BulkResourcesLimit(usize),
    /// 400 `BulkRestoreInvalidCreateRequestSiteUrl`
    #[error("Bulk restore site web URL is invalid: '{0}'.")]
    BulkInvalidSiteUrl(String),
    /// 400 `BulkRestoreInvalidCreateRequestUserEmail`
    #[error("Bulk restore user email is invalid: '{0}'.")]
    BulkInvalidEmail(String),
    /// 400 `InvalidBulkRestoreArtifactId`
    #[error("Bulk restore request ID is invalid: '{0}'.")]
    InvalidBulkRequestId(String),
    /// 429 `TooManyRequests`: a throttling bucket is empty; `Retry-After` says when to come back.
    #[error("Too many requests. Retry after {retry_after_secs} seconds.")]
    TooManyRequests { retry_after_secs: u64 },
    /// 503 `serviceNotAvailable`: the database cannot be reached; nothing was done, and
    /// `Retry-After` says when to try again.
    #[error("The service is temporarily unavailable. Retry after {retry_after_secs} seconds.")]
    ServiceUnavailable { retry_after_secs: u64 },
    /// 404 `itemNotFound`: no such drive or drive item.
    #[error("{0}")]
    ItemNotFound(String),
    /// 409 `nameAlreadyExists`
    #[error("{0}")]
    NameAlreadyExists(String),
    /// 404 `ErrorItemNotFound`: no such mailbox, folder or message (Exchange's code and wording).
    #[error("The specified object was not found in the store.")]
    MailItemNotFound,
    /// 404 `ErrorInvalidUser`: no user of the tenant's directory has this id or name.
    #[error("The requested user '{0}' is invalid.")]
    MailInvalidUser(String),
    /// 409 `ErrorFolderExists`: a sibling folder has the name.
    #[error("A folder with the specified name already exists.")]
    MailFolderExists,
    /// 400 with Exchange's code for a mailbox operation it refuses (a well-known folder deleted).
    #[error("{1}")]
    MailRefused(&'static str, String),
    /// 409 `conflict`: the operation cannot run while something else holds what it needs (a
    /// database other processes are connected to).
    #[error("{0}")]
    Conflict(String),
    /// 409 `ErrorIrresolvableConflict`: the message changed while a write that rewrites it was
    /// under way (Exchange's change-key conflict).
    #[error(
        "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item."
    )]
    MailChanged,
    /// 413 `ErrorRequestEntityTooLarge`: MIME or an attachment past what Graph takes in one request.
    #[error("{0}")]
    MailTooLarge(String),
    /// 400 `invalidRequest`: a file operation Graph refuses (an invalid name, a move into itself).
    #[error("{0}")]
    InvalidRequest(String),
    /// 416 `invalidRange`: an upload fragment that is not the one the session expects.
    #[error("{0}")]
    FragmentRejected(String),
    /// 410 `resyncRequired`: a delta token backstore cannot continue from; start over without one.
    #[error("{0}")]
    ResyncRequired(String),
    /// 412 `resourceModified`: an `If-Match` that no longer matches.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 416 `invalidRange`: a `Range` outside the file (`Content-Range: bytes */size`).
    #[error("The requested range is outside the file's {size} bytes.")]
    RangeNotSatisfiable { size: u64 },
    /// A refusal with its own status and Graph code (browse sessions' and granular restores').
    #[error("{2}")]
    Refused(StatusCode, &'static str, String),
    /// A rule of the restore-session domain.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// 500: the cause is logged once, the body stays generic.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The one table of statuses and Graph codes.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "BadRequest"),
            ApiError::Refused(status, code, _) => (*status, code),
            ApiError::InvalidAuthenticationToken(_) => (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken"),
            ApiError::AccessDenied(_) => (StatusCode::FORBIDDEN, "accessDenied"),
            ApiError::ResourceNotFound(_) => (StatusCode::NOT_FOUND, "ResourceNotFound"),
            ApiError::MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
            ApiError::RequestEntityTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge"),
            ApiError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType"),
            ApiError::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, "RequestTimeout"),
            ApiError::HeadersTooLarge(_) => {
                (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "RequestHeaderFieldsTooLarge")
            }
            ApiError::NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, "notImplemented"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
            ApiError::ProtectionUnitNotFound(_) => (StatusCode::NOT_FOUND, "ProtectionUnitNotFound"),
            ApiError::RestorePointNotFound(_) => (StatusCode::NOT_FOUND, "RestorePointNotFound"),
            ApiError::InvalidSearchRequest(_) => (StatusCode::BAD_REQUEST, "InvalidSearchRequest"),
            ApiError::InvalidProtectionUnitId(_) => (StatusCode::BAD_REQUEST, "InvalidProtectionUnitId"),
            ApiError::FilterLengthExceeded(_) => (StatusCode::BAD_REQUEST, "FilterLengthExceeded"),
            ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests"),
            ApiError::ServiceUnavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "serviceNotAvailable"),
            ApiError::ServiceNotEnabled => (StatusCode::FORBIDDEN, "BackupServiceNotEnabled"),
            ApiError::ServiceLocked("restoreLocked", _) => (StatusCode::FORBIDDEN, "BackupServiceRestoreLocked"),
            ApiError::ServiceLocked(..) => (StatusCode::FORBIDDEN, "BackupServiceProtectionChangeLocked"),
            ApiError::BulkResourcesLimit(_) => {
                (StatusCode::BAD_REQUEST, "BulkRestoreRestorationResourcesCountExceedsLimit")
            }
            ApiError::BulkInvalidSiteUrl(_) => (StatusCode::BAD_REQUEST, "BulkRestoreInvalidCreateRequestSiteUrl"),
            ApiError::BulkInvalidEmail(_) => (StatusCode::BAD_REQUEST, "BulkRestoreInvalidCreateRequestUserEmail"),
            ApiError::InvalidBulkRequestId(_) => (StatusCode::BAD_REQUEST, "InvalidBulkRestoreArtifactId"),
            ApiError::InvalidAppOwnerTenantId(_) => (StatusCode::BAD_REQUEST, "InvalidAppOwnerTenantId"),
            ApiError::ItemNotFound(_) => (StatusCode::NOT_FOUND, "itemNotFound"),
            ApiError::NameAlreadyExists(_) => (StatusCode::CONFLICT, "nameAlreadyExists"),
            ApiError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalidRequest"),
            ApiError::MailItemNotFound => (StatusCode::NOT_FOUND, "ErrorItemNotFound"),
            ApiError::MailInvalidUser(_) => (StatusCode::NOT_FOUND, "ErrorInvalidUser"),
            ApiError::MailFolderExists => (StatusCode::CONFLICT, "ErrorFolderExists"),
            ApiError::MailRefused(code, _) => (StatusCode::BAD_REQUEST, code),
            ApiError::MailChanged => (StatusCode::CONFLICT, "ErrorIrresolvableConflict"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::MailTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "ErrorRequestEntityTooLarge"),
            ApiError::PreconditionFailed(_) => (StatusCode::PRECONDITION_FAILED, "resourceModified"),
            ApiError::ResyncRequired(_) => (StatusCode::GONE, "resyncRequired"),
            ApiError::FragmentRejected(_) => (StatusCode::RANGE_NOT_SATISFIABLE, "invalidRange"),
            ApiError::RangeNotSatisfiable { .. } => (StatusCode::RANGE_NOT_SATISFIABLE, "invalidRange"),
            ApiError::Rule(rule) => match rule {
                RuleError::SessionNotFound => (StatusCode::NOT_FOUND, "RestoreSessionNotFound"),
                RuleError::ArtifactNotFound => (StatusCode::NOT_FOUND, "ArtifactNotFound"),
                RuleError::NotDraft(_) => (StatusCode::FORBIDDEN, "RestoreSessionActionNotAllowed"),
                RuleError::EmptyArtifactList => (StatusCode::BAD_REQUEST, "InvalidArtifactRequest"),
                RuleError::TooManyActiveSessions => (StatusCode::INTERNAL_SERVER_ERROR, "TooManyActiveRestoreSessions"),
                RuleError::ArtifactLimit { on_create: true } => {
                    (StatusCode::PAYLOAD_TOO_LARGE, "RestoreArtifactsLimitBreached")
                }
                RuleError::ArtifactLimit { on_create: false } => {
                    (StatusCode::BAD_REQUEST, "RestoreArtifactsLimitBreached")
                }
                RuleError::DuplicateArtifact { .. } => (StatusCode::BAD_REQUEST, "DuplicateArtifactInList"),
                RuleError::MixedDestinations => (StatusCode::BAD_REQUEST, "DifferentRestoreDestinationType"),
                RuleError::MixedRestoreKinds => (StatusCode::BAD_REQUEST, "InvalidArtifactRequest"),
                RuleError::InvalidRestorePoint(_) | RuleError::RestorePointUnusable(_) => {
                    (StatusCode::BAD_REQUEST, "InvalidRestorePoint")
                }
                RuleError::InvalidDestination(_) => (StatusCode::BAD_REQUEST, "InvalidPathType"),
                RuleError::InvalidPatch(_) => (StatusCode::BAD_REQUEST, "InvalidPatchRequest"),
                RuleError::InvalidBulkRequest(_) => (StatusCode::BAD_REQUEST, "BulkRestoreInvalidCreateRequest"),
                RuleError::BulkRequestNotFound => (StatusCode::NOT_FOUND, "BulkRestoreArtifactsNotFound"),
                RuleError::BulkRequestNotFinished => (StatusCode::FORBIDDEN, "InvalidStateForBulkRequestDeletion"),
                RuleError::PolicyNotFound => (StatusCode::NOT_FOUND, "PolicyNotFound"),
                RuleError::InvalidCreateRequest(_) => (StatusCode::BAD_REQUEST, "InvalidCreateRequest"),
                RuleError::InvalidDisplayName => (StatusCode::BAD_REQUEST, "InvalidDisplayName"),
                RuleError::PolicyActionNotAllowed(_) => (StatusCode::FORBIDDEN, "PolicyActionNotAllowed"),
                RuleError::PolicyCreationNotAllowed | RuleError::FullServicePolicyExists => {
                    (StatusCode::CONFLICT, "PolicyCreationNotAllowed")
                }
                RuleError::UnitLimit => (StatusCode::PAYLOAD_TOO_LARGE, "ProtectionUnitsLimitBreached"),
                RuleError::DuplicateUnit(_) => (StatusCode::BAD_REQUEST, "DuplicateProtectionUnitInList"),
                RuleError::UnknownResource(_) => (StatusCode::BAD_REQUEST, "InvalidProtectionUnitId"),
                RuleError::UnitAlreadyProtected(_) => (StatusCode::CONFLICT, "ProtectionUnitAlreadyExists"),
                RuleError::UnitActionNotAllowed(_) => (StatusCode::BAD_REQUEST, "ProtectionUnitActionNotAllowed"),
                RuleError::UnitNotFound => (StatusCode::NOT_FOUND, "ProtectionUnitNotFound"),
                RuleError::OperationNotAllowed(_) => (StatusCode::FORBIDDEN, "OperationNotAllowed"),
                RuleError::InvalidRuleCreate(_) => (StatusCode::BAD_REQUEST, "InvalidInclusionRuleCreateRequest"),
                RuleError::InvalidRuleExpression(_) => (StatusCode::BAD_REQUEST, "InvalidRuleExpression"),
                RuleError::RuleGroupLimit(_) => {
                    (StatusCode::PAYLOAD_TOO_LARGE, "InvalidRuleExpressionGroupLimitExceeded")
                }
                RuleError::RuleNotFound => (StatusCode::NOT_FOUND, "ProtectionRuleNotFound"),
                RuleError::RuleActionNotAllowed(_) => (StatusCode::BAD_REQUEST, "ProtectionRuleActionNotAllowed"),
                RuleError::RunNotAllowedForDynamicRule => (StatusCode::BAD_REQUEST, "RunNotAllowedForDynamicRule"),
                RuleError::PatchNotAllowedForStaticRule => (StatusCode::BAD_REQUEST, "PatchNotAllowedForStaticRule"),
                RuleError::InvalidRulePatch(_) => (StatusCode::BAD_REQUEST, "InvalidProtectionRulePatchRequest"),
                RuleError::RuleStatusForDeletion(_) => {
                    (StatusCode::BAD_REQUEST, "InvalidProtectionRuleStatusForDeletion")
                }
                RuleError::ServiceAppNotFound => (StatusCode::NOT_FOUND, "ServiceAppNotFound"),
                RuleError::ServiceAppAlreadyExists(_) => (StatusCode::CONFLICT, "ServiceAppAlreadyExists"),
                RuleError::ServiceAppActionNotAllowed(_) => (StatusCode::BAD_REQUEST, "ServiceAppActionNotAllowed"),
            },
        }
    }

    /// The message clients see: the error's own text, except for 500s, which stay generic.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) => {
                "An internal server error occurred. The request id identifies it in the server log.".into()
            }
            other => other.to_string(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rule(rule) => ApiError::Rule(rule),
            StoreError::Query(e) => ApiError::BadRequest(e.to_string()),
            StoreError::ItemNotFound => ApiError::ItemNotFound("The resource could not be found.".into()),
            StoreError::NameExists(name) => {
                ApiError::NameAlreadyExists(format!("An item with the name '{name}' already exists in this location."))
            }
            StoreError::InvalidTreeChange(why) => ApiError::InvalidRequest(why),
            StoreError::Changed => ApiError::MailChanged,
            StoreError::NoSuchState(name) => ApiError::ItemNotFound(format!("No saved state is named '{name}'.")),
            e @ StoreError::BadStateName(_) => ApiError::BadRequest(format!("{e}.")),
            e @ StoreError::StateInUse { .. } => ApiError::Conflict(format!("{e}.")),
            other if other.is_unavailable() => {
                tracing::warn!(error = %other, "the database is unavailable");
                ApiError::ServiceUnavailable { retry_after_secs: DATABASE_RETRY_AFTER_SECS }
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<backstore_content::ContentError> for ApiError {
    fn from(e: backstore_content::ContentError) -> Self {
        ApiError::from(StoreError::from(e))
    }
}
