//! `coldfront auth`: edge authorisation for private wikis — check a JWT as the edge would,
//! generate and run the CloudFront Function, measure whether RS256 fits, make and check
//! signed cookies, and compare the three options. A thin front end over `edge-auth`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use edge_auth::budget::{BudgetOptions, BudgetReport};
use edge_auth::cff::{self, FunctionOptions, KeySource, RsaVariant};
use edge_auth::compare::{CompareOptions, Comparison};
use edge_auth::cookies::{self, CookiePolicy, HashAlgorithm};
use edge_auth::runner::{EdgeRunner, RunnerOptions};
use edge_auth::{Algorithm, Decision, KeySet, Policy, Validator};

mod cwt;

use crate::edge_rows::{provenance, support};
use crate::exit;
use crate::output::{out, outln};

#[derive(Debug, Clone, Args)]
pub(crate) struct AuthArgs {
    #[command(subcommand)]
    command: AuthCommand,
}

#[derive(Debug, Clone, Subcommand)]
enum AuthCommand {
    /// Check one JWT as the edge would: exit 0 allow, 1 deny, 2 bad usage
    #[command(after_help = "\
Examples:
  coldfront auth verify --keys keys.json --host acme.wiki.example eyJhbGciOi...
  coldfront auth verify --keys keys.json --host acme.wiki.example --iss https://login.example --aud wiki - < token.txt
  coldfront auth verify --keys jwks.json --host acme.wiki.example --json TOKEN

The key set file is {\"keys\": [...]}: each entry has \"kid\", a pinned \"alg\" (HS256, HS384,
HS512, RS256, PS256, ES256, EdDSA) and one of \"secret\", \"secret_b64\", \"pem\", \"pem_file\"
or JWK members (a JWKS whose keys carry kid and alg works as it is).
Exit codes: 0 allow, 1 deny (the reason is printed), 2 bad usage.")]
    Verify(VerifyArgs),
    /// Generate the cloudfront-js-2.0 viewer-request function that performs the same checks
    #[command(
        name = "cf-function",
        after_help = "\
Examples:
  coldfront auth cf-function --alg HS256 --keys keys.json --wiki-domain wiki.example --out auth.js
  coldfront auth cf-function --alg RS256 --variant limbs --keys keys.json --kvs --out auth.js
  coldfront auth cf-function --alg RS256 --keys keys.json --json > function.json

The size is reported against CloudFront's 10 KB limit; a function that does not fit even
minified is refused (exit 2). With --kvs the keys go to the KeyValueStore under
<prefix><kid>; the entries to upload are printed."
    )]
    CfFunction(CfFunctionArgs),
    /// Run a CloudFront Function locally (QuickJS, 2 MB) on an event and report its cost
    #[command(
        name = "run-function",
        after_help = "\
Examples:
  coldfront auth run-function auth.js --event event.json
  coldfront auth run-function auth.js --event event.json --kvs kvs.json --now-s 1700000000 --json

The event is a CloudFront viewer-request event ({\"version\":\"1.0\",\"request\":{...}}); the
KeyValueStore file is a JSON object of key to string value."
    )]
    RunFunction(RunFunctionArgs),
    /// Does RS256 fit a CloudFront Function? Measure HS256 and both RS256 variants
    #[command(
        name = "edge-budget",
        after_help = "\
Examples:
  coldfront auth edge-budget
  coldfront auth edge-budget --budget-ms 0.5 --quick --json
  coldfront auth edge-budget --aws-function coldfront-auth-test

The 1 ms default budget is an ASSUMPTION (AWS documents only \"submillisecond\"). With
--aws-function and AWS credentials (environment or profile files), the RS256 function is
written to that function's DEVELOPMENT stage and CloudFront TestFunction reports the real
ComputeUtilization; the LIVE stage is never touched."
    )]
    EdgeBudget(EdgeBudgetArgs),
    /// Make keys for a key set, or import them from a JWKS, PEM files or a {kid: key} dict
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Make or check CloudFront signed URLs
    #[command(subcommand)]
    Url(UrlCommand),
    /// Make or check CloudFront signed cookies
    #[command(subcommand)]
    Cookie(CookieCommand),
    /// Compare signed cookies, a CloudFront Function and Lambda@Edge
    #[command(after_help = "\
Examples:
  coldfront auth compare
  coldfront auth compare --quick --json

Latency is measured locally, cost comes from the price table (sources.md §Prices), and every
figure says where it comes from.")]
    Compare(CompareArgs),
    /// CloudFront's native CWT option: issue CWTs, generate the cf.cwt function, check one
    #[command(subcommand)]
    Cwt(cwt::CwtCommand),
}

