//! CloudFront's rules as pure functions (docs/sources.md, "CloudFront cache
//! configuration"): which behaviour a request matches, which methods are cached, how the
//! origin's `Cache-Control` becomes a TTL, and the limits a configuration must respect.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::MAX_BEHAVIORS;
use super::shapes::{CacheBehavior, CachePolicyConfig};

/// The directives of a `Cache-Control` header that CloudFront acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheControl {
    /// `s-maxage` (shared caches; beats `max-age` at CloudFront).
    pub s_maxage_s: Option<i64>,
    /// `max-age`.
    pub max_age_s: Option<i64>,
    /// `stale-while-revalidate`.
    pub stale_while_revalidate_s: Option<i64>,
    /// `no-store`, `no-cache` or `private`: CloudFront does not cache unless `MinTTL` > 0.
    pub uncacheable: bool,
}

impl CacheControl {
    /// Parses a header value; unknown directives are ignored, as caches do.
    pub fn parse(header: &str) -> Self {
        let mut cc = Self::default();
        for directive in header.split(',') {
            let directive = directive.trim().to_ascii_lowercase();
            let (name, value) = match directive.split_once('=') {
                Some((n, v)) => (n.trim().to_owned(), v.trim().trim_matches('"').parse::<i64>().ok()),
                None => (directive.clone(), None),
            };
            match name.as_str() {
                "s-maxage" => cc.s_maxage_s = value,
                "max-age" => cc.max_age_s = value,
                "stale-while-revalidate" => cc.stale_while_revalidate_s = value,
                "no-store" | "no-cache" | "private" => cc.uncacheable = true,
                _ => {}
            }
        }
        cc
    }
}

/// The TTL CloudFront gives a response: `s-maxage` beats `max-age`; with neither,
/// `DefaultTTL`; always clamped to `[MinTTL, MaxTTL]`. `no-store`/`no-cache`/`private`
/// mean "not cached" unless `MinTTL` forces a minimum.
pub fn effective_ttl_s(policy: &CachePolicyConfig, cache_control: Option<&str>) -> i64 {
    let cc = cache_control.map(CacheControl::parse).unwrap_or_default();
    let clamp = |ttl: i64| ttl.clamp(policy.min_ttl, policy.max_ttl.max(policy.min_ttl));
    if cc.uncacheable {
        return policy.min_ttl;
    }
    match cc.s_maxage_s.or(cc.max_age_s) {
        Some(ttl) => clamp(ttl),
        None => clamp(policy.default_ttl),
    }
}

