//! RSASSA-PKCS1-v1_5 with SHA-256 (RS256) verified with aws-lc's Montgomery arithmetic on
//! an RSA key prepared once.
//!
//! aws-lc-rs's verify call (`ParsedPublicKey::verify_sig`) creates an `EVP_MD_CTX` and an
//! `EVP_PKEY_CTX` and runs the digest-verify set-up on every call, and even aws-lc's own
//! `RSA_verify` allocates a `BN_CTX` and two buffers, re-checks the key and runs the
//! general exponentiation (a window table, a final reduction) per call: about 25,000
//! instructions around the 18 Montgomery multiplications of an RSA-2048 verify with
//! e = 65537 (callgrind, 272,000 in all). Here the key's modulus, its Montgomery constants
//! and the expected encoding's fixed part are prepared when the key set loads, the
//! numbers live in per-thread scratch space, and a verify is exactly those multiplications
//! (through aws-lc's `BN_mod_mul_montgomery`, the same assembly `RSA_verify` reaches) and
//! one comparison with the encoding RFC 8017 §8.2.2 step 3 rebuilds.
//!
//! The exponent's last bit is always one (an RSA exponent is odd), so the last
//! multiplication takes the signature as it is rather than in Montgomery form, which
//! leaves the result out of Montgomery form without a separate reduction.

// The only unsafe code in edge-auth: aws-lc calls, each with its contract below.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ptr::NonNull;

use aws_lc_rs::digest;
use aws_lc_sys as ffi;

/// `DigestInfo` for SHA-256 up to the hash itself (RFC 8017 §9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
];
/// The shortest padding string PKCS#1 v1.5 allows (RFC 8017 §9.2 step 5).
const MIN_PADDING: usize = 8;

/// An RSA public key prepared for RS256 verification.
pub(crate) struct Pkcs1Sha256Key {
    /// The key as aws-lc checked it; it owns the modulus `mont` was made from.
    rsa: NonNull<ffi::RSA>,
    /// The modulus's Montgomery constants.
    mont: NonNull<ffi::BN_MONT_CTX>,
    /// The public exponent's bits after its leading one, most significant first.
    exponent_bits: Vec<bool>,
    /// The encoded message every valid signature decrypts to, but for the last 32 bytes
    /// (the hash): `00 01 FF…FF 00` and SHA-256's `DigestInfo` prefix.
    encoding_prefix: Vec<u8>,
}

// SAFETY: after construction the key is only read: `RSA` and `BN_MONT_CTX` objects are
// safe to read from several threads, and every verify writes only its own thread's
// scratch numbers.
unsafe impl Send for Pkcs1Sha256Key {}
// SAFETY: see `Send`.
unsafe impl Sync for Pkcs1Sha256Key {}

/// One thread's numbers for verifying, made on its first verify and kept.
struct Scratch {
    ctx: *mut ffi::BN_CTX,
    /// The signature; its Montgomery form; the running power, in two so that no call
    /// writes a number it reads.
    signature: *mut ffi::BIGNUM,
    signature_mont: *mut ffi::BIGNUM,
    power: [*mut ffi::BIGNUM; 2],
    encoded: Vec<u8>,
}

