//! Passwords, kept as SCRAM-SHA-256 verifiers (RFC 5802, RFC 7677) in PostgreSQL's text
//! form, `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`: a verifier lets the
//! server check a client's proof, and is not the password, nor enough to log in with.

use std::fmt;
use std::num::NonZeroU32;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac, pbkdf2};

use crate::error::Error;

/// PBKDF2 rounds of a new verifier: PostgreSQL's default.
pub(crate) const ITERATIONS: u32 = 4096;

const SALT_LEN: usize = 16;
const KEY_LEN: usize = 32;

/// A SCRAM-SHA-256 verifier.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Verifier {
    pub(crate) iterations: u32,
    pub(crate) salt: Vec<u8>,
    pub(crate) stored_key: [u8; KEY_LEN],
    pub(crate) server_key: [u8; KEY_LEN],
}

impl fmt::Debug for Verifier {
    /// No key material in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// The verifier of `password` with a fresh random salt.
    pub(crate) fn new(password: &str) -> Result<Self, Error> {
        let mut salt = vec![0; SALT_LEN];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| Error::execution("no random bytes for a password's salt"))?;
        Ok(Self::with_salt(password, salt, ITERATIONS))
    }

    /// The verifier of `password` with `salt`: what a client that knows the password
    /// derives from the salt and rounds the server sends it.
    pub(crate) fn with_salt(password: &str, salt: Vec<u8>, iterations: u32) -> Self {
        // SASLprep, as PostgreSQL does: a password it refuses is used as it is.
        let password = stringprep::saslprep(password)
            .map_or_else(|_| password.as_bytes().to_vec(), |p| p.as_bytes().to_vec());
        let mut salted = [0u8; KEY_LEN];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(iterations.max(1)).unwrap_or(NonZeroU32::MIN),
            &salt,
            &password,
            &mut salted,
        );
        let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
        let client_key = hmac::sign(&key, b"Client Key");
        let server_key = hmac::sign(&key, b"Server Key");
        let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
        Verifier {
            iterations,
            salt,
            stored_key: to_key(stored_key.as_ref()),
            server_key: to_key(server_key.as_ref()),
        }
    }

    /// A verifier in PostgreSQL's text form, as `CREATE USER .. PASSWORD` accepts one
    /// already hashed (what `pg_dumpall` writes).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored_key, server_key) = keys.split_once(':')?;
        let key = |text: &str| {
            let bytes = STANDARD.decode(text).ok()?;
            <[u8; KEY_LEN]>::try_from(bytes.as_slice()).ok()
        };
        Some(Verifier {
            iterations: iterations.parse().ok().filter(|&n| n > 0)?,
            salt: STANDARD.decode(salt).ok().filter(|s| !s.is_empty())?,
            stored_key: key(stored_key)?,
            server_key: key(server_key)?,
        })
    }

    /// Whether `password` is the one this verifier was made of (in time that does not
    /// depend on where the keys differ).
    #[cfg(test)]
    fn matches(&self, password: &str) -> bool {
        let other = Self::with_salt(password, self.salt.clone(), self.iterations);
        let differ = other
            .stored_key
            .iter()
            .zip(&self.stored_key)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        differ == 0
    }
}

impl fmt::Display for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(self.stored_key),
            STANDARD.encode(self.server_key)
        )
    }
}

fn to_key(bytes: &[u8]) -> [u8; KEY_LEN] {
    let mut key = [0; KEY_LEN];
    key.copy_from_slice(&bytes[..KEY_LEN]);
    key
}

/// A verifier for a user who does not exist, the same for the same name in one process:
/// the server goes through the whole exchange with it, so that a client learns no more
/// from an unknown name than from a wrong password.
pub(crate) fn decoy(user: &str, secret: &[u8]) -> Verifier {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let salt = hmac::sign(&key, user.as_bytes()).as_ref()[..SALT_LEN].to_vec();
    let mut keys = [0u8; KEY_LEN];
    // Keys that no password gives: the exchange fails at the client's proof.
    let _ = SystemRandom::new().fill(&mut keys);
    Verifier {
        iterations: ITERATIONS,
        salt,
        stored_key: keys,
        server_key: keys,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_matches_its_password_only() {
        let v = Verifier::new("correct horse").unwrap();
        assert!(v.matches("correct horse"));
        assert!(!v.matches("correct horsE"));
        assert!(!v.matches(""));
    }

    #[test]
    fn the_text_form_round_trips() {
        let v = Verifier::new("pw").unwrap();
        let text = v.to_string();
        assert!(text.starts_with("SCRAM-SHA-256$4096:"), "{text}");
        assert_eq!(Verifier::parse(&text), Some(v));
        for bad in [
            "",
            "md5abc",
            "SCRAM-SHA-256$0:c2FsdA==$AAAA:AAAA",
            "SCRAM-SHA-256$4096:$AAAA:AAAA",
            "SCRAM-SHA-256$4096:c2FsdA==$AAAA:AAAA",
            "SCRAM-SHA-256$4096:c2FsdA==",
        ] {
            assert_eq!(Verifier::parse(bad), None, "{bad}");
        }
    }

    /// RFC 7677's test vector: user "user", password "pencil", its salt and 4096 rounds.
    #[test]
    fn keys_are_those_of_rfc_7677() {
        let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let v = Verifier::with_salt("pencil", salt, 4096);
        // ServerSignature = HMAC(ServerKey, AuthMessage) = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
            r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
            c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let key = hmac::Key::new(hmac::HMAC_SHA256, &v.server_key);
        let signature = hmac::sign(&key, auth_message.as_bytes());
        assert_eq!(
            STANDARD.encode(signature.as_ref()),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    #[test]
    fn a_decoy_is_stable_per_name_and_matches_nothing() {
        let a = decoy("mallory", b"secret");
        assert_eq!(a.salt, decoy("mallory", b"secret").salt);
        assert_ne!(a.salt, decoy("eve", b"secret").salt);
        assert!(!a.matches("mallory"));
    }
}