#[derive(Debug, Clone, Args)]
struct PolicyArgs {
    /// Required issuer (`iss`)
    #[arg(long, value_name = "ISS")]
    iss: Option<String>,
    /// Required audience (`aud`); without it, tokens that carry `aud` are denied
    #[arg(long, value_name = "AUD")]
    aud: Option<String>,
    /// Clock skew allowed on exp and nbf, in seconds
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    leeway_s: u64,
    /// The claim that must equal the wiki's subdomain
    #[arg(long, default_value = "tenant", value_name = "CLAIM")]
    tenant_claim: String,
    /// Do not scope tokens to a tenant
    #[arg(long)]
    no_tenant: bool,
    /// The wiki domain: Host must be <tenant>.<DOMAIN> [default: the first of three or more labels]
    #[arg(long, value_name = "DOMAIN")]
    wiki_domain: Option<String>,
    /// The cookie that carries the token when there is no Authorization: Bearer header
    #[arg(long, default_value = "token", value_name = "NAME")]
    cookie_name: String,
    /// Longest token accepted, in bytes
    #[arg(long, default_value_t = 4096, value_name = "BYTES")]
    max_token_bytes: usize,
}

impl PolicyArgs {
    /// The policy, refused (exit 2, saying what to set) when it cannot work as given.
    fn policy(&self) -> anyhow::Result<Policy> {
        let policy = Policy {
            issuer: self.iss.clone(),
            audience: self.aud.clone(),
            leeway_s: self.leeway_s,
            tenant_claim: (!self.no_tenant).then(|| self.tenant_claim.clone()),
            wiki_domain: self.wiki_domain.clone(),
            cookie_name: self.cookie_name.clone(),
            max_token_bytes: self.max_token_bytes,
        };
        policy.check()?;
        Ok(policy)
    }
}

