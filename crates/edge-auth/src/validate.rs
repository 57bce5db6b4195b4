//! The validator: one request or token in, allow-with-claims or deny-with-reason out.
//!
//! Checks run in a fixed order, cheapest first, and the generated CloudFront Function runs
//! the same order so both give the same reason: size, segments, base64, JSON, header
//! (`alg` pinned by the key, forbidden `jku`/`x5u`/`jwk`/`x5c`, `crit`), key lookup by
//! `kid`, signature, then claims (`exp` required, `nbf`, `iss`, `aud`, tenant).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::fields::{self, JsonProblem, Member, Members, Names};
use crate::keys::{Algorithm, Key, KeySet};
use crate::token;

/// Why a request was denied; `code()` is the stable machine-readable form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DenyReason {
    /// Neither an `Authorization: Bearer` header nor the token cookie was present.
    NoToken,
    /// The token is longer than the policy's `max_token_bytes`.
    Oversize,
    /// Not exactly three dot-separated segments (a JWE has five).
    WrongSegmentCount,
    /// A segment is not canonical unpadded base64url.
    BadBase64,
    /// The signature segment is empty.
    EmptySignature,
    /// The header is not a JSON object.
    BadHeader,
    /// The claims are not a JSON object.
    BadClaims,
    /// A JSON object names the same member twice.
    DuplicateJsonKey,
    /// `alg` is missing or not a string.
    MissingAlg,
    /// `alg` is `none` (in any spelling).
    AlgNone,
    /// `alg` names an algorithm this validator does not implement.
    UnsupportedAlg,
    /// The header carries `jku`, `x5u`, `jwk` or `x5c`: keys are never taken from a token.
    ForbiddenHeader,
    /// The header has `crit` (no extension is understood) or an unsupported `b64`.
    UnknownCrit,
    /// The header says `cty: JWT`: the payload is itself a token (RFC 7519 §5.2 and §7.2),
    /// and nested tokens are not accepted at the edge.
    NestedJwt,
    /// `kid` is missing and the key set has more than one key.
    MissingKid,
    /// `kid` is not a string, or no key has it.
    UnknownKid,
    /// The token's `alg` is not the algorithm the key is pinned to.
    AlgMismatch,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is absent.
    MissingExp,
    /// `exp`, `nbf` or `iat` is not a number.
    BadTimeClaim,
    /// Now is at or after `exp` + leeway.
    Expired,
    /// Now is before `nbf` − leeway.
    NotYetValid,
    /// `iss` is not the expected issuer.
    WrongIssuer,
    /// `aud` does not contain the expected audience (or is present when none is expected).
    WrongAudience,
    /// The `Host` header is missing or is not a subdomain of the wiki domain.
    BadHost,
    /// The tenant claim is missing or names another wiki.
    WrongTenant,
}

impl DenyReason {
    /// The reason as a stable `snake_case` code (`"expired"`).
    pub fn code(self) -> &'static str {
        match self {
            DenyReason::NoToken => "no_token",
            DenyReason::Oversize => "oversize",
            DenyReason::WrongSegmentCount => "wrong_segment_count",
            DenyReason::BadBase64 => "bad_base64",
            DenyReason::EmptySignature => "empty_signature",
            DenyReason::BadHeader => "bad_header",
            DenyReason::BadClaims => "bad_claims",
            DenyReason::DuplicateJsonKey => "duplicate_json_key",
            DenyReason::MissingAlg => "missing_alg",
            DenyReason::AlgNone => "alg_none",
            DenyReason::UnsupportedAlg => "unsupported_alg",
            DenyReason::ForbiddenHeader => "forbidden_header",
            DenyReason::UnknownCrit => "unknown_crit",
            DenyReason::NestedJwt => "nested_jwt",
            DenyReason::MissingKid => "missing_kid",
            DenyReason::UnknownKid => "unknown_kid",
            DenyReason::AlgMismatch => "alg_mismatch",
            DenyReason::BadSignature => "bad_signature",
            DenyReason::MissingExp => "missing_exp",
            DenyReason::BadTimeClaim => "bad_time_claim",
            DenyReason::Expired => "expired",
            DenyReason::NotYetValid => "not_yet_valid",
            DenyReason::WrongIssuer => "wrong_issuer",
            DenyReason::WrongAudience => "wrong_audience",
            DenyReason::BadHost => "bad_host",
            DenyReason::WrongTenant => "wrong_tenant",
        }
    }
}