impl Scratch {
    fn new() -> Option<Self> {
        // SAFETY: allocation calls without arguments; a null result is checked below and
        // whatever was made is freed by `Drop`.
        let scratch = unsafe {
            Self {
                ctx: ffi::BN_CTX_new(),
                signature: ffi::BN_new(),
                signature_mont: ffi::BN_new(),
                power: [ffi::BN_new(), ffi::BN_new()],
                encoded: Vec::new(),
            }
        };
        let made = !scratch.ctx.is_null()
            && !scratch.signature.is_null()
            && !scratch.signature_mont.is_null()
            && scratch.power.iter().all(|bn| !bn.is_null());
        made.then_some(scratch)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: each pointer came from its allocator above (or is null, which both free
        // functions accept) and is freed exactly once.
        unsafe {
            for bn in [self.signature, self.signature_mont, self.power[0], self.power[1]] {
                ffi::BN_free(bn);
            }
            ffi::BN_CTX_free(self.ctx);
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
}

impl Pkcs1Sha256Key {
    /// The key from its big-endian modulus and public exponent; `None` when aws-lc
    /// refuses them (e.g. an even exponent, or one not smaller than the modulus).
    pub(crate) fn new(n: &[u8], e: &[u8]) -> Option<Self> {
        // SAFETY: `BN_bin2bn` reads exactly `len` bytes from a valid slice and returns a
        // fresh BIGNUM (or null on allocation failure); `RSA_new_public_key` copies both
        // BIGNUMs and checks the key, so they are freed here whatever it returns.
        let rsa = unsafe {
            let n_bn = ffi::BN_bin2bn(n.as_ptr(), n.len(), std::ptr::null_mut());
            let e_bn = ffi::BN_bin2bn(e.as_ptr(), e.len(), std::ptr::null_mut());
            let rsa = if n_bn.is_null() || e_bn.is_null() {
                std::ptr::null_mut()
            } else {
                ffi::RSA_new_public_key(n_bn, e_bn)
            };
            ffi::BN_free(n_bn);
            ffi::BN_free(e_bn);
            NonNull::new(rsa)?
        };
        // SAFETY: `rsa` is a valid key whose modulus aws-lc checked to be odd and of a
        // supported size, as `BN_MONT_CTX_new_for_modulus` requires; the result is owned
        // here (freed in `Drop`). The exponent is read bit by bit within its length.
        unsafe {
            let modulus = ffi::RSA_get0_n(rsa.as_ptr());
            let exponent = ffi::RSA_get0_e(rsa.as_ptr());
            let Some(mont) = NonNull::new(ffi::BN_MONT_CTX_new_for_modulus(modulus, std::ptr::null_mut())) else {
                ffi::RSA_free(rsa.as_ptr());
                return None;
            };
            let exponent_len = ffi::BN_num_bits(exponent) as i32;
            let exponent_bits: Vec<bool> = (0..exponent_len - 1)
                .rev()
                .map(|bit| ffi::BN_is_bit_set(exponent, bit) == 1)
                .collect();
            let modulus_len = (ffi::BN_num_bits(modulus) as usize).div_ceil(8);
            let key = Self {
                rsa,
                mont,
                exponent_bits,
                encoding_prefix: encoding_prefix(modulus_len),
            };
            // RSA_new_public_key refuses even exponents and 1, so the last bit is one.
            (exponent_len >= 2 && ffi::BN_is_bit_set(exponent, 0) == 1).then_some(key)
        }
    }

    /// Whether `signature` is this key's RS256 signature over `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let modulus_len = self.encoding_prefix.len() + 32;
        // RFC 8017 §8.2.2 step 1: the signature is exactly as long as the modulus.
        if signature.len() != modulus_len || self.encoding_prefix.is_empty() {
            return false;
        }
        let hash = digest::digest(&digest::SHA256, message);
        SCRATCH.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.is_none() {
                *slot = Scratch::new();
            }
            let Some(scratch) = slot.as_mut() else {
                return false;
            };
            let Some(encoded) = self.encrypt(scratch, signature) else {
                return false;
            };
            // `encrypt` gives exactly `modulus_len` bytes: the prefix, then the hash.
            let (prefix, rest) = encoded.split_at(self.encoding_prefix.len());
            prefix == self.encoding_prefix && rest == hash.as_ref()
        })
    }

