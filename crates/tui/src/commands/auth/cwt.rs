//! `coldfront auth cwt`: CloudFront's native CWT option — issue CBOR Web Tokens (COSE_Mac0,
//! HMAC-SHA256), generate the CloudFront Function that checks them with `cf.cwt`, and check
//! one as that function would.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use edge_auth::cff::{self, CwtFunctionOptions, KeySource};
use edge_auth::cwt::{self, CwtClaims, CwtDecision, CwtKey, CwtValidator, SignOptions};

use super::{PolicyArgs, load_keys, now_s, print_json};
use crate::exit;
use crate::output::outln;

#[derive(Debug, Clone, Subcommand)]
pub(super) enum CwtCommand {
    /// Issue a CWT (COSE_Mac0, HMAC 256/256) signed with an HS256 key of the key set
    #[command(after_help = "\
Examples:
  coldfront auth cwt sign --keys keys.json --tenant acme --sub ann --ttl-s 3600
  coldfront auth cwt sign --keys keys.json --kid hs-2 --tenant acme --iss https://login.example --aud wiki --ttl-s 600 --json

The token is printed as unpadded base64url, ready for `Authorization: Bearer` or the token
cookie. Claims use RFC 8392's labels (iss 1, sub 2, aud 3, exp 4, nbf 5, iat 6, cti 7); the
tenant is the text key \"tenant\". CloudFront's cf.cwt refuses tokens over 1 KB (exit 2).
Exit codes: 0 issued, 2 bad usage.")]
    Sign(CwtSignArgs),
    /// Generate the cloudfront-js-2.0 function that checks CWTs with the native cf.cwt module
    #[command(
        name = "cf-function",
        after_help = "\
Examples:
  coldfront auth cwt cf-function --keys keys.json --wiki-domain wiki.example --out cwt-auth.js
  coldfront auth cwt cf-function --keys keys.json --wiki-domain wiki.example --iss https://login.example --aud wiki --json
  coldfront auth cwt cf-function --keys keys.json --wiki-domain wiki.example --kvs --out cwt-auth.js

Every HS256 key of the key set is tried in order (list the current key first), inlined or,
with --kvs, read from the KeyValueStore under <prefix><kid> (the entries to upload are
printed; each is bound to HS256 and its kid);
cf.cwt verifies the MAC, the function checks exp, nbf, iss, aud and the tenant against the
Host. Exit codes: 0 written, 2 bad usage."
    )]
    CfFunction(CwtFunctionArgs),
    /// Check one CWT as the generated function would: exit 0 allow, 1 deny
    #[command(after_help = "\
Examples:
  coldfront auth cwt verify --keys keys.json --wiki-domain wiki.example --host acme.wiki.example 2D3RhEOhAQWh...
  coldfront auth cwt verify --keys keys.json --wiki-domain wiki.example --host acme.wiki.example --json - < token.txt

Exit codes: 0 allow, 1 deny (the reason is printed), 2 bad usage.")]
    Verify(CwtVerifyArgs),
}

#[derive(Debug, Clone, Args)]
pub(super) struct CwtSignArgs {
    /// Key set file; the token is MACed with one of its HS256 keys
    #[arg(long, value_name = "FILE")]
    keys: PathBuf,
    /// The HS256 key to sign with [default: the only one]
    #[arg(long, value_name = "KID")]
    kid: Option<String>,
    /// The tenant (wiki subdomain) the token is for
    #[arg(long, value_name = "TENANT")]
    tenant: Option<String>,
    /// Subject (`sub`)
    #[arg(long, value_name = "SUB")]
    sub: Option<String>,
    /// Issuer (`iss`)
    #[arg(long, value_name = "ISS")]
    iss: Option<String>,
    /// Audience (`aud`)
    #[arg(long, value_name = "AUD")]
    aud: Option<String>,
    /// Lifetime from now, in seconds (sets `exp`; `iat` is now)
    #[arg(long, value_name = "SECONDS", conflicts_with = "exp_s")]
    ttl_s: Option<u64>,
    /// Expiry as a Unix time, in seconds
    #[arg(long, value_name = "SECONDS")]
    exp_s: Option<i64>,
    /// Not before, as a Unix time in seconds
    #[arg(long, value_name = "SECONDS")]
    nbf_s: Option<i64>,
    /// Token id (`cti`), in hex
    #[arg(long, value_name = "HEX")]
    cti: Option<String>,
    /// Leave out the CWT tag (61); the COSE_Mac0 tag (17) is always there
    #[arg(long)]
    no_cwt_tag: bool,
    /// Print the token, its sizes and claims as JSON
    #[arg(long)]
    json: bool,
}