impl std::fmt::Display for DenyReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A valid token's claims: the verified JSON text, parsed on demand.
///
/// Keeping the text rather than a parsed map keeps HS256 validation cheap (the bench's
/// `auth_hs256_validations_per_s`); serialising a `Claims` writes the JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims(String);

impl Claims {
    /// The claims as a map (members in name order).
    pub fn to_map(&self) -> Map<String, Value> {
        serde_json::from_str(&self.0).unwrap_or_default()
    }
}

impl Serialize for Claims {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}

/// The outcome of validating one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// The token is valid for this wiki.
    Allow {
        /// The key that verified it: the key set's own kid, shared, so that an allow
        /// allocates nothing for it.
        kid: std::sync::Arc<str>,
        /// Its algorithm.
        alg: Algorithm,
        /// The token's claims.
        claims: Claims,
    },
    /// The request is refused.
    Deny {
        /// Why.
        reason: DenyReason,
    },
}

impl Decision {
    /// Whether this is an allow.
    pub fn is_allow(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    /// The deny reason, if denied.
    pub fn reason(&self) -> Option<DenyReason> {
        match self {
            Decision::Allow { .. } => None,
            Decision::Deny { reason } => Some(*reason),
        }
    }
}

/// What a valid token must satisfy beyond its signature.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Policy {
    /// Required `iss`, if any.
    pub issuer: Option<String>,
    /// Required member of `aud`, if any. When `None`, tokens carrying `aud` are denied
    /// (RFC 7519 §4.1.3: a recipient not named in `aud` must reject).
    pub audience: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_s: u64,
    /// The claim that names the tenant (wiki); `None` disables tenant scoping.
    pub tenant_claim: Option<String>,
    /// The wiki domain: `Host` must be `<tenant>.<wiki_domain>`. Tenant scoping needs it:
    /// without one, every request is denied `bad_host` (see [`Policy::check`]) rather than
    /// trusting whatever parent domain a `Host` header names.
    pub wiki_domain: Option<String>,
    /// The cookie that carries the token when there is no `Authorization: Bearer` header.
    pub cookie_name: String,
    /// Longest token accepted, in bytes.
    pub max_token_bytes: usize,
}

impl Policy {
    /// Refuses a policy that cannot allow anything as configured: tenant scoping without a
    /// wiki domain. Front ends call it before validating or generating, so the user hears
    /// what to set instead of seeing every request denied.
    pub fn check(&self) -> Result<(), crate::Error> {
        if let Some(claim) = &self.tenant_claim
            && self.wiki_domain.as_deref().is_none_or(str::is_empty)
        {
            return Err(crate::Error::Policy(format!(
                "tenant scoping (claim {claim:?}) needs the wiki domain, so that a Host header is \
                 only trusted under it: pass --wiki-domain (e.g. wiki.example), or --no-tenant to \
                 turn tenant scoping off"
            )));
        }
        Ok(())
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            leeway_s: 60,
            tenant_claim: Some("tenant".to_owned()),
            wiki_domain: None,
            cookie_name: "token".to_owned(),
            max_token_bytes: 4096,
        }
    }
}

/// The parts of a viewer request the validator reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct EdgeRequest<'a> {
    /// The `Host` header.
    pub host: Option<&'a str>,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The token cookie's value, already picked out of the cookies.
    pub cookie: Option<&'a str>,
}

impl<'a> EdgeRequest<'a> {
    /// Reads host, authorization and the named cookie from a CloudFront viewer-request
    /// event (`{"request": {"headers": {...}, "cookies": {...}}}`).
    pub fn from_cloudfront_event(event: &'a Value, cookie_name: &str) -> Self {
        let request = event.get("request");
        let header = |name: &str| {
            request
                .and_then(|r| r.get("headers"))
                .and_then(|h| h.get(name))
                .and_then(|h| h.get("value"))
                .and_then(Value::as_str)
        };
        let cookie = request
            .and_then(|r| r.get("cookies"))
            .and_then(|c| c.get(cookie_name))
            .and_then(|c| c.get("value"))
            .and_then(Value::as_str);
        Self {
            host: header("host"),
            authorization: header("authorization"),
            cookie,
        }
    }

