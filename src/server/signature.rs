//! `X-Hub-Signature-256`: HMAC-SHA256 of the raw body, compared in constant time.
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// True when `header` is `sha256=<hex>` of `body` under `secret`.
pub fn verify_sha256(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&sig).is_ok()
}

/// The header value GitHub would send for `body`; used by tests and benchmarks.
pub fn sign_sha256(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_its_own_signature() {
        let sig = sign_sha256(b"secret", b"{}");
        assert!(verify_sha256(b"secret", b"{}", &sig));
    }

    #[test]
    fn matches_githubs_documented_example() {
        // From GitHub's "Validating webhook deliveries" docs.
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(verify_sha256(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            sig
        ));
    }

    #[test]
    fn rejects_wrong_secret_body_or_format() {
        let sig = sign_sha256(b"secret", b"{}");
        assert!(!verify_sha256(b"other", b"{}", &sig));
        assert!(!verify_sha256(b"secret", b"{ }", &sig));
        assert!(!verify_sha256(
            b"secret",
            b"{}",
            sig.trim_start_matches("sha256=")
        ));
        assert!(!verify_sha256(b"secret", b"{}", "sha256=zz"));
        assert!(!verify_sha256(b"secret", b"{}", "sha1=abc"));
    }
}

/// True when `token` equals one of `secrets` (GitLab's `X-Gitlab-Token`). Digests are
/// compared so that neither the secrets' lengths nor which one matched leak through timing.
pub fn token_matches_any(token: &str, secrets: &[secrecy::SecretString]) -> bool {
    use secrecy::ExposeSecret;
    use subtle::ConstantTimeEq;
    let given = Sha256::digest(token.as_bytes());
    secrets
        .iter()
        .fold(subtle::Choice::from(0), |found, secret| {
            found | given.ct_eq(&Sha256::digest(secret.expose_secret().as_bytes()))
        })
        .into()
}

#[cfg(test)]
mod token_tests {
    use super::token_matches_any;

    #[test]
    fn any_configured_secret_is_accepted_and_nothing_else() {
        let secrets = vec!["old".into(), "new".into()];
        assert!(token_matches_any("old", &secrets));
        assert!(token_matches_any("new", &secrets));
        assert!(!token_matches_any("ne", &secrets));
        assert!(!token_matches_any("", &secrets));
        assert!(!token_matches_any("new ", &secrets));
        assert!(!token_matches_any("new", &[]));
    }
}