/// Whether a CloudFront path pattern matches a path: `*` is any run of characters, `?` is
/// one; case-sensitive; a leading `/` is optional on both.
pub fn pattern_matches(pattern: &str, path: &str) -> bool {
    let p: Vec<char> = pattern.strip_prefix('/').unwrap_or(pattern).chars().collect();
    let s: Vec<char> = path.strip_prefix('/').unwrap_or(path).chars().collect();
    // Iterative glob with backtracking to the last `*`.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < s.len() {
        if i < p.len() && (p[i] == '?' || p[i] == s[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// The behaviour a request for `path` uses: the first ordered behaviour whose pattern
/// matches, else the default (`*`).
pub fn match_behavior<'a>(ordered: &'a [CacheBehavior], default: &'a CacheBehavior, path: &str) -> &'a CacheBehavior {
    ordered
        .iter()
        .find(|b| pattern_matches(b.pattern(), path))
        .unwrap_or(default)
}

/// Whether CloudFront caches responses to `method` on this behaviour. Only GET, HEAD and
/// (optionally) OPTIONS can be cached; POST never is.
pub fn caches_method(behavior: &CacheBehavior, method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
        && behavior
            .allowed_methods
            .cached_methods
            .items
            .iter()
            .any(|m| m == method)
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// CloudFront would reject the configuration.
    Error,
    /// Accepted, but not what was meant.
    Warning,
}

/// One problem with a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// The behaviour's pattern (`*` for the default), or `distribution`.
    pub behavior: String,
    /// What is wrong and what to do.
    pub message: String,
}

const METHOD_SETS: [&[&str]; 3] = [
    &["GET", "HEAD"],
    &["GET", "HEAD", "OPTIONS"],
    &["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
];

/// Checks a distribution's behaviours and the cache policies they use against
/// CloudFront's rules. An empty list means the configuration is valid.
pub fn validate(
    ordered: &[CacheBehavior],
    default: &CacheBehavior,
    policies: &BTreeMap<String, CachePolicyConfig>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut finding = |severity, behavior: &str, message: String| {
        findings.push(Finding {
            severity,
            behavior: behavior.to_owned(),
            message,
        });
    };
    if ordered.len() + 1 > MAX_BEHAVIORS {
        finding(
            Severity::Error,
            "distribution",
            format!(
                "{} cache behaviours (with the default); CloudFront allows {MAX_BEHAVIORS}: merge patterns",
                ordered.len() + 1
            ),
        );
    }
    let mut patterns = BTreeSet::new();
    for (index, behavior) in ordered.iter().chain(std::iter::once(default)).enumerate() {
        let name = behavior.pattern();
        if index < ordered.len() {
            if behavior.path_pattern.as_deref().is_none_or(str::is_empty) {
                finding(
                    Severity::Error,
                    name,
                    "an ordered behaviour needs a PathPattern".to_owned(),
                );
            }
            if !patterns.insert(name.to_owned()) {
                finding(
                    Severity::Error,
                    name,
                    "PathPattern appears twice; the second can never match".to_owned(),
                );
            }
            if name.len() > 255 {
                finding(
                    Severity::Error,
                    name,
                    "PathPattern is longer than 255 characters".to_owned(),
                );
            }
            if let Some(earlier) = ordered[..index]
                .iter()
                .find(|e| e.pattern() != name && shadows(e.pattern(), name))
            {
                finding(
                    Severity::Warning,
                    name,
                    format!(
                        "never matches: the earlier pattern `{}` matches every path this one does; move it up",
                        earlier.pattern()
                    ),
                );
            }
        }
        let methods = &behavior.allowed_methods;
        if methods.quantity as usize != methods.items.len()
            || methods.cached_methods.quantity as usize != methods.cached_methods.items.len()
        {
            finding(Severity::Error, name, "a Quantity does not match its Items".to_owned());
        }
        let allowed: BTreeSet<&str> = methods.items.iter().map(String::as_str).collect();
        if !METHOD_SETS
            .iter()
            .any(|set| set.len() == allowed.len() && set.iter().all(|m| allowed.contains(m)))
        {
            finding(
                Severity::Error,
                name,
                format!("AllowedMethods {allowed:?} is not GET+HEAD, GET+HEAD+OPTIONS or all seven methods"),
            );
        }
        for cached in &methods.cached_methods.items {
            if !matches!(cached.as_str(), "GET" | "HEAD" | "OPTIONS") {
                finding(
                    Severity::Error,
                    name,
                    format!("CachedMethods has {cached}: only GET, HEAD and OPTIONS can be cached (POST never is)"),
                );
            } else if !allowed.contains(cached.as_str()) {
                finding(
                    Severity::Error,
                    name,
                    format!("CachedMethods has {cached}, which is not allowed"),
                );
            }
        }
        let cached: BTreeSet<&str> = methods.cached_methods.items.iter().map(String::as_str).collect();
        if !(cached.contains("GET") && cached.contains("HEAD")) {
            finding(
                Severity::Error,
                name,
                "CachedMethods must include GET and HEAD".to_owned(),
            );
        }
        match policies.get(&behavior.cache_policy_id) {
            None => finding(
                Severity::Error,
                name,
                format!("cache policy {} is not defined", behavior.cache_policy_id),
            ),
            Some(policy) => {
                if !(0 <= policy.min_ttl
                    && policy.min_ttl <= policy.default_ttl
                    && policy.default_ttl <= policy.max_ttl)
                {
                    finding(
                        Severity::Error,
                        name,
                        format!(
                            "policy {}: needs 0 ≤ MinTTL ({}) ≤ DefaultTTL ({}) ≤ MaxTTL ({})",
                            policy.name, policy.min_ttl, policy.default_ttl, policy.max_ttl
                        ),
                    );
                }
            }
        }
        if behavior.function_associations.quantity as usize != behavior.function_associations.items.len() {
            finding(
                Severity::Error,
                name,
                "FunctionAssociations Quantity does not match its Items".to_owned(),
            );
        }
    }
    findings
}

/// Whether every path `later` matches is also matched by `earlier` (checked for the
/// shapes wikis use: `*`, and prefixes ending in `*`).
fn shadows(earlier: &str, later: &str) -> bool {
    let earlier = earlier.strip_prefix('/').unwrap_or(earlier);
    let later = later.strip_prefix('/').unwrap_or(later);
    match earlier.strip_suffix('*') {
        Some(prefix) if !prefix.contains(['*', '?']) => later.starts_with(prefix),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::shapes::{AllowedMethods, CacheKey, CookiesConfig, HeadersConfig, List, QueryStringsConfig};
    use super::*;

    fn policy(min: i64, default: i64, max: i64) -> CachePolicyConfig {
        CachePolicyConfig {
            comment: None,
            name: "p".to_owned(),
            default_ttl: default,
            max_ttl: max,
            min_ttl: min,
            parameters_in_cache_key_and_forwarded_to_origin: CacheKey {
                enable_accept_encoding_gzip: true,
                enable_accept_encoding_brotli: true,
                headers_config: HeadersConfig {
                    header_behavior: "none".to_owned(),
                    headers: None,
                },
                cookies_config: CookiesConfig {
                    cookie_behavior: "none".to_owned(),
                    cookies: None,
                },
                query_strings_config: QueryStringsConfig {
                    query_string_behavior: "none".to_owned(),
                    query_strings: None,
                },
            },
        }
    }

    fn behavior(pattern: Option<&str>, allowed: &[&str], cached: &[&str]) -> CacheBehavior {
        CacheBehavior {
            path_pattern: pattern.map(str::to_owned),
            target_origin_id: "o".to_owned(),
            viewer_protocol_policy: "redirect-to-https".to_owned(),
            allowed_methods: AllowedMethods::new(allowed, cached),
            compress: true,
            cache_policy_id: "p".to_owned(),
            function_associations: List::default(),
        }
    }

    #[test]
    fn s_maxage_beats_max_age_and_ttl_is_clamped() {
        let p = policy(10, 60, 3600);
        assert_eq!(effective_ttl_s(&p, Some("public, max-age=5, s-maxage=120")), 120);
        assert_eq!(effective_ttl_s(&p, Some("max-age=300")), 300);
        assert_eq!(effective_ttl_s(&p, Some("s-maxage=1")), 10, "raised to MinTTL");
        assert_eq!(
            effective_ttl_s(&p, Some("s-maxage=86400, max-age=5")),
            3600,
            "cut to MaxTTL"
        );
        assert_eq!(effective_ttl_s(&p, None), 60, "DefaultTTL without headers");
        assert_eq!(effective_ttl_s(&p, Some("no-store")), 10, "MinTTL > 0 caches anyway");
        assert_eq!(effective_ttl_s(&policy(0, 60, 3600), Some("private, max-age=60")), 0);
    }

    #[test]
    fn first_matching_ordered_pattern_wins_and_star_is_the_default() {
        let ordered = vec![
            behavior(Some("/api/*"), &["GET", "HEAD"], &["GET", "HEAD"]),
            behavior(Some("/api/special"), &["GET", "HEAD"], &["GET", "HEAD"]),
            behavior(Some("/assets/*.js"), &["GET", "HEAD"], &["GET", "HEAD"]),
            behavior(Some("/page?"), &["GET", "HEAD"], &["GET", "HEAD"]),
        ];
        let default = behavior(None, &["GET", "HEAD"], &["GET", "HEAD"]);
        assert_eq!(match_behavior(&ordered, &default, "/api/special").pattern(), "/api/*");
        assert_eq!(
            match_behavior(&ordered, &default, "/assets/app.1f2e.js").pattern(),
            "/assets/*.js"
        );
        assert_eq!(match_behavior(&ordered, &default, "/assets/app.css").pattern(), "*");
        assert_eq!(match_behavior(&ordered, &default, "/page1").pattern(), "/page?");
        assert_eq!(match_behavior(&ordered, &default, "/page12").pattern(), "*");
        assert_eq!(
            match_behavior(&ordered, &default, "/API/x").pattern(),
            "*",
            "case-sensitive"
        );
        assert!(pattern_matches("images/*", "/images/a.png"), "leading slash optional");
        let findings = validate(
            &ordered,
            &default,
            &BTreeMap::from([("p".to_owned(), policy(0, 60, 600))]),
        );
        assert!(
            findings
                .iter()
                .any(|f| f.behavior == "/api/special" && f.message.contains("never matches")),
            "{findings:?}"
        );
    }

    #[test]
    fn post_is_never_cached() {
        let all = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"];
        let b = behavior(Some("/mcp*"), &all, &["GET", "HEAD"]);
        assert!(!caches_method(&b, "POST"));
        assert!(caches_method(&b, "GET"));
        let bad = behavior(Some("/mcp*"), &all, &["GET", "HEAD", "POST"]);
        assert!(!caches_method(&bad, "POST"));
        let policies = BTreeMap::from([("p".to_owned(), policy(0, 0, 0))]);
        let findings = validate(&[bad], &behavior(None, &["GET", "HEAD"], &["GET", "HEAD"]), &policies);
        assert!(
            findings
                .iter()
                .any(|f| f.severity == Severity::Error && f.message.contains("POST never is"))
        );
    }

    #[test]
    fn at_most_75_behaviours_and_sane_ttls() {
        let policies = BTreeMap::from([("p".to_owned(), policy(0, 60, 3600))]);
        let default = behavior(None, &["GET", "HEAD"], &["GET", "HEAD"]);
        let many = |n: usize| -> Vec<CacheBehavior> {
            (0..n)
                .map(|i| behavior(Some(&format!("/p{i}/*")), &["GET", "HEAD"], &["GET", "HEAD"]))
                .collect()
        };
        assert!(validate(&many(74), &default, &policies).is_empty());
        let findings = validate(&many(75), &default, &policies);
        assert!(
            findings.iter().any(|f| f.message.contains("CloudFront allows 75")),
            "{findings:?}"
        );
        let bad = BTreeMap::from([("p".to_owned(), policy(100, 60, 3600))]);
        assert!(
            validate(&[], &default, &bad)
                .iter()
                .any(|f| f.message.contains("MinTTL"))
        );
    }
}