    /// The token: a `Bearer` authorization wins over the cookie.
    pub fn token(&self) -> Option<&'a str> {
        if let Some(auth) = self.authorization {
            let (scheme, rest) = auth.split_once(' ').unwrap_or((auth, ""));
            // Only spaces and tabs are trimmed, exactly as the edge function does.
            let rest = rest.trim_matches([' ', '\t']);
            if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
                return Some(rest);
            }
        }
        self.cookie.filter(|c| !c.is_empty())
    }
}

/// A key set and a policy: validates tokens at edge semantics.
#[derive(Debug, Clone)]
pub struct Validator {
    keys: KeySet,
    policy: Policy,
    /// Where the claims read puts the tenant claim's value, when the policy names one.
    /// Worked out once, not looked up by name on every request.
    tenant_slot: Option<usize>,
}

impl Validator {
    /// A validator over these keys with this policy.
    pub fn new(keys: KeySet, policy: Policy) -> Self {
        let tenant_slot = policy
            .tenant_claim
            .as_deref()
            .map(|claim| CLAIM_MEMBERS.extra_slot(claim));
        Self {
            keys,
            policy,
            tenant_slot,
        }
    }

    /// The key set.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Validates a request at `now_s` (Unix seconds).
    pub fn validate_request(&self, request: &EdgeRequest<'_>, now_s: f64) -> Decision {
        match request.token() {
            None => Decision::Deny {
                reason: DenyReason::NoToken,
            },
            Some(token) => self.validate(token, request.host, now_s),
        }
    }

    /// Validates a token for the wiki named by `host` at `now_s` (Unix seconds).
    pub fn validate(&self, token: &str, host: Option<&str>, now_s: f64) -> Decision {
        match self.check(token, host, now_s) {
            Ok((key, claims)) => Decision::Allow {
                kid: key.shared_kid(),
                alg: key.alg(),
                claims,
            },
            Err(reason) => Decision::Deny { reason },
        }
    }

    /// Checks only the JWS layer — size, encoding, header, key and signature — and returns
    /// the verifying key. For payloads that are not JWT claims (the RFC 7520 examples); an
    /// edge decision always needs [`Validator::validate`].
    pub fn verify_jws(&self, token: &str) -> Result<&Key, DenyReason> {
        if token.len() > self.policy.max_token_bytes {
            return Err(DenyReason::Oversize);
        }
        let mut signature_buffer = token::signature_buffer();
        let jws = token::split(token, token::header_segment(token), true, &mut signature_buffer)?;
        let header = read_header(&jws.header)?;
        let (alg, kid) = header_names(&header)?;
        let key = self.key_for(alg, kid)?;
        if key.verify(jws.signing_input.as_bytes(), &jws.signature) {
            Ok(key)
        } else {
            Err(DenyReason::BadSignature)
        }
    }

    fn check(&self, token: &str, host: Option<&str>, now_s: f64) -> Result<(&Key, Claims), DenyReason> {
        if token.len() > self.policy.max_token_bytes {
            return Err(DenyReason::Oversize);
        }
        // A header this thread accepted last time needs no decoding, parsing or checking;
        // its key is looked up now and its verdict reported where the header's would be.
        let header_b64 = token::header_segment(token);
        let remembered = LAST_HEADER.with_borrow(|last| match last {
            Some((segment, names)) if segment == header_b64 => Some(self.key_for(names.alg, names.kid.as_deref())),
            _ => None,
        });
        let mut signature_buffer = token::signature_buffer();
        let jws = token::split(token, header_b64, remembered.is_none(), &mut signature_buffer)?;
        let header = match remembered {
            Some(key) => Header::Remembered(key),
            None => Header::Read(read_header(&jws.header)?),
        };
        // The claims text is checked as UTF-8 once: the reader borrows it and the decision
        // returns it.
        let claims_text = match String::from_utf8(jws.payload) {
            Ok(text) => text,
            Err(not_utf8) => {
                let problem = fields::read(not_utf8.as_bytes(), &CLAIM_MEMBERS, None)
                    .err()
                    .unwrap_or(JsonProblem::Syntax);
                return Err(json_reason(problem, DenyReason::BadClaims));
            }
        };
        let mut claims = Members::new(&CLAIM_MEMBERS, self.policy.tenant_claim.as_deref());
        fields::read_str_into(&claims_text, &mut claims).map_err(|p| json_reason(p, DenyReason::BadClaims))?;
        let key = match header {
            Header::Remembered(key) => key?,
            Header::Read(header) => {
                let (alg, kid) = header_names(&header)?;
                let key = self.key_for(alg, kid);
                let names = HeaderNames {
                    alg,
                    kid: kid.map(str::to_owned),
                };
                LAST_HEADER.set(Some((jws.header_b64.to_owned(), names)));
                key?
            }
        };
        if !key.verify(jws.signing_input.as_bytes(), &jws.signature) {
            return Err(DenyReason::BadSignature);
        }
        self.check_claims(&claims, host, now_s)?;
        drop(claims);
        Ok((key, Claims(claims_text)))
    }