#[derive(Debug, Clone, Args)]
struct VerifyArgs {
    /// Key set file (JSON; see below)
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
    /// The token, or `-` to read it from standard input
    #[arg(value_name = "TOKEN")]
    token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EdgeAlg {
    #[value(name = "HS256")]
    Hs256,
    #[value(name = "RS256")]
    Rs256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Variant {
    Bigint,
    Limbs,
    Auto,
}

// Each bool is an independent command-line flag, not a hidden state machine.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Args)]
struct CfFunctionArgs {
    /// The algorithm the function pins
    #[arg(long, value_enum)]
    alg: EdgeAlg,
    /// Key set file (only keys pinned to --alg are used)
    #[arg(long, value_name = "FILE")]
    keys: PathBuf,
    /// RS256 arithmetic: BigInt, Number limbs (no BigInt needed), or both
    #[arg(long, value_enum, default_value = "bigint")]
    variant: Variant,
    /// Read keys from the CloudFront KeyValueStore instead of inlining them
    #[arg(long)]
    kvs: bool,
    /// KeyValueStore key prefix (the key is `<prefix><kid>`) [default: jwt-hs256- or jwt-rs256-,
    /// one per algorithm, so two functions sharing a store never read each other's keys]
    #[arg(long, value_name = "PREFIX")]
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
    /// Print code, size and KVS entries as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Args)]
struct RunFunctionArgs {
    /// The function's JavaScript source
    #[arg(value_name = "FILE")]
    function: PathBuf,
    /// The viewer-request event (JSON)
    #[arg(long, value_name = "FILE")]
    event: PathBuf,
    /// KeyValueStore contents: a JSON object of key to string value
    #[arg(long, value_name = "FILE")]
    kvs: Option<PathBuf>,
    /// Freeze Date.now() at this Unix time, in seconds [default: now]
    #[arg(long, value_name = "SECONDS")]
    now_s: Option<f64>,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Args)]
struct EdgeBudgetArgs {
    /// The per-request budget, in milliseconds (1 ms is an assumption)
    #[arg(long, default_value_t = edge_auth::budget::DEFAULT_BUDGET_MS, value_name = "MS")]
    budget_ms: f64,
    /// Fewer samples
    #[arg(long)]
    quick: bool,
    /// Also test on CloudFront: write the RS256 function to this function's DEVELOPMENT stage and run TestFunction
    #[arg(long, value_name = "NAME")]
    aws_function: Option<String>,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Subcommand)]
enum CookieCommand {
    /// Sign CloudFront cookies (canned or custom policy)
    #[command(after_help = "\
Examples:
  coldfront auth cookie sign --key private.pem --key-pair-id K2JCJMDEHXQW5F --resource 'https://acme.wiki.example/*' --ttl-s 3600
  coldfront auth cookie sign --key ec.pem --key-pair-id K2J... --resource 'https://acme.wiki.example/*' --ttl-s 600 --ip 192.0.2.0/24 --hash sha256 --json")]
    Sign(CookieSignArgs),
    /// Check CloudFront cookies as CloudFront would: exit 0 allow, 1 deny
    #[command(after_help = "\
Examples:
  coldfront auth cookie verify --public-key public.pem --url https://acme.wiki.example/Home --cookies 'CloudFront-Expires=...; CloudFront-Signature=...; CloudFront-Key-Pair-Id=...'")]
    Verify(CookieVerifyArgs),
}

#[derive(Debug, Clone, Subcommand)]
enum KeysCommand {
    /// Generate a key and add it to a key set (rotation: old keys stay until you remove them)
    #[command(after_help = "\
Examples:
  coldfront auth keys generate --alg RS256                     keys.json + rs256-<date>.key.pem/.pub.pem here
  coldfront auth keys generate --alg HS256 --kid hs-2 --keys keys.json
  coldfront auth keys generate --alg ES256 --out keys/ --json

Public-key entries point at their .pub.pem; the private .key.pem is written with mode 0600
and never enters the key set. HMAC secrets live in the key set, which is then made 0600.")]
    Generate(KeysGenerateArgs),
    /// Import keys into a key set: a JWKS (what identity providers publish), PEM public keys,
    /// or a PyJWT-style {kid: key} dictionary
    #[command(after_help = "\
Examples:
  coldfront auth keys import --jwks jwks.json --keys keys.json
  coldfront auth keys import --jwks cognito-jwks.json --alg RS256
  coldfront auth keys import --pem idp.pub.pem --kid idp-2026 --alg RS256
  coldfront auth keys import --pyjwt keys-by-kid.json --alg HS256")]
    Import(KeysImportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KeyAlg {
    #[value(name = "HS256")]
    Hs256,
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "ES256")]
    Es256,
}

#[derive(Debug, Clone, Args)]
struct KeysGenerateArgs {
    /// The algorithm the key is pinned to
    #[arg(long, value_enum)]
    alg: KeyAlg,
    /// Key id [default: <alg>-<YYYYMMDD>, e.g. rs256-20261202]
    #[arg(long, value_name = "KID")]
    kid: Option<String>,
    /// Where the PEM files go
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// The key set to add to (created when missing) [default: DIR/keys.json]
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// Print what was written as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["jwks", "pem", "pyjwt"])))]
struct KeysImportArgs {
    /// A JWKS file ({"keys": [...]})
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// A PEM public key (needs --kid and --alg)
    #[arg(long, value_name = "FILE", requires_all = ["kid", "alg"])]
    pem: Option<PathBuf>,
    /// A JSON object mapping each kid to its key (PEM or secret) or to {"key", "alg"}
    #[arg(long, value_name = "FILE")]
    pyjwt: Option<PathBuf>,
    /// Key id, for --pem
    #[arg(long, value_name = "KID")]
    kid: Option<String>,
    /// Algorithm for entries that do not name one
    #[arg(long, value_name = "ALG")]
    alg: Option<String>,
    /// The key set to add to (created when missing)
    #[arg(long, value_name = "FILE", default_value = "keys.json")]
    keys: PathBuf,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Subcommand)]
enum UrlCommand {
    /// Sign a URL (canned policy for the URL itself, custom for wildcards, a start time or an IP range)
    #[command(after_help = "\
Examples:
  coldfront auth url sign --key private.pem --key-pair-id K2JCJMDEHXQW5F --url https://acme.wiki.example/Home --ttl-s 3600
  coldfront auth url sign --key ec.pem --key-pair-id K2J... --url https://acme.wiki.example/Home --resource 'https://acme.wiki.example/*' --ttl-s 600 --hash sha1")]
    Sign(UrlSignArgs),
    /// Check a signed URL as CloudFront would: exit 0 allow, 1 deny
    #[command(after_help = "\
Examples:
  coldfront auth url verify --public-key public.pem --url 'https://acme.wiki.example/Home?Expires=...&Signature=...&Key-Pair-Id=...'")]
    Verify(UrlVerifyArgs),
}

#[derive(Debug, Clone, Args)]
struct UrlSignArgs {
    /// Private key PEM (RSA-2048 or ECDSA P-256; PKCS#8, PKCS#1 or SEC1)
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The CloudFront public key id
    #[arg(long, value_name = "ID")]
    key_pair_id: String,
    /// The URL to sign (absolute, no fragment, no CloudFront signing parameters)
    #[arg(long, value_name = "URL")]
    url: String,
    /// The policy's resource when it differs from the URL (`*` wildcards; custom policy)
    #[arg(long, value_name = "PATTERN")]
    resource: Option<String>,
    #[command(flatten)]
    signing: SigningArgs,
}

#[derive(Debug, Clone, Args)]
struct UrlVerifyArgs {
    /// Public key PEM (SPKI `PUBLIC KEY`)
    #[arg(long, value_name = "FILE")]
    public_key: PathBuf,
    /// The signed URL
    #[arg(long, value_name = "URL")]
    url: String,
    /// The viewer's IPv4 address
    #[arg(long, value_name = "IP")]
    ip: Option<String>,
    /// Check at this Unix time instead of now, in seconds
    #[arg(long, value_name = "SECONDS")]
    now_s: Option<u64>,
    /// Print as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Hash {
    Sha1,
    Sha256,
}

#[derive(Debug, Clone, Args)]
struct CookieSignArgs {
    /// Private key PEM (RSA-2048 or ECDSA P-256; PKCS#8, PKCS#1 or SEC1)
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The CloudFront public key id
    #[arg(long, value_name = "ID")]
    key_pair_id: String,
    /// The resource URL, `*` wildcards allowed
    #[arg(long, value_name = "URL")]
    resource: String,
    #[command(flatten)]
    signing: SigningArgs,
}

/// What signed cookies and signed URLs share: the policy's time window and IP range, the
/// digest, and the output.
#[derive(Debug, Clone, Args)]
struct SigningArgs {
    /// Lifetime from now, in seconds
    #[arg(
        long,
        value_name = "SECONDS",
        conflicts_with = "expires_s",
        required_unless_present = "expires_s"
    )]
    ttl_s: Option<u64>,
    /// Expiry as a Unix time, in seconds
    #[arg(long, value_name = "SECONDS")]
    expires_s: Option<u64>,
    /// Not valid before this Unix time, in seconds (custom policy)
    #[arg(long, value_name = "SECONDS")]
    not_before_s: Option<u64>,
    /// Allowed viewer IPv4 range (custom policy)
    #[arg(long, value_name = "CIDR")]
    ip: Option<String>,
    /// Use a custom policy even when a canned one would do
    #[arg(long)]
    custom: bool,
    /// Signature digest (CloudFront's default is SHA1; SHA256 is sent as Hash-Algorithm=SHA256)
    #[arg(long, value_enum, default_value = "sha256")]
    hash: Hash,
    /// Print as JSON
    #[arg(long)]
    json: bool,
}