    /// RSAVP1 (RFC 8017 §5.2.2) and I2OSP: `signature`^e mod n as `modulus_len` bytes,
    /// or `None` when the signature is not smaller than the modulus.
    fn encrypt<'s>(&self, scratch: &'s mut Scratch, signature: &[u8]) -> Option<&'s [u8]> {
        let modulus_len = self.encoding_prefix.len() + 32;
        let mont = self.mont.as_ptr();
        // SAFETY: every BIGNUM is this thread's own scratch number, valid and distinct;
        // `BN_mod_mul_montgomery` needs inputs below the modulus, which the comparison
        // ensures for the signature and aws-lc's results keep for the rest; no call writes
        // a number it also reads. `BN_bn2bin_padded` writes exactly `modulus_len` bytes.
        unsafe {
            let s = ffi::BN_bin2bn(signature.as_ptr(), signature.len(), scratch.signature);
            if s.is_null() || ffi::BN_ucmp(s, ffi::RSA_get0_n(self.rsa.as_ptr())) >= 0 {
                return None;
            }
            let s_mont = scratch.signature_mont;
            let ctx = scratch.ctx;
            if ffi::BN_to_montgomery(s_mont, s, mont, ctx) != 1 {
                return None;
            }
            // Left-to-right square-and-multiply from the leading bit (the power is then
            // `s_mont`); the last bit multiplies by `s` itself, which leaves Montgomery
            // form.
            let [mut power, mut spare] = scratch.power;
            let last = self.exponent_bits.len() - 1;
            let mut current = s_mont;
            for (index, set) in self.exponent_bits.iter().enumerate() {
                if ffi::BN_mod_mul_montgomery(power, current, current, mont, ctx) != 1 {
                    return None;
                }
                current = power;
                std::mem::swap(&mut power, &mut spare);
                if *set {
                    let factor = if index == last { s } else { s_mont };
                    if ffi::BN_mod_mul_montgomery(power, current, factor, mont, ctx) != 1 {
                        return None;
                    }
                    current = power;
                    std::mem::swap(&mut power, &mut spare);
                }
            }
            scratch.encoded.resize(modulus_len, 0);
            (ffi::BN_bn2bin_padded(scratch.encoded.as_mut_ptr(), modulus_len, current) == 1)
                .then_some(&scratch.encoded[..])
        }
    }
}

/// `00 01 FF…FF 00 DigestInfo` for a modulus of `modulus_len` bytes, all of EMSA-PKCS1-v1_5
/// (RFC 8017 §9.2) but the hash; empty when the modulus is too short for any.
fn encoding_prefix(modulus_len: usize) -> Vec<u8> {
    let fixed = 3 + SHA256_DIGEST_INFO.len() + 32;
    if modulus_len < fixed + MIN_PADDING {
        return Vec::new();
    }
    let mut prefix = vec![0x00, 0x01];
    prefix.resize(modulus_len - 32 - SHA256_DIGEST_INFO.len() - 1, 0xFF);
    prefix.push(0x00);
    prefix.extend_from_slice(&SHA256_DIGEST_INFO);
    prefix
}

