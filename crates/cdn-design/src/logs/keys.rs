//! Which behaviour a logged request used and its cache key, per the behaviours' cache
//! policies (docs/sources.md, "CloudFront cache configuration"): the first ordered
//! behaviour whose path pattern matches, else the default; the key is the path plus the
//! query strings, cookies and headers the policy names, in the order the viewer sent them
//! (CloudFront does not sort them). Only GET, HEAD and (when the behaviour says so)
//! OPTIONS are cached; every other method goes to the origin.
//!
//! A header the logs do not carry cannot be in a key; [`Behaviors::caveats`] says which.

use serde::Serialize;

use crate::cloudfront::recommend::Recommendation;
use crate::cloudfront::rules::{CacheControl, caches_method, effective_ttl_s, pattern_matches};
use crate::cloudfront::shapes::{CacheBehavior, CachePolicyConfig};
use crate::model::Model;

use super::distribution::Distribution;
use super::request::{LogSet, RequestView};

/// One cache behaviour with the policy it uses and the TTL its responses get.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BehaviorRule {
    /// The behaviour (pattern, methods, policy id).
    pub behavior: CacheBehavior,
    /// Its cache policy.
    pub policy: CachePolicyConfig,
    /// The TTL responses get: the origin's `s-maxage`/`max-age` clamped by the policy
    /// (the logs do not carry response headers, so it is configured, not read).
    pub ttl_s: f64,
    /// The `stale-while-revalidate` window the origin sends; 0 = none.
    pub swr_s: f64,
}

impl BehaviorRule {
    /// The behaviour's path pattern (`*` for the default).
    pub fn pattern(&self) -> &str {
        self.behavior.pattern()
    }

    /// Whether anything on this behaviour is cached at all.
    pub fn caches(&self) -> bool {
        self.ttl_s > 0.0
    }
}

/// A distribution's behaviours, in CloudFront's matching order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Behaviors {
    /// Ordered behaviours (`CacheBehaviors`).
    pub ordered: Vec<BehaviorRule>,
    /// The default behaviour (`*`).
    pub default: BehaviorRule,
}

/// A request's behaviour and cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    /// Index into [`Behaviors::rules`]: ordered behaviours first, the default last.
    pub behavior: usize,
    /// Hash of the cache key.
    pub key: u64,
    /// Whether the response can come from the cache (cached method, TTL above 0).
    pub cacheable: bool,
}

impl Behaviors {
    /// The behaviours of a recommendation; each TTL is what the recommended
    /// `Cache-Control` gets under the behaviour's policy.
    pub fn from_recommendation(rec: &Recommendation) -> Self {
        let policies = rec.policies_by_id();
        let rule = |behavior: &CacheBehavior| {
            let policy = policies
                .get(&behavior.cache_policy_id)
                .cloned()
                .unwrap_or_else(crate::cloudfront::recommend::caching_disabled);
            let route = rec.cache_control.iter().find(|r| r.path_pattern == behavior.pattern());
            let (ttl_s, swr_s) = match route {
                Some(r) => (
                    r.effective_ttl_s as f64,
                    CacheControl::parse(&r.cache_control)
                        .stale_while_revalidate_s
                        .unwrap_or(0) as f64,
                ),
                None => (policy.default_ttl as f64, 0.0),
            };
            BehaviorRule {
                behavior: behavior.clone(),
                policy,
                ttl_s,
                swr_s,
            }
        };
        Self {
            ordered: rec.cache_behaviors.items.iter().map(rule).collect(),
            default: rule(&rec.default_cache_behavior),
        }
    }

    /// A distribution's own behaviours and policies, with the TTL each gets from the
    /// origin's `Cache-Control` as `origin` (a recommendation: coldfront's wiki origin at
    /// the model's TTL) sends it: each route's header goes to the behaviour its example
    /// path matches (the page route first); a behaviour no route reaches gets its policy's
    /// DefaultTTL, as for an origin that sends no `Cache-Control`.
    pub fn from_distribution(distribution: &Distribution, origin: &Recommendation) -> Self {
        let behaviors: Vec<&CacheBehavior> = distribution
            .ordered
            .iter()
            .chain(std::iter::once(&distribution.default))
            .collect();
        let matched = |path: &str| {
            distribution
                .ordered
                .iter()
                .position(|b| pattern_matches(b.pattern(), path))
                .unwrap_or(distribution.ordered.len())
        };
        let mut headers: Vec<Option<&str>> = vec![None; behaviors.len()];
        for route in &origin.cache_control {
            let index = matched(&route.example_path);
            if headers[index].is_none() {
                headers[index] = Some(&route.cache_control);
            }
        }
        let mut rules = behaviors.iter().zip(&headers).map(|(behavior, header)| {
            let policy = distribution.policies[&behavior.cache_policy_id].clone();
            let ttl_s = effective_ttl_s(&policy, *header) as f64;
            let swr_s = header
                .and_then(|h| CacheControl::parse(h).stale_while_revalidate_s)
                .unwrap_or(0) as f64;
            BehaviorRule {
                behavior: (*behavior).clone(),
                policy,
                ttl_s,
                swr_s,
            }
        });
        let ordered: Vec<BehaviorRule> = rules.by_ref().take(distribution.ordered.len()).collect();
        let default = rules.next().expect("the default behaviour");
        Self { ordered, default }
    }