    /// The key a checked header names; its pinned algorithm must equal `alg`.
    fn key_for(&self, alg: Algorithm, kid: Option<&str>) -> Result<&Key, DenyReason> {
        let key = match kid {
            None => self.keys.single().ok_or(DenyReason::MissingKid)?,
            Some(kid) => self.keys.get(kid).ok_or(DenyReason::UnknownKid)?,
        };
        if key.alg() != alg {
            return Err(DenyReason::AlgMismatch);
        }
        Ok(key)
    }

    fn check_claims(
        &self,
        claims: &Members<'_, CLAIM_SLOTS>,
        host: Option<&str>,
        now_s: f64,
    ) -> Result<(), DenyReason> {
        let leeway_s = self.policy.leeway_s as f64;
        // By position in CLAIM_MEMBERS: these are read on every request, so without a
        // search by name.
        let [exp, nbf, iat, iss, aud, ..] = &claims.values;
        let time = |value: &Option<Member<'_>>| match value {
            None => Ok(None),
            Some(Member::Num(n)) => Ok(Some(*n)),
            Some(_) => Err(DenyReason::BadTimeClaim),
        };
        let exp = time(exp)?.ok_or(DenyReason::MissingExp)?;
        let nbf = time(nbf)?;
        time(iat)?;
        if now_s >= exp + leeway_s {
            return Err(DenyReason::Expired);
        }
        if nbf.is_some_and(|nbf| now_s + leeway_s < nbf) {
            return Err(DenyReason::NotYetValid);
        }
        if let Some(issuer) = &self.policy.issuer
            && !matches!(iss, Some(Member::Str(iss)) if iss == issuer)
        {
            return Err(DenyReason::WrongIssuer);
        }
        let audience_ok = match (&self.policy.audience, aud) {
            (None, None) => true,
            (Some(want), Some(Member::Str(aud))) => aud == want,
            (Some(want), Some(Member::Strings(auds))) => auds.iter().any(|a| a == want),
            _ => false,
        };
        if !audience_ok {
            return Err(DenyReason::WrongAudience);
        }
        if let Some(tenant_slot) = self.tenant_slot {
            let label = tenant_label(host, self.policy.wiki_domain.as_deref()).ok_or(DenyReason::BadHost)?;
            if !matches!(&claims.values[tenant_slot], Some(Member::Str(t)) if is_tenant(t, label)) {
                return Err(DenyReason::WrongTenant);
            }
        }
        Ok(())
    }
}

/// The header members the checks read.
const HEADER_MEMBERS: Names<HEADER_SLOTS> =
    Names::new(&["alg", "kid", "crit", "b64", "cty", "jku", "x5u", "jwk", "x5c"]);
/// The registered claims the checks read (the tenant claim is added from the policy).
/// `check_claims` reads them by position: keep the two in step.
const CLAIM_MEMBERS: Names<CLAIM_SLOTS> = Names::new(&["exp", "nbf", "iat", "iss", "aud"]);
/// Places for the header members, and for the claims and the tenant claim.
const HEADER_SLOTS: usize = 10;
const CLAIM_SLOTS: usize = 6;

/// What a header that passed every check names.
#[derive(Debug)]
struct HeaderNames {
    alg: Algorithm,
    kid: Option<String>,
}