// Each bool is an independent command-line flag, not a hidden state machine.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Args)]
pub(super) struct CwtFunctionArgs {
    /// Key set file (its HS256 keys are used, in order)
    #[arg(long, value_name = "FILE")]
    keys: PathBuf,
    /// Read the keys from the CloudFront KeyValueStore instead of inlining them
    #[arg(long)]
    kvs: bool,
    /// KeyValueStore key prefix (the key is `<prefix><kid>`) [default: cwt-hs256-]
    #[arg(long, value_name = "PREFIX", requires = "kvs")]
    kvs_prefix: Option<String>,
    /// Write the function here instead of standard output
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Minify even when the readable source fits
    #[arg(long)]
    minify: bool,
    /// Put the deny reason in an x-edge-auth-reason response header (debugging)
    #[arg(long)]
    expose_reason: bool,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Print code, size and KeyValueStore entries as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Args)]
pub(super) struct CwtVerifyArgs {
    /// Key set file (its HS256 keys are tried in order)
    #[arg(long, value_name = "FILE")]
    keys: PathBuf,
    /// The request's Host header (the wiki's subdomain is the tenant)
    #[arg(long, value_name = "HOST")]
    host: Option<String>,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Check at this Unix time instead of now, in seconds
    #[arg(long, value_name = "SECONDS")]
    now_s: Option<f64>,
    /// Print the decision as JSON
    #[arg(long)]
    json: bool,
    /// The token (base64url), or `-` to read it from standard input
    #[arg(value_name = "TOKEN")]
    token: String,
}

pub(super) fn run(command: &CwtCommand) -> anyhow::Result<u8> {
    match command {
        CwtCommand::Sign(args) => sign(args),
        CwtCommand::CfFunction(args) => cf_function(args),
        CwtCommand::Verify(args) => verify(args),
    }
}

