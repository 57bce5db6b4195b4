//! Edge authorisation for private wikis behind CloudFront: a JWT validator with edge
//! semantics, the CloudFront Function that performs the same checks, a local runner for
//! that function, CloudFront signed cookies, and a comparison of the three options.
//!
//! The key design decision: **the key decides, never the token**. A [`KeySet`] finds keys
//! by `kid` and every [`Key`] pins its [`Algorithm`]; a token whose `alg` header differs is
//! denied before any cryptography runs, which rules out `alg: none` and RS→HS key confusion
//! by construction. Header and claims are parsed here, strictly (duplicate JSON members,
//! `crit`, `jku`/`x5u`/`jwk`/`x5c` and padded base64 are all denied), because jsonwebtoken
//! is lax about them; jsonwebtoken (aws-lc-rs backend) verifies the signatures.
//!
//! The generated `cloudfront-js-2.0` function ([`cff`]) runs the same checks in the same
//! order, and the [`runner`] executes it in an embedded QuickJS with the edge's 2 MB memory
//! limit, so a parity test can hold both to identical decisions. [`budget`] answers whether
//! RS256 fits a CloudFront Function, [`cookies`] makes and checks signed cookies, and
//! [`compare`] tabulates the three options with the provenance of every figure.
//!
//! ```
//! use edge_auth::{Algorithm, Key, KeySet, Policy, Validator, DenyReason};
//!
//! let secret = b"an-hs256-secret-of-at-least-32-bytes!";
//! let keys = KeySet::new().with(Key::hmac("k1", Algorithm::HS256, secret)?)?;
//! let policy = Policy { wiki_domain: Some("wiki.example".into()), ..Policy::default() };
//! let validator = Validator::new(keys, policy);
//!
//! let claims = serde_json::json!({"sub": "ann", "tenant": "acme", "exp": 2_000_000_000});
//! let token = edge_auth::sign_hs(Algorithm::HS256, "k1", secret, &claims)?;
//! let decision = validator.validate(&token, Some("acme.wiki.example"), 1_700_000_000.0);
//! assert!(decision.is_allow());
//!
//! // The same token on another tenant's wiki is denied, with a machine-readable reason.
//! let decision = validator.validate(&token, Some("other.wiki.example"), 1_700_000_000.0);
//! assert_eq!(decision.reason(), Some(DenyReason::WrongTenant));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

#[cfg(feature = "aws")]
pub mod aws;
mod b64;
pub mod budget;
pub mod cff;
pub mod compare;
pub mod cookies;
pub mod cwt;
mod error;
mod fields;
pub mod keygen;
mod keys;
pub mod parity;
mod rsa_pkcs1;
pub mod runner;
mod sign;
mod token;
mod validate;

pub use error::Error;
pub use keys::{Algorithm, Key, KeySet};
pub use sign::sign_hs;
pub use validate::{Claims, Decision, DenyReason, EdgeRequest, Policy, Validator, tenant_from_host};