thread_local! {
    /// The header segment this thread last accepted, with what it names. Tokens from one
    /// issuer share their header byte for byte, and whether a header passes and what it
    /// names depend on its bytes alone (not on the keys or the policy), so every validator
    /// on the thread may reuse it. It saves about a third of the work around an RS256
    /// signature check (`cargo xtask bench`, `auth_rs256_vs_raw_verify_ratio`).
    static LAST_HEADER: std::cell::RefCell<Option<(String, HeaderNames)>> = const { std::cell::RefCell::new(None) };
}

/// A token's header as a validation holds it: the one this thread remembers, by the key
/// it names (or why that key does not do), or one read from this token.
#[expect(
    clippy::large_enum_variant,
    reason = "one lives on the stack for one validation; boxing the members would allocate"
)]
enum Header<'k, 'h> {
    Remembered(Result<&'k Key, DenyReason>),
    Read(Members<'h, HEADER_SLOTS>),
}

/// The header's JSON, read; a refusal is the header's deny reason.
fn read_header(header: &[u8]) -> Result<Members<'_, HEADER_SLOTS>, DenyReason> {
    fields::read(header, &HEADER_MEMBERS, None).map_err(|p| json_reason(p, DenyReason::BadHeader))
}

/// Checks a header and says which algorithm and key id it names.
fn header_names<'h>(header: &'h Members<'_, HEADER_SLOTS>) -> Result<(Algorithm, Option<&'h str>), DenyReason> {
    let Some(Member::Str(alg)) = header.get("alg") else {
        return Err(DenyReason::MissingAlg);
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err(DenyReason::AlgNone);
    }
    let alg = Algorithm::ALL
        .into_iter()
        .find(|a| a.as_str() == alg)
        .ok_or(DenyReason::UnsupportedAlg)?;
    if ["jku", "x5u", "jwk", "x5c"].iter().any(|name| header.has(name)) {
        return Err(DenyReason::ForbiddenHeader);
    }
    // No JWS extension is understood, so any `crit` is unknown (RFC 7515 §4.1.11), and
    // an unencoded payload (`b64: false`, RFC 7797) is not supported.
    if header.has("crit") || header.get("b64").is_some_and(|b| *b != Member::True) {
        return Err(DenyReason::UnknownCrit);
    }
    // RFC 7519 §7.2: with `cty` "JWT" the payload is a nested token, whatever it looks
    // like; treating it as claims would accept a token signed for another purpose.
    if matches!(header.get("cty"), Some(Member::Str(cty)) if cty.eq_ignore_ascii_case("jwt")) {
        return Err(DenyReason::NestedJwt);
    }
    match header.get("kid") {
        None => Ok((alg, None)),
        Some(Member::Str(kid)) => Ok((alg, Some(kid))),
        Some(_) => Err(DenyReason::UnknownKid),
    }
}

fn json_reason(problem: JsonProblem, otherwise: DenyReason) -> DenyReason {
    match problem {
        JsonProblem::Duplicate => DenyReason::DuplicateJsonKey,
        JsonProblem::Syntax | JsonProblem::NotObject => otherwise,
    }
}

/// The wiki's tenant from a `Host` header: the lowercase label directly before
/// `wiki_domain`, or nothing when no domain is configured (a tenant is never taken from an
/// arbitrary parent domain). Only `[a-z0-9-]` labels qualify, so the edge function's
/// ASCII-only lowercasing agrees with this one.
pub fn tenant_from_host(host: Option<&str>, wiki_domain: Option<&str>) -> Option<String> {
    tenant_label(host, wiki_domain).map(str::to_ascii_lowercase)
}

/// The tenant label of `host` under `wiki_domain` as the host spells it (any case), or
/// `None`; [`tenant_from_host`] without its allocations, for the validation path.
fn tenant_label<'h>(host: Option<&'h str>, wiki_domain: Option<&str>) -> Option<&'h str> {
    let domain = wiki_domain.filter(|d| !d.is_empty())?.as_bytes();
    let name = host_name(host?)?;
    let bytes = name.as_bytes();
    // `<label>.<domain>`: the `.` is at `label_len`.
    let label_len = bytes.len().checked_sub(domain.len() + 1)?;
    if label_len == 0 || bytes[label_len] != b'.' {
        return None;
    }
    let in_domain = bytes[label_len + 1..]
        .iter()
        .zip(domain)
        .all(|(&h, &d)| lowercase_host_byte(h) == d.to_ascii_lowercase());
    let label = &bytes[..label_len];
    // `name` is ASCII, so any index into it is a character boundary.
    (in_domain && !label.contains(&b'.')).then(|| &name[..label_len])
}