/// The key set's HS256 keys as CWT keys, refused (exit 2) when there is none.
fn cwt_keys(path: &std::path::Path) -> anyhow::Result<Vec<CwtKey>> {
    let keys = CwtKey::from_key_set(&load_keys(path)?)?;
    if keys.is_empty() {
        bail!(
            "{} has no HS256 key: CloudFront's cf.cwt verifies HMAC-SHA256 only (add one with `coldfront auth keys generate --alg HS256 --keys {}`)",
            path.display(),
            path.display()
        );
    }
    Ok(keys)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn sign(args: &CwtSignArgs) -> anyhow::Result<u8> {
    let keys = cwt_keys(&args.keys)?;
    let key = match &args.kid {
        Some(kid) => keys.iter().find(|k| k.kid() == kid).with_context(|| {
            let kids: Vec<&str> = keys.iter().map(CwtKey::kid).collect();
            format!(
                "{} has no HS256 key {kid:?}; its HS256 keys are {}",
                args.keys.display(),
                kids.join(", ")
            )
        })?,
        None if keys.len() == 1 => &keys[0],
        None => {
            let kids: Vec<&str> = keys.iter().map(CwtKey::kid).collect();
            bail!(
                "{} has {} HS256 keys: pass --kid (one of {})",
                args.keys.display(),
                keys.len(),
                kids.join(", ")
            );
        }
    };
    #[allow(clippy::cast_possible_truncation)]
    let now = now_s() as i64;
    let exp = match (args.exp_s, args.ttl_s) {
        (Some(at), _) => at,
        (None, Some(ttl)) => now.saturating_add(i64::try_from(ttl).context("--ttl-s is too large")?),
        (None, None) => bail!("give --ttl-s or --exp-s: the edge function refuses a token without exp"),
    };
    let cti = match &args.cti {
        None => None,
        Some(text) => Some(unhex(text).with_context(|| format!("--cti {text:?} is not hex (e.g. 0b71)"))?),
    };
    let claims = CwtClaims {
        iss: args.iss.clone(),
        sub: args.sub.clone(),
        aud: args.aud.clone(),
        exp: Some(exp),
        nbf: args.nbf_s,
        iat: Some(now),
        cti,
        tenant: args.tenant.clone(),
    };
    let options = SignOptions {
        cwt_tag: !args.no_cwt_tag,
        ..SignOptions::default()
    };
    let token = cwt::issue(&claims, key, &options);
    if token.len() > cwt::MAX_TOKEN_BYTES {
        bail!(
            "the token is {} bytes; CloudFront's cf.cwt refuses tokens over {} bytes: shorten the claims",
            token.len(),
            cwt::MAX_TOKEN_BYTES
        );
    }
    let text = cwt::to_text(&token);
    if args.json {
        print_json(&serde_json::json!({
            "token": text,
            "token_bytes": text.len(),
            "cbor_bytes": token.len(),
            "kid": key.kid(),
            "alg": "HMAC 256/256",
            "claims": claims,
        }))?;
    } else {
        outln!("{text}");
    }
    Ok(exit::OK)
}

fn cf_function(args: &CwtFunctionArgs) -> anyhow::Result<u8> {
    let keys = cwt_keys(&args.keys)?;
    let options = CwtFunctionOptions {
        key_source: if args.kvs {
            KeySource::KeyValueStore {
                prefix: args
                    .kvs_prefix
                    .clone()
                    .unwrap_or_else(CwtFunctionOptions::default_kvs_prefix),
            }
        } else {
            KeySource::Inline
        },
        expose_reason: args.expose_reason,
        force_minify: args.minify,
    };
    let function = cff::generate_cwt(&keys, &args.policy.policy()?, &options)?;
    super::emit_function(
        &function,
        args.out.as_deref(),
        args.json,
        &format!("CWT function (cf.cwt, keys {})", function.kids.join(", ")),
    )
}

fn verify(args: &CwtVerifyArgs) -> anyhow::Result<u8> {
    let token = super::token_argument(&args.token)?;
    let validator = CwtValidator::new(cwt_keys(&args.keys)?, args.policy.policy()?);
    let decision = validator.validate(&token, args.host.as_deref(), args.now_s.unwrap_or_else(now_s));
    if args.json {
        print_json(&decision)?;
    } else {
        match &decision {
            CwtDecision::Allow { kid, claims } => {
                outln!("allow  kid {kid}  alg HMAC 256/256");
                for (name, value) in claims {
                    outln!("  {}: {value}", claim_name(name));
                }
            }
            CwtDecision::Deny { reason, detail } => match detail {
                Some(detail) => outln!("deny   {reason} ({detail})"),
                None => outln!("deny   {reason}"),
            },
        }
    }
    Ok(if decision.is_allow() { exit::OK } else { 1 })
}

/// An RFC 8392 label with its name (`exp (4)`), other keys as they are.
fn claim_name(key: &str) -> String {
    let name = match key {
        "1" => "iss",
        "2" => "sub",
        "3" => "aud",
        "4" => "exp",
        "5" => "nbf",
        "6" => "iat",
        "7" => "cti",
        _ => return key.to_owned(),
    };
    format!("{name} ({key})")
}