    /// The behaviours coldfront recommends for `model` (its page TTL, SWR and strategy).
    pub fn from_model(model: &Model) -> Self {
        Self::from_recommendation(&crate::cloudfront::recommend(model))
    }

    /// Every behaviour, ordered ones first and the default last.
    pub fn rules(&self) -> impl Iterator<Item = &BehaviorRule> {
        self.ordered.iter().chain(std::iter::once(&self.default))
    }

    /// The behaviour at an index of [`Behaviors::rules`].
    pub fn rule(&self, index: usize) -> &BehaviorRule {
        self.ordered.get(index).unwrap_or(&self.default)
    }

    /// How many behaviours there are, with the default.
    pub fn len(&self) -> usize {
        self.ordered.len() + 1
    }

    /// Never true: there is always the default behaviour.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The behaviour and cache key of one request.
    pub fn classify(&self, request: &RequestView<'_>) -> Classified {
        let behavior = self
            .ordered
            .iter()
            .position(|r| pattern_matches(r.pattern(), request.path))
            .unwrap_or(self.ordered.len());
        let rule = self.rule(behavior);
        let cacheable = rule.caches() && caches_method(&rule.behavior, request.method.as_str());
        Classified {
            behavior,
            key: cache_key(&rule.policy, request),
            cacheable,
        }
    }

    /// What the replay cannot see: parts of a cache key the logs do not carry.
    pub fn caveats(&self, logs: &LogSet) -> Vec<String> {
        let mut out = Vec::new();
        for rule in self.rules().filter(|r| r.caches()) {
            let key = &rule.policy.parameters_in_cache_key_and_forwarded_to_origin;
            let pattern = rule.pattern();
            if key.cookies_config.cookie_behavior != "none" && !logs.has.cookies {
                out.push(format!(
                    "behaviour {pattern}: cookies are in the cache key but no record carries a Cookie header (is cookie logging on?); keys leave them out"
                ));
            }
            for header in key.headers_config.headers.iter().flat_map(|h| h.items.iter()) {
                let logged = match header.to_ascii_lowercase().as_str() {
                    "host" => logs.has.host,
                    "user-agent" => logs.has.user_agent,
                    "referer" => logs.has.referer,
                    "accept" => logs.has.accept,
                    "accept-encoding" => logs.has.accept_encoding,
                    _ => false,
                };
                if !logged {
                    out.push(format!(
                        "behaviour {pattern}: header {header} is in the cache key but not in the logs; keys leave it out"
                    ));
                }
            }
            if (key.enable_accept_encoding_gzip || key.enable_accept_encoding_brotli) && !logs.has.accept_encoding {
                out.push(format!(
                    "behaviour {pattern}: gzip/Brotli variants are cached apart, but standard logs have no Accept-Encoding; one key per URL is assumed"
                ));
            }
        }
        out
    }
}

/// FNV-1a over the key's parts, each ended by a separator byte no part contains.
struct KeyHash(u64);

impl KeyHash {
    fn part(&mut self, text: &str) {
        for b in text.bytes().chain(std::iter::once(0)) {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn selected<'a>(
    pairs: impl Iterator<Item = &'a str>,
    behavior: &str,
    names: &[String],
    name_of: impl Fn(&'a str) -> &'a str,
) -> Vec<&'a str> {
    pairs
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let name = name_of(pair);
            match behavior {
                "all" => true,
                "whitelist" => names.iter().any(|n| n == name),
                "allExcept" => !names.iter().any(|n| n == name),
                _ => false,
            }
        })
        .collect()
}