impl SigningArgs {
    /// The policy for `resource`, with the expiry counted from now when given as a lifetime.
    fn policy(&self, resource: &str) -> anyhow::Result<CookiePolicy> {
        let expires = match (self.expires_s, self.ttl_s) {
            (Some(at), _) => at,
            (None, Some(ttl)) => now_s() as u64 + ttl,
            (None, None) => bail!("give --ttl-s or --expires-s"),
        };
        Ok(CookiePolicy {
            resource: resource.to_owned(),
            expires_epoch_s: expires,
            not_before_epoch_s: self.not_before_s,
            source_ip: self.ip.clone(),
        })
    }

    fn hash(&self) -> HashAlgorithm {
        match self.hash {
            Hash::Sha1 => HashAlgorithm::Sha1,
            Hash::Sha256 => HashAlgorithm::Sha256,
        }
    }
}

#[derive(Debug, Clone, Args)]
struct CookieVerifyArgs {
    /// Public key PEM (SPKI `PUBLIC KEY`)
    #[arg(long, value_name = "FILE")]
    public_key: PathBuf,
    /// The requested URL
    #[arg(long, value_name = "URL")]
    url: String,
    /// The Cookie header (`name=value; name=value`)
    #[arg(long, value_name = "HEADER")]
    cookies: String,
    /// The viewer's IPv4 address
    #[arg(long, value_name = "IP")]
    ip: Option<String>,
    /// Check at this Unix time instead of now, in seconds
    #[arg(long, value_name = "SECONDS")]
    now_s: Option<u64>,
    /// Print as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Args)]
struct CompareArgs {
    /// Fewer samples
    #[arg(long)]
    quick: bool,
    /// The CloudFront Function budget, in milliseconds (1 ms is an assumption)
    #[arg(long, value_name = "MS")]
    budget_ms: Option<f64>,
    /// Print as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: AuthArgs) -> anyhow::Result<u8> {
    match args.command {
        AuthCommand::Verify(args) => verify(&args),
        AuthCommand::CfFunction(args) => cf_function(&args),
        AuthCommand::RunFunction(args) => run_function(&args),
        AuthCommand::EdgeBudget(args) => edge_budget(&args).await,
        AuthCommand::Keys(KeysCommand::Generate(args)) => keys_generate(&args),
        AuthCommand::Keys(KeysCommand::Import(args)) => keys_import(&args),
        AuthCommand::Url(UrlCommand::Sign(args)) => url_sign(&args),
        AuthCommand::Url(UrlCommand::Verify(args)) => url_verify(&args),
        AuthCommand::Cookie(CookieCommand::Sign(args)) => cookie_sign(&args),
        AuthCommand::Cookie(CookieCommand::Verify(args)) => cookie_verify(&args),
        AuthCommand::Compare(args) => compare(&args).await,
        AuthCommand::Cwt(command) => cwt::run(&command),
    }
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn read(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read the {what} {}", path.display()))
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The token given on the command line, or read from standard input for `-`, trimmed.
fn token_argument(given: &str) -> anyhow::Result<String> {
    let token = if given == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the token from standard input")?;
        text.trim().to_owned()
    } else {
        given.trim().to_owned()
    };
    if token.is_empty() {
        bail!("the token is empty: pass it as the last argument, or `-` to read it from standard input");
    }
    Ok(token)
}

fn load_keys(path: &Path) -> anyhow::Result<KeySet> {
    KeySet::load(path).context("the key set cannot be used (see `coldfront auth verify --help` for the format)")
}

fn verify(args: &VerifyArgs) -> anyhow::Result<u8> {
    let token = token_argument(&args.token)?;
    let validator = Validator::new(load_keys(&args.keys)?, args.policy.policy()?);
    let decision = validator.validate(&token, args.host.as_deref(), args.now_s.unwrap_or_else(now_s));
    if args.json {
        print_json(&decision)?;
    } else {
        match &decision {
            Decision::Allow { kid, alg, claims } => {
                outln!("allow  kid {kid}  alg {alg}");
                for (name, value) in claims.to_map() {
                    outln!("  {name}: {value}");
                }
            }
            Decision::Deny { reason } => outln!("deny   {reason}"),
        }
    }
    Ok(if decision.is_allow() { exit::OK } else { 1 })
}

fn cf_function(args: &CfFunctionArgs) -> anyhow::Result<u8> {
    let keys = load_keys(&args.keys)?;
    let alg = match args.alg {
        EdgeAlg::Hs256 => Algorithm::HS256,
        EdgeAlg::Rs256 => Algorithm::RS256,
    };
    let options = FunctionOptions {
        alg,
        rsa_variant: match args.variant {
            Variant::Bigint => RsaVariant::BigInt,
            Variant::Limbs => RsaVariant::Limbs,
            Variant::Auto => RsaVariant::Auto,
        },
        key_source: if args.kvs {
            KeySource::KeyValueStore {
                prefix: args
                    .kvs_prefix
                    .clone()
                    .unwrap_or_else(|| KeySource::default_kvs_prefix(alg)),
            }
        } else {
            KeySource::Inline
        },
        expose_reason: args.expose_reason,
        force_minify: args.minify,
    };
    let function = cff::generate(&keys, &args.policy.policy()?, &options)?;
    let what = format!(
        "{} function{}",
        function.alg,
        function
            .rsa_variant
            .map(|v| format!(" ({})", v.as_str()))
            .unwrap_or_default()
    );
    emit_function(&function, args.out.as_deref(), args.json, &what)
}

/// Writes a generated function to `out` or standard output (or its JSON description), and
/// says on stderr what was written where and which KeyValueStore entries to upload.
fn emit_function(function: &cff::GeneratedFunction, out: Option<&Path>, json: bool, what: &str) -> anyhow::Result<u8> {
    if let Some(out) = out {
        std::fs::write(out, &function.code).with_context(|| format!("cannot write {}", out.display()))?;
    }
    if json {
        print_json(function)?;
        return Ok(exit::OK);
    }
    if out.is_none() {
        out!("{}", function.code);
        if crate::output::closed() {
            // Nobody read it: saying it was written would be untrue.
            return Ok(exit::OK);
        }
    }
    let target = out.map_or_else(|| "standard output".to_owned(), |p| p.display().to_string());
    eprintln!(
        "{what}: {} bytes of {} ({:.0}%){}, written to {target}",
        function.size_bytes,
        function.limit_bytes,
        100.0 * function.size_bytes as f64 / function.limit_bytes as f64,
        if function.minified { ", minified" } else { "" },
    );
    for entry in &function.kvs_entries {
        eprintln!("KeyValueStore entry to upload: {} = {}", entry.key, entry.value);
    }
    Ok(exit::OK)
}

fn run_function(args: &RunFunctionArgs) -> anyhow::Result<u8> {
    let source = read(&args.function, "function")?;
    let event_text = read(&args.event, "event")?;
    let event: serde_json::Value = serde_json::from_str(&event_text).with_context(|| {
        format!(
            "{} is not JSON; expected a CloudFront viewer-request event",
            args.event.display()
        )
    })?;
    if event.get("request").is_none() {
        bail!(
            "{}: the event has no \"request\" object (see `coldfront auth run-function --help`)",
            args.event.display()
        );
    }
    let kvs: BTreeMap<String, String> = match &args.kvs {
        Some(path) => serde_json::from_str(&read(path, "KeyValueStore file")?)
            .with_context(|| format!("{} must be a JSON object of key to string value", path.display()))?,
        None => BTreeMap::new(),
    };
    let runner = EdgeRunner::load(
        &source,
        &RunnerOptions {
            kvs,
            ..RunnerOptions::default()
        },
    )
    .with_context(|| format!("cannot load {}", args.function.display()))?;
    let outcome = runner.run(&event, args.now_s.unwrap_or_else(now_s) * 1000.0)?;
    if args.json {
        print_json(&outcome)?;
    } else {
        match (&outcome.error, outcome.status) {
            (Some(error), _) => outln!("error (the viewer gets 503): {error}"),
            (None, Some(status)) => outln!(
                "response {status}{}",
                outcome
                    .deny_reason()
                    .map(|r| format!("  reason {r}"))
                    .unwrap_or_default()
            ),
            (None, None) => outln!("request passed on (allowed)"),
        }
        outln!("{}", serde_json::to_string_pretty(&outcome.output)?);
        outln!(
            "cost: {:.3} ms, {} interrupt checks (~10,000 back-jumps/calls each), {} bytes of engine memory (limit 2 MB)",
            outcome.duration_us / 1000.0,
            outcome.interrupt_checks,
            outcome.memory_used_bytes
        );
        for line in &outcome.logs {
            outln!("log: {line}");
        }
    }
    Ok(if outcome.error.is_some() { 1 } else { exit::OK })
}

#[derive(Debug, serde::Serialize)]
struct EdgeBudgetOutput {
    #[serde(flatten)]
    report: BudgetReport,
    aws: AwsOutcome,
}

#[derive(Debug, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum AwsOutcome {
    Skipped { why: String },
    Tested { report: edge_auth::aws::TestFunctionReport },
}

async fn edge_budget(args: &EdgeBudgetArgs) -> anyhow::Result<u8> {
    if args.budget_ms.is_nan() || args.budget_ms <= 0.0 {
        bail!(
            "--budget-ms must be a positive number of milliseconds, not {}",
            args.budget_ms
        );
    }
    let options = BudgetOptions {
        budget_ms: args.budget_ms,
        quick: args.quick,
    };
    let report = tokio::task::spawn_blocking(move || edge_auth::budget::measure(&options)).await??;
    let aws = match &args.aws_function {
        None => AwsOutcome::Skipped {
            why: "not asked for: pass --aws-function NAME (with AWS credentials) to run CloudFront TestFunction".into(),
        },
        Some(name) => match edge_auth::aws::client_from_environment().await {
            Err(why) => AwsOutcome::Skipped { why },
            Ok(client) => {
                let fixture_function = edge_auth::budget::rs256_probe_function()?;
                let report =
                    edge_auth::aws::publish_and_test(&client, name, &fixture_function.0, &fixture_function.1).await?;
                AwsOutcome::Tested { report }
            }
        },
    };
    let output = EdgeBudgetOutput { report, aws };
    if args.json {
        print_json(&output)?;
        return Ok(exit::OK);
    }
    let r = &output.report;
    outln!("CloudFront Function cost per request, measured locally (QuickJS, 2 MB limit, valid token)");
    outln!(
        "{:<14} {:>10} {:>10} {:>14} {:>8} {:>6}  budget",
        "function",
        "median",
        "p90",
        "work (checks)",
        "size",
        "token"
    );
    for v in &r.variants {
        outln!(
            "{:<14} {:>7.3} ms {:>7.3} ms {:>14.1} {:>8} {:>6}  {}",
            v.name,
            v.per_request_ms,
            v.p90_ms,
            v.interrupt_checks_per_request,
            v.size_bytes,
            v.token_bytes,
            if v.within_budget { "within" } else { "OVER" }
        );
    }
    outln!("\nbudget: {} ms — {}", r.budget_ms, r.budget_provenance);
    outln!("verdict: {}", r.verdict_summary);
    outln!("{}", r.hs256_fallback);
    match &output.aws {
        AwsOutcome::Skipped { why } => outln!("\nAWS TestFunction: skipped — {why}"),
        AwsOutcome::Tested { report } => outln!(
            "\nAWS TestFunction ({} DEVELOPMENT): ComputeUtilization {} {}{}",
            report.function_name,
            report
                .compute_utilization
                .map_or_else(|| "not reported".to_owned(), |u| u.to_string()),
            report.utilization_band.as_deref().unwrap_or_default(),
            report
                .function_error_message
                .as_deref()
                .map(|e| format!(", error: {e}"))
                .unwrap_or_default()
        ),
    }
    Ok(exit::OK)
}

fn cookie_sign(args: &CookieSignArgs) -> anyhow::Result<u8> {
    let pem = read(&args.key, "private key")?;
    let policy = args.signing.policy(&args.resource)?;
    let canned = !args.signing.custom && policy.is_canned();
    let hash = args.signing.hash();
    let signed = cookies::sign_cookies(&pem, &args.key_pair_id, &policy, canned, hash)
        .with_context(|| format!("cannot sign with {}", args.key.display()))?;
    if args.signing.json {
        print_json(&signed)?;
    } else {
        outln!(
            "# {} policy, {:?}, {:?}: {}",
            if canned { "canned" } else { "custom" },
            signed.key_kind,
            signed.hash,
            signed.policy_json
        );
        for header in signed.set_cookie_headers("Path=/; Secure; HttpOnly") {
            outln!("Set-Cookie: {header}");
        }
    }
    Ok(exit::OK)
}

/// Writes `text` to a new file, refusing to replace one; `private` files get mode 0600.
fn write_new(path: &Path, text: &str, private: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(path)
        .with_context(|| {
            format!(
                "cannot create {} (it must not exist yet; keys are never overwritten)",
                path.display()
            )
        })?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes a key set document, 0600 when it holds a secret, through a temporary file so a
/// failure never leaves half a key set behind.
fn write_key_set(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let holds_secret = text.contains("\"secret") || text.contains("\"k\"");
    let temp = path.with_extension("json.new");
    std::fs::write(&temp, text).with_context(|| format!("cannot write {}", temp.display()))?;
    std::fs::set_permissions(
        &temp,
        std::fs::Permissions::from_mode(if holds_secret { 0o600 } else { 0o644 }),
    )
    .with_context(|| format!("cannot set the mode of {}", temp.display()))?;
    std::fs::rename(&temp, path).with_context(|| format!("cannot replace {}", path.display()))
}

fn keys_generate(args: &KeysGenerateArgs) -> anyhow::Result<u8> {
    let alg = match args.alg {
        KeyAlg::Hs256 => Algorithm::HS256,
        KeyAlg::Rs256 => Algorithm::RS256,
        KeyAlg::Es256 => Algorithm::ES256,
    };
    let kid = args.kid.clone().unwrap_or_else(|| {
        format!(
            "{}-{}",
            alg.as_str().to_ascii_lowercase(),
            chrono::Local::now().format("%Y%m%d")
        )
    });
    let keys_path = args.keys.clone().unwrap_or_else(|| args.out.join("keys.json"));
    super::check_out_dir(&args.out, "--out")?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let key = edge_auth::keygen::generate(alg, &kid)?;
    let existing = match std::fs::read_to_string(&keys_path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", keys_path.display())),
    };
    let mut entry = key.entry.clone();
    let mut written = Vec::new();
    if let (Some(private), Some(public)) = (&key.private_pem, &key.public_pem) {
        let private_path = args.out.join(format!("{kid}.key.pem"));
        let public_path = args.out.join(format!("{kid}.pub.pem"));
        // The entry names the public PEM relative to the key set file.
        let base = keys_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let absolute = std::path::absolute(&public_path)?;
        let relative = absolute
            .strip_prefix(std::path::absolute(base)?)
            .map_or_else(|_| absolute.clone(), Path::to_path_buf);
        entry["pem_file"] = serde_json::Value::from(relative.display().to_string());
        write_new(&private_path, private, true)?;
        write_new(&public_path, public, false)?;
        written.push(private_path.display().to_string());
        written.push(public_path.display().to_string());
    }
    let base = keys_path.parent().filter(|p| !p.as_os_str().is_empty());
    let text = edge_auth::keygen::merge(existing.as_deref(), vec![entry], base)
        .with_context(|| format!("cannot add the key to {}", keys_path.display()))?;
    write_key_set(&keys_path, &text)?;
    written.push(keys_path.display().to_string());
    if args.json {
        print_json(&serde_json::json!({"kid": kid, "alg": alg, "written": written}))?;
    } else {
        outln!("{alg} key {kid:?} added to {}", keys_path.display());
        for path in &written[..written.len() - 1] {
            outln!("  wrote {path}");
        }
        if alg.is_hmac() {
            outln!("  the secret is in the key set (mode 0600); share it only with the token issuer");
        } else {
            outln!("  the private key signs tokens at the issuer; only the public key goes to the edge");
        }
    }
    Ok(exit::OK)
}

fn keys_import(args: &KeysImportArgs) -> anyhow::Result<u8> {
    let alg: Option<Algorithm> = match &args.alg {
        None => None,
        Some(name) => Some(name.parse().map_err(|_: edge_auth::Error| {
            anyhow::anyhow!("--alg {name:?} is not one of HS256, HS384, HS512, RS256, PS256, ES256, EdDSA")
        })?),
    };
    let (entries, skipped, source) = if let Some(path) = &args.jwks {
        let (entries, skipped) = edge_auth::keygen::from_jwks(&read(path, "JWKS")?, alg)
            .with_context(|| format!("cannot import {}", path.display()))?;
        (entries, skipped, path)
    } else if let Some(path) = &args.pem {
        let (Some(kid), Some(alg)) = (&args.kid, alg) else {
            bail!("--pem needs --kid and --alg");
        };
        let entry = edge_auth::keygen::from_pem(&read(path, "PEM")?, alg, kid)
            .with_context(|| format!("cannot import {}", path.display()))?;
        (vec![entry], Vec::new(), path)
    } else if let Some(path) = &args.pyjwt {
        let entries = edge_auth::keygen::from_pyjwt_dict(&read(path, "key dictionary")?, alg)
            .with_context(|| format!("cannot import {}", path.display()))?;
        (entries, Vec::new(), path)
    } else {
        bail!("give --jwks, --pem or --pyjwt");
    };
    let existing = match std::fs::read_to_string(&args.keys) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", args.keys.display())),
    };
    let kids: Vec<String> = entries
        .iter()
        .filter_map(|e| e.get("kid").and_then(serde_json::Value::as_str).map(str::to_owned))
        .collect();
    let base = args.keys.parent().filter(|p| !p.as_os_str().is_empty());
    let text = edge_auth::keygen::merge(existing.as_deref(), entries, base)
        .with_context(|| format!("cannot add the keys of {} to {}", source.display(), args.keys.display()))?;
    write_key_set(&args.keys, &text)?;
    if args.json {
        print_json(&serde_json::json!({"imported": kids, "skipped": skipped, "keys": args.keys}))?;
    } else {
        outln!(
            "{} key(s) from {} added to {}: {}",
            kids.len(),
            source.display(),
            args.keys.display(),
            kids.join(", ")
        );
        for s in &skipped {
            outln!("  skipped {s}");
        }
    }
    Ok(exit::OK)
}

fn url_sign(args: &UrlSignArgs) -> anyhow::Result<u8> {
    let pem = read(&args.key, "private key")?;
    let policy = args.signing.policy(args.resource.as_deref().unwrap_or(&args.url))?;
    let canned = !args.signing.custom && policy.is_canned() && policy.resource == args.url;
    let hash = args.signing.hash();
    let signed = cookies::sign_url(&pem, &args.key_pair_id, &args.url, &policy, canned, hash)
        .with_context(|| format!("cannot sign with {}", args.key.display()))?;
    if args.signing.json {
        print_json(&serde_json::json!({
            "url": signed,
            "canned": canned,
            "policy_json": policy.to_json(),
            "hash": hash,
        }))?;
    } else {
        outln!("{signed}");
    }
    Ok(exit::OK)
}

fn url_verify(args: &UrlVerifyArgs) -> anyhow::Result<u8> {
    let pem = read(&args.public_key, "public key")?;
    let verdict = cookies::verify_url(
        &pem,
        &args.url,
        args.ip.as_deref(),
        args.now_s.unwrap_or_else(|| now_s() as u64),
    )?;
    print_verdict(&verdict, args.json)
}

fn print_verdict(verdict: &cookies::CookieVerdict, json: bool) -> anyhow::Result<u8> {
    if json {
        print_json(verdict)?;
    } else {
        match verdict.deny {
            None => outln!("allow  key pair {}", verdict.key_pair_id.as_deref().unwrap_or("?")),
            Some(reason) => outln!("deny   {}", serde_json::to_value(reason)?.as_str().unwrap_or_default()),
        }
        if let Some(policy) = &verdict.policy_json {
            outln!("  policy: {policy}");
        }
    }
    Ok(if verdict.deny.is_none() { exit::OK } else { 1 })
}

fn cookie_verify(args: &CookieVerifyArgs) -> anyhow::Result<u8> {
    let pem = read(&args.public_key, "public key")?;
    let pairs = cookies::parse_cookie_header(&args.cookies);
    let verdict = cookies::verify_cookies(
        &pem,
        &pairs,
        &args.url,
        args.ip.as_deref(),
        args.now_s.unwrap_or_else(|| now_s() as u64),
    )?;
    print_verdict(&verdict, args.json)
}

async fn compare(args: &CompareArgs) -> anyhow::Result<u8> {
    let options = CompareOptions {
        quick: args.quick,
        budget_ms: args.budget_ms,
    };
    let comparison: Comparison = tokio::task::spawn_blocking(move || edge_auth::compare::compare(&options)).await??;
    if args.json {
        print_json(&comparison)?;
        return Ok(exit::OK);
    }
    outln!(
        "{:<44} {:>12} {:>12}  {:<6} {:<6} {:<7} {:<8}",
        "option",
        "latency",
        "USD per 1M",
        "RS256",
        "JWKS",
        "claims",
        "rotation"
    );
    for row in &comparison.rows {
        outln!(
            "{:<44} {:>9.4} ms {:>12.4}  {:<6} {:<6} {:<7} {:<8}",
            row.option,
            row.latency_ms,
            row.cost_usd_per_million,
            support(row.capabilities.rs256),
            support(row.capabilities.jwks),
            support(row.capabilities.claim_checks),
            support(row.capabilities.key_rotation)
        );
    }
    outln!();
    for row in &comparison.rows {
        outln!("{}:", row.option);
        outln!("  latency — {}", provenance(&row.latency_provenance));
        outln!("  cost — {}", provenance(&row.cost_provenance));
        for note in &row.notes {
            outln!("  {note}");
        }
    }
    outln!(
        "\nRS256 function: {} bytes of {}; budget {} ms ({})\nverdict: {}",
        comparison.function_size_bytes,
        comparison.function_limit_bytes,
        comparison.budget_ms,
        comparison.budget_provenance,
        comparison.verdict_summary
    );
    Ok(exit::OK)
}
