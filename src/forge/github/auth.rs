//! GitHub App authentication: short-lived App JWTs, exchanged for installation tokens
//! that are cached until shortly before they expire.

use super::SetupError;
use crate::domain::InstallationId;
use crate::forge::{ForgeError, ForgeResult};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

/// GitHub rejects an `iat` in its future; backdating absorbs clock drift.
const CLOCK_DRIFT: Duration = Duration::seconds(60);
/// GitHub caps an App JWT's lifetime at 10 minutes; stay under it.
const JWT_LIFETIME: Duration = Duration::minutes(9);
/// A cached installation token is replaced this long before it expires, so a token
/// never runs out in the middle of a job.
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);

/// The claims GitHub expects in an App JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppClaims {
    pub iat: i64,
    pub exp: i64,
    /// The App id.
    pub iss: String,
}

/// Signs App JWTs (RS256) with the App's private key.
pub struct AppSigner {
    app_id: u64,
    key: EncodingKey,
}

impl fmt::Debug for AppSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppSigner")
            .field("app_id", &self.app_id)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

impl AppSigner {
    /// Fails when the PEM is not an RSA private key that can sign; checked by signing
    /// once, since parsing alone accepts some unusable keys.
    pub fn new(app_id: u64, private_key_pem: &SecretString) -> Result<Self, SetupError> {
        let key = EncodingKey::from_rsa_pem(private_key_pem.expose_secret().as_bytes())
            .map_err(SetupError::InvalidPrivateKey)?;
        let signer = Self { app_id, key };
        signer
            .jwt_at(OffsetDateTime::now_utc())
            .map_err(SetupError::InvalidPrivateKey)?;
        Ok(signer)
    }

    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    /// The claims of a JWT minted at `now`.
    pub fn claims_at(&self, now: OffsetDateTime) -> AppClaims {
        AppClaims {
            iat: (now - CLOCK_DRIFT).unix_timestamp(),
            exp: (now + JWT_LIFETIME).unix_timestamp(),
            iss: self.app_id.to_string(),
        }
    }

    pub fn jwt_at(&self, now: OffsetDateTime) -> Result<SecretString, jsonwebtoken::errors::Error> {
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &self.claims_at(now),
            &self.key,
        )?;
        Ok(SecretString::from(token))
    }

    /// A JWT valid now, to authenticate as the App itself.
    pub fn jwt(&self) -> ForgeResult<SecretString> {
        self.jwt_at(OffsetDateTime::now_utc())
            .map_err(|e| ForgeError::Permanent(format!("could not sign the App JWT: {e}")))
    }
}

/// An installation access token and when GitHub will stop accepting it.
#[derive(Debug, Clone)]
pub struct InstallationToken {
    pub token: SecretString,
    pub expires_at: OffsetDateTime,
}

impl InstallationToken {
    fn fresh_at(&self, now: OffsetDateTime) -> bool {
        now + REFRESH_MARGIN < self.expires_at
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<InstallationToken>>>;

/// Installation tokens by installation. Each installation has its own async lock, held
/// during a refresh, so concurrent callers share one refresh instead of racing.
#[derive(Debug, Default)]
pub struct TokenCache {
    slots: Mutex<HashMap<InstallationId, Slot>>,
}

impl TokenCache {
    fn slot(&self, installation: InstallationId) -> Slot {
        // A poisoned map only means another thread panicked while inserting an Arc;
        // the map itself is still consistent.
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(installation).or_default().clone()
    }

    /// The cached token when it is still fresh, else the one `refresh` obtains (cached).
    pub async fn get_or_refresh<F, Fut>(
        &self,
        installation: InstallationId,
        refresh: F,
    ) -> ForgeResult<SecretString>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ForgeResult<InstallationToken>>,
    {
        let slot = self.slot(installation);
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref() {
            if token.fresh_at(OffsetDateTime::now_utc()) {
                return Ok(token.token.clone());
            }
        }
        let token = refresh().await?;
        let secret = token.token.clone();
        *cached = Some(token);
        Ok(secret)
    }

    /// Forgets `rejected` (GitHub answered 401 to it), unless another caller has
    /// already replaced it with a newer token.
    pub async fn invalidate(&self, installation: InstallationId, rejected: &SecretString) {
        let slot = self.slot(installation);
        let mut cached = slot.lock().await;
        if cached
            .as_ref()
            .is_some_and(|t| t.token.expose_secret() == rejected.expose_secret())
        {
            *cached = None;
        }
    }
}