fn cache_key(policy: &CachePolicyConfig, request: &RequestView<'_>) -> u64 {
    let key = &policy.parameters_in_cache_key_and_forwarded_to_origin;
    let mut hash = KeyHash(0xcbf2_9ce4_8422_2325);
    hash.part(request.path);
    let query_names: Vec<String> = key
        .query_strings_config
        .query_strings
        .as_ref()
        .map(|l| l.items.clone())
        .unwrap_or_default();
    if let Some(query) = request.query {
        for pair in selected(
            query.split('&'),
            &key.query_strings_config.query_string_behavior,
            &query_names,
            |p| p.split_once('=').map_or(p, |(n, _)| n),
        ) {
            hash.part(pair);
        }
    }
    hash.part("\u{1}cookies");
    let cookie_names: Vec<String> = key
        .cookies_config
        .cookies
        .as_ref()
        .map(|l| l.items.clone())
        .unwrap_or_default();
    if let Some(cookie) = request.cookie {
        for pair in selected(
            cookie.split(';').map(str::trim),
            &key.cookies_config.cookie_behavior,
            &cookie_names,
            |p| p.split_once('=').map_or(p, |(n, _)| n),
        ) {
            hash.part(pair);
        }
    }
    hash.part("\u{1}headers");
    if key.headers_config.header_behavior == "whitelist" {
        for header in key.headers_config.headers.iter().flat_map(|h| h.items.iter()) {
            // Header names are case-insensitive; values are kept as sent.
            let value = match header.to_ascii_lowercase().as_str() {
                "host" => request.host,
                "user-agent" => request.user_agent,
                "referer" => request.referer,
                "accept" => request.accept,
                "accept-encoding" => request.accept_encoding,
                _ => None,
            };
            hash.part(value.unwrap_or(""));
        }
    }
    if (key.enable_accept_encoding_gzip || key.enable_accept_encoding_brotli)
        && let Some(accepted) = request.accept_encoding
    {
        // CloudFront normalises Accept-Encoding to the variant it would serve.
        let variant = if key.enable_accept_encoding_brotli && accepted.contains("br") {
            "br"
        } else if key.enable_accept_encoding_gzip && accepted.contains("gzip") {
            "gzip"
        } else {
            ""
        };
        hash.part(variant);
    }
    hash.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::shapes::List;
    use crate::logs::request::Method;

    fn request<'a>(path: &'a str, query: Option<&'a str>, cookie: Option<&'a str>, host: &'a str) -> RequestView<'a> {
        RequestView {
            host: Some(host),
            query,
            cookie,
            ..RequestView::get(path)
        }
    }

    #[test]
    fn recommended_behaviours_match_and_key_on_host() {
        let behaviors = Behaviors::from_model(&Model::preset("typical").unwrap());
        let page = behaviors.classify(&request("/Main_Page", None, None, "a.wiki"));
        assert_eq!(behaviors.rule(page.behavior).pattern(), "*");
        assert!(page.cacheable);
        let other_wiki = behaviors.classify(&request("/Main_Page", None, None, "b.wiki"));
        assert_ne!(page.key, other_wiki.key, "Host is in the page key");
        let with_query = behaviors.classify(&request("/Main_Page", Some("utm=1"), Some("s=1"), "a.wiki"));
        assert_eq!(page.key, with_query.key, "query strings and cookies are not");
        let api = behaviors.classify(&request("/api/pages", None, None, "a.wiki"));
        assert_eq!(behaviors.rule(api.behavior).pattern(), "/api/*");
        assert!(!api.cacheable);
        let mut post = request("/Main_Page", None, None, "a.wiki");
        post.method = Method::Post;
        assert!(!behaviors.classify(&post).cacheable, "POST is never cached");
        assert!((behaviors.default.ttl_s - 60.0).abs() < 1e-9);
        let assets = behaviors.ordered.iter().find(|r| r.pattern() == "/assets/*").unwrap();
        assert!((assets.ttl_s - 31_536_000.0).abs() < 1e-9);
    }

    #[test]
    fn query_and_cookie_policies_select_in_order() {
        let mut behaviors = Behaviors::from_model(&Model::preset("typical").unwrap());
        let key = &mut behaviors.default.policy.parameters_in_cache_key_and_forwarded_to_origin;
        key.query_strings_config.query_string_behavior = "whitelist".into();
        key.query_strings_config.query_strings = Some(List::of(vec!["lang".into(), "v".into()]));
        key.cookies_config.cookie_behavior = "allExcept".into();
        key.cookies_config.cookies = Some(List::of(vec!["session".into()]));
        let k = |q: &str, c: &str| behaviors.classify(&request("/P", Some(q), Some(c), "h")).key;
        assert_eq!(k("lang=en&utm=x", "session=1"), k("lang=en", "session=2"));
        assert_ne!(k("lang=en", ""), k("lang=de", ""));
        assert_ne!(k("lang=en&v=2", ""), k("v=2&lang=en", ""), "order is kept");
        assert_ne!(k("lang=en", "theme=dark"), k("lang=en", "theme=light"));
    }
}