/// A host byte (ASCII letter, digit, `-` or `.`, as [`host_name`] admits) in lowercase:
/// `| 0x20` lowercases the letters and leaves the others as they are, one operation instead
/// of a comparison and a select per byte.
fn lowercase_host_byte(byte: u8) -> u8 {
    byte | 0x20
}

/// The name of a `Host` header without its port, when it is a host name: not empty, and
/// only ASCII letters, digits, `-` and `.`.
fn host_name(host: &str) -> Option<&str> {
    // A port is the run of digits at the end after a `:`. Any other `:` fails the byte
    // check below.
    let port_digits = host.bytes().rev().take_while(u8::is_ascii_digit).count();
    let name = match host.len().checked_sub(port_digits + 1) {
        Some(colon) if port_digits > 0 && host.as_bytes()[colon] == b':' => &host[..colon],
        _ => host,
    };
    (!name.is_empty() && name.bytes().all(|b| HOST_BYTES[usize::from(b)])).then_some(name)
}

/// The bytes a host name may hold: ASCII letters, digits, `-` and `.`. A table, because
/// every request checks its `Host` byte by byte.
static HOST_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
        byte += 1;
    }
    table
};

/// Whether `claimed` equals `label` lowercased, as [`tenant_from_host`] gives it.
fn is_tenant(claimed: &str, label: &str) -> bool {
    claimed.len() == label.len()
        && claimed
            .bytes()
            .zip(label.bytes())
            .all(|(c, l)| c == lowercase_host_byte(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host-name rule spelled plainly: `host_name` is this in fewer instructions.
    fn plain_host_name(host: &str) -> Option<&str> {
        let name = match host.rsplit_once(':') {
            Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
        (!name.is_empty() && name.bytes().all(allowed)).then_some(name)
    }

    /// The tenant rule spelled plainly: `tenant_label` is this in fewer instructions.
    fn plain_tenant_label<'h>(host: Option<&'h str>, wiki_domain: Option<&str>) -> Option<&'h str> {
        let domain = wiki_domain.filter(|d| !d.is_empty())?;
        let name = plain_host_name(host?)?;
        let split = name.len().checked_sub(domain.len())?;
        let (head, tail) = name.split_at(split);
        if !tail.eq_ignore_ascii_case(domain) {
            return None;
        }
        let label = head.strip_suffix('.')?;
        (!label.is_empty() && !label.contains('.')).then_some(label)
    }

    proptest::proptest! {
        #[test]
        fn tenant_label_follows_the_plain_rule(
            host in "[a-cA-C0-9.:_\\-\u{e9}\u{e}\u{d}]{0,6}(\\.wiki\\.example|\\.WIKI\\.eXample|wiki\\.example|\\.w\u{e}ki\\.example)?(:[0-9a]{0,3})?",
            domain in proptest::option::of("(wiki\\.example|WIKI\\.example|wiki_example|w\\.ki\\.example|)"),
            claimed in "[a-cA-C0-9.\\-]{0,4}",
        ) {
            let label = tenant_label(Some(&host), domain.as_deref());
            proptest::prop_assert_eq!(label, plain_tenant_label(Some(&host), domain.as_deref()));
            if let Some(label) = label {
                proptest::prop_assert_eq!(is_tenant(&claimed, label), claimed == label.to_ascii_lowercase());
                proptest::prop_assert!(is_tenant(&label.to_ascii_lowercase(), label));
            }
        }

        #[test]
        fn host_name_follows_the_plain_rule(
            host in "[a-cA-C0-9.:_\\-\u{e9}]{0,8}(\\.wiki\\.example|\\.WIKI\\.example|wiki\\.example)?(:[0-9a]{0,3})?:?",
        ) {
            proptest::prop_assert_eq!(host_name(&host), plain_host_name(&host));
        }
    }

    #[test]
    fn tenant_from_host_takes_the_subdomain() {
        assert_eq!(
            tenant_from_host(Some("Acme.wiki.example:443"), Some("wiki.example")).as_deref(),
            Some("acme")
        );
        assert_eq!(tenant_from_host(Some("a.b.wiki.example"), Some("wiki.example")), None);
        assert_eq!(tenant_from_host(Some("wiki.example"), Some("wiki.example")), None);
        assert_eq!(tenant_from_host(Some("evilwiki.example"), Some("wiki.example")), None);
        // No domain, no tenant: "alpha.evil.test" must not pass for tenant "alpha".
        assert_eq!(tenant_from_host(Some("alpha.evil.test"), None), None);
        assert_eq!(tenant_from_host(Some("alpha.evil.test"), Some("")), None);
        assert_eq!(
            tenant_from_host(Some("ac\u{e9}me.wiki.example"), Some("wiki.example")),
            None
        );
        assert_eq!(tenant_from_host(Some("acme.wiki.example."), Some("wiki.example")), None);
        assert_eq!(tenant_from_host(Some("acme.wiki.example:"), Some("wiki.example")), None);
        assert_eq!(
            tenant_from_host(Some("ACME.WIKI.EXAMPLE"), Some("wiki.example")).as_deref(),
            Some("acme")
        );
        assert_eq!(tenant_from_host(None, Some("wiki.example")), None);
        assert_eq!(
            tenant_from_host(Some("acme.wiki.example"), Some("WIKI.Example")).as_deref(),
            Some("acme")
        );
        assert_eq!(tenant_from_host(Some("x.example"), Some("longer.wiki.example")), None);
        // The claim must equal the lowercased label exactly, as before.
        assert!(is_tenant("acme", "ACME") && is_tenant("acme", "acme"));
        assert!(!is_tenant("Acme", "acme") && !is_tenant("acm", "acme") && !is_tenant("acmex", "acme"));
        assert!(Policy::default().check().is_err());
        assert!(
            Policy {
                wiki_domain: Some("wiki.example".into()),
                ..Policy::default()
            }
            .check()
            .is_ok()
        );
        assert!(
            Policy {
                tenant_claim: None,
                ..Policy::default()
            }
            .check()
            .is_ok()
        );
    }

    #[test]
    fn the_tenant_claim_may_be_any_claim_registered_or_not() {
        let claims = serde_json::json!({"exp": 2_000_000_000u64, "iss": "acme", "sub": "acme", "org": "beta", "tenant_id": "acme", "tenant_idx": "beta"});
        let token = crate::sign_hs(Algorithm::HS256, "k", &[7; 32], &claims).unwrap();
        let keys = KeySet::new()
            .with(Key::hmac("k", Algorithm::HS256, &[7; 32]).unwrap())
            .unwrap();
        let decide = |claim: &str, host: &str| {
            let policy = Policy {
                tenant_claim: Some(claim.to_owned()),
                wiki_domain: Some("wiki.example".into()),
                ..Policy::default()
            };
            Validator::new(keys.clone(), policy)
                .validate(&token, Some(host), 1_700_000_000.0)
                .reason()
        };
        // `iss` is read in its registered place, the others after the registered ones; a
        // claim name longer than seven bytes is matched as text.
        for claim in ["iss", "sub", "tenant_id"] {
            assert_eq!(decide(claim, "acme.wiki.example"), None, "{claim}");
            assert_eq!(
                decide(claim, "beta.wiki.example"),
                Some(DenyReason::WrongTenant),
                "{claim}"
            );
        }
        assert_eq!(decide("org", "beta.wiki.example"), None);
        assert_eq!(decide("nbf", "acme.wiki.example"), Some(DenyReason::WrongTenant));
    }

    #[test]
    fn bearer_wins_over_the_cookie() {
        let req = EdgeRequest {
            host: None,
            authorization: Some("Bearer  abc "),
            cookie: Some("def"),
        };
        assert_eq!(req.token(), Some("abc"));
        let req = EdgeRequest {
            host: None,
            authorization: Some("Basic abc"),
            cookie: Some("def"),
        };
        assert_eq!(req.token(), Some("def"));
        let req = EdgeRequest::default();
        assert_eq!(req.token(), None);
    }
}