impl Drop for Pkcs1Sha256Key {
    fn drop(&mut self) {
        // SAFETY: both pointers came from their constructors and are freed exactly once.
        unsafe {
            ffi::BN_MONT_CTX_free(self.mont.as_ptr());
            ffi::RSA_free(self.rsa.as_ptr());
        }
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

    /// The test key's private key, DER.
    fn private_der() -> Vec<u8> {
        let pem = include_str!("../tests/data/rsa2048.key.pem");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap()
    }

    fn key_pair() -> RsaKeyPair {
        let der = private_der();
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

    /// aws-lc's own verify of the same key, the reference.
    fn reference_verify(pair: &RsaKeyPair, message: &[u8], signature: &[u8]) -> bool {
        let components = aws_lc_rs::signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        components
            .verify(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256, message, signature)
            .is_ok()
    }

    /// `encoded`^d mod n with the test key: a "signature" whose RSAVP1 is `encoded`,
    /// whatever its padding says.
    fn raw_sign(encoded: &[u8]) -> Vec<u8> {
        let der = private_der();
        // SAFETY: a CBS over the DER bytes, which outlive it; the parsed key and its RSA
        // are freed here; `RSA_sign_raw` writes at most `out.len()` bytes.
        unsafe {
            let mut cbs = std::mem::zeroed::<ffi::CBS>();
            ffi::CBS_init(&raw mut cbs, der.as_ptr(), der.len());
            let pkey = ffi::EVP_parse_private_key(&raw mut cbs);
            assert!(!pkey.is_null());
            let rsa = ffi::EVP_PKEY_get1_RSA(pkey);
            assert!(!rsa.is_null());
            let mut out = vec![0_u8; encoded.len()];
            let mut out_len = 0;
            let signed = ffi::RSA_sign_raw(
                rsa,
                &raw mut out_len,
                out.as_mut_ptr(),
                out.len(),
                encoded.as_ptr(),
                encoded.len(),
                ffi::RSA_NO_PADDING,
            );
            ffi::RSA_free(rsa);
            ffi::EVP_PKEY_free(pkey);
            assert_eq!(signed, 1, "the raw private operation works");
            out.truncate(out_len);
            out
        }
    }

    /// `00 01 FF…FF 00`, then `info` and `tail`, 256 bytes in all: EMSA-PKCS1-v1_5's
    /// shape with any `DigestInfo` and whatever follows it.
    fn emsa(info: &[u8], tail: &[u8]) -> Vec<u8> {
        let mut em = vec![0x00, 0x01];
        em.resize(256 - tail.len() - info.len() - 1, 0xFF);
        em.push(0x00);
        em.extend_from_slice(info);
        em.extend_from_slice(tail);
        em
    }

    /// Encodings that are almost EMSA-PKCS1-v1_5, each signed with the private key so
    /// that only the padding is wrong: every one is decided as aws-lc decides it.
    #[test]
    fn decides_crafted_encodings_as_aws_lc_does() {
        let pair = key_pair();
        let key = public(&pair);
        let message = b"header.claims";
        let hash = digest::digest(&digest::SHA256, message);
        let valid = {
            let mut em = encoding_prefix(256);
            em.extend_from_slice(hash.as_ref());
            em
        };
        let with = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut em = valid.clone();
            edit(&mut em);
            em
        };
        let sha1_info = [
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
        ];
        let cases: Vec<(&str, Vec<u8>, bool)> = vec![
            ("valid", valid.clone(), true),
            ("block type 2", with(&|em| em[1] = 0x02), false),
            ("a zero in the padding", with(&|em| em[40] = 0x00), false),
            ("no separator", with(&|em| em[256 - 52] = 0xFF), false),
            ("a wrong hash", with(&|em| em[255] ^= 1), false),
            (
                "DigestInfo without NULL parameters",
                emsa(
                    &[
                        0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x04,
                        0x20,
                    ],
                    hash.as_ref(),
                ),
                false,
            ),
            ("SHA-1 DigestInfo", emsa(&sha1_info, &hash.as_ref()[..20]), false),
            (
                "the hash moved left (garbage after it)",
                emsa(&SHA256_DIGEST_INFO, &[hash.as_ref(), &[0; 4]].concat()),
                false,
            ),
        ];
        for (name, em, expected) in cases {
            assert_eq!(em.len(), 256, "{name}");
            let signature = raw_sign(&em);
            assert_eq!(
                reference_verify(&pair, message, &signature),
                expected,
                "aws-lc on {name}"
            );
            assert_eq!(key.verify(message, &signature), expected, "{name}");
        }
    }

    proptest::proptest! {
        /// Any signature-sized bytes (most not below the modulus), any bit flipped in a
        /// valid signature, any message: the same decision as aws-lc's.
        #[test]
        fn agrees_with_aws_lc_on_any_input(
            message in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            random in proptest::collection::vec(proptest::prelude::any::<u8>(), 256),
            flip in 0_usize..2048,
        ) {
            let pair = key_pair();
            let key = public(&pair);
            let mut signature = vec![0; pair.public_modulus_len()];
            pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), &message, &mut signature).unwrap();
            proptest::prop_assert!(key.verify(&message, &signature));
            let mut flipped = signature.clone();
            flipped[flip / 8] ^= 1 << (flip % 8);
            for candidate in [&flipped, &random] {
                proptest::prop_assert_eq!(key.verify(&message, candidate), reference_verify(&pair, &message, candidate));
            }
        }
    }

    #[test]
    fn refuses_a_key_aws_lc_refuses() {
        // An even exponent is not an RSA public key.
        assert!(Pkcs1Sha256Key::new(&[0xC5; 256], &[2]).is_none());
        assert!(Pkcs1Sha256Key::new(&[], &[1, 0, 1]).is_none());
    }
}
