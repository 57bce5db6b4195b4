//! RSASSA-PKCS1-v1_5 with SHA-256 (RS256) verified by aws-lc's `RSA_verify` on an RSA key
//! parsed once.
//!
//! aws-lc-rs's verify call (`ParsedPublicKey::verify_sig`) creates an `EVP_MD_CTX` and an
//! `EVP_PKEY_CTX` and runs the digest-verify set-up on every call; on a 20 µs RSA-2048
//! verify that set-up is a measurable part of an edge validation. Here the same library
//! (aws-lc, through aws-lc-sys, the build aws-lc-rs links) hashes the message and checks
//! the signature against the key's cached `RSA` object: modulus, exponent and Montgomery
//! constants are computed once, when the key set is loaded.

// The only unsafe code in edge-auth: three aws-lc calls, each with its contract below.
#![allow(unsafe_code)]

use std::ptr::NonNull;

use aws_lc_rs::digest;
use aws_lc_sys as ffi;

/// An RSA public key in aws-lc's own representation, for RS256 verification.
pub(crate) struct Pkcs1Sha256Key(NonNull<ffi::RSA>);

// SAFETY: aws-lc's `RSA` object is safe to use from several threads for public-key
// operations: its only lazily computed state (the Montgomery context of the modulus) is
// set under the object's own lock (`BN_MONT_CTX_set_locked`), and nothing here mutates it
// otherwise after construction.
unsafe impl Send for Pkcs1Sha256Key {}
// SAFETY: see `Send`; `verify` takes `&self` and aws-lc synchronises internally.
unsafe impl Sync for Pkcs1Sha256Key {}

impl Pkcs1Sha256Key {
    /// The key from its big-endian modulus and public exponent; `None` when aws-lc
    /// refuses them (e.g. an even exponent, or one not smaller than the modulus).
    pub(crate) fn new(n: &[u8], e: &[u8]) -> Option<Self> {
        // SAFETY: `BN_bin2bn` reads exactly `len` bytes from a valid slice and returns a
        // fresh BIGNUM (or null on allocation failure); `RSA_new_public_key` copies both
        // BIGNUMs and checks the key, so they are freed here whatever it returns.
        unsafe {
            let n_bn = ffi::BN_bin2bn(n.as_ptr(), n.len(), std::ptr::null_mut());
            let e_bn = ffi::BN_bin2bn(e.as_ptr(), e.len(), std::ptr::null_mut());
            let rsa = if n_bn.is_null() || e_bn.is_null() {
                std::ptr::null_mut()
            } else {
                ffi::RSA_new_public_key(n_bn, e_bn)
            };
            ffi::BN_free(n_bn);
            ffi::BN_free(e_bn);
            NonNull::new(rsa).map(Self)
        }
    }

    /// Whether `signature` is this key's RS256 signature over `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let digest = digest::digest(&digest::SHA256, message);
        let digest = digest.as_ref();
        // SAFETY: both buffers are valid for the lengths passed; `RSA_verify` only reads
        // them and the key, checks the signature's length against the modulus itself, and
        // returns 1 only for a valid PKCS#1 v1.5 signature over a SHA-256 DigestInfo.
        let verified = unsafe {
            ffi::RSA_verify(
                ffi::NID_sha256,
                digest.as_ptr(),
                digest.len(),
                signature.as_ptr(),
                signature.len(),
                self.0.as_ptr(),
            )
        };
        if verified != 1 {
            // aws-lc queues the reason on the thread's error stack; a failed verify is an
            // expected outcome here, so it is cleared rather than left for the next caller.
            // SAFETY: no arguments; clears this thread's queue.
            unsafe { ffi::ERR_clear_error() };
        }
        verified == 1
    }
}

impl Drop for Pkcs1Sha256Key {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `RSA_new_public_key` and is freed exactly once.
        unsafe { ffi::RSA_free(self.0.as_ptr()) }
    }
}

impl std::fmt::Debug for Pkcs1Sha256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pkcs1Sha256Key")
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};

    use super::*;

    fn key_pair() -> RsaKeyPair {
        let pem = include_str!("../tests/data/rsa2048.key.pem");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap();
        RsaKeyPair::from_pkcs8(&der)
            .or_else(|_| RsaKeyPair::from_der(&der))
            .unwrap()
    }

    fn public(pair: &RsaKeyPair) -> Pkcs1Sha256Key {
        let components = aws_lc_rs::signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        Pkcs1Sha256Key::new(&components.n, &components.e).expect("a valid key")
    }

    #[test]
    fn verifies_what_aws_lc_rs_signs_and_nothing_else() {
        let pair = key_pair();
        let key = public(&pair);
        let mut signature = vec![0; pair.public_modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            b"header.claims",
            &mut signature,
        )
        .unwrap();
        assert!(key.verify(b"header.claims", &signature));
        assert!(!key.verify(b"header.claimz", &signature));
        let mut flipped = signature.clone();
        flipped[17] ^= 1;
        assert!(!key.verify(b"header.claims", &flipped));
        assert!(!key.verify(b"header.claims", &signature[1..]));
        assert!(!key.verify(b"header.claims", &[]));
    }

    #[test]
    fn refuses_a_key_aws_lc_refuses() {
        // An even exponent is not an RSA public key.
        assert!(Pkcs1Sha256Key::new(&[0xC5; 256], &[2]).is_none());
        assert!(Pkcs1Sha256Key::new(&[], &[1, 0, 1]).is_none());
    }
}
