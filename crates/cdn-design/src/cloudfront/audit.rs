//! Audit: where a live distribution differs from the recommendation.
//!
//! The core, [`diff`], is a pure function of two configurations in the same shapes, so it
//! is tested without AWS. [`fetch`] (feature `aws`) reads a distribution with
//! `GetDistributionConfig` and the cache policies it references with
//! `GetCachePolicyConfig`; the caller builds the client (standard credential chain).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::recommend::Recommendation;
use super::rules;
use super::shapes::{CacheBehavior, CachePolicyConfig};

/// A distribution's cache configuration as read from CloudFront.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveDistribution {
    /// The distribution id.
    pub distribution_id: String,
    /// The config's ETag (needed for an update).
    pub etag: Option<String>,
    /// Ordered behaviours.
    pub cache_behaviors: Vec<CacheBehavior>,
    /// The default behaviour.
    pub default_cache_behavior: CacheBehavior,
    /// Every cache policy the behaviours reference, by id.
    pub cache_policies: BTreeMap<String, CachePolicyConfig>,
}

/// One way the live configuration differs from the recommendation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The behaviour's pattern, or a probe request such as `GET /Main_Page`.
    pub scope: String,
    /// What differs.
    pub field: String,
    /// The live value.
    pub live: String,
    /// The recommended value.
    pub recommended: String,
    /// Why it matters.
    pub why: String,
}

fn normalise(pattern: &str) -> &str {
    pattern.strip_prefix('/').unwrap_or(pattern)
}

fn set(items: &[String]) -> BTreeSet<&str> {
    items.iter().map(String::as_str).collect()
}

fn show(items: &BTreeSet<&str>) -> String {
    items.iter().copied().collect::<Vec<_>>().join(",")
}

fn policy_summary(p: &CachePolicyConfig) -> String {
    let k = &p.parameters_in_cache_key_and_forwarded_to_origin;
    let headers = k
        .headers_config
        .headers
        .as_ref()
        .map_or_else(String::new, |h| format!(" {}", h.items.join(",")));
    format!(
        "{} (TTL min {} / default {} / max {} s; headers {}{headers}; cookies {}; query strings {})",
        p.name,
        p.min_ttl,
        p.default_ttl,
        p.max_ttl,
        k.headers_config.header_behavior,
        k.cookies_config.cookie_behavior,
        k.query_strings_config.query_string_behavior
    )
}

fn compare_behavior(
    scope: &str,
    live: &CacheBehavior,
    live_policies: &BTreeMap<String, CachePolicyConfig>,
    rec: &CacheBehavior,
    rec_policies: &BTreeMap<String, CachePolicyConfig>,
    out: &mut Vec<Difference>,
) {
    let mut differ = |field: &str, live: String, recommended: String, why: &str| {
        out.push(Difference {
            scope: scope.to_owned(),
            field: field.to_owned(),
            live,
            recommended,
            why: why.to_owned(),
        });
    };
    let (la, ra) = (set(&live.allowed_methods.items), set(&rec.allowed_methods.items));
    if la != ra {
        differ(
            "AllowedMethods",
            show(&la),
            show(&ra),
            "requests with other methods are refused or let through",
        );
    }
    let (lc, rc) = (
        set(&live.allowed_methods.cached_methods.items),
        set(&rec.allowed_methods.cached_methods.items),
    );
    if lc != rc {
        differ(
            "CachedMethods",
            show(&lc),
            show(&rc),
            "which methods' responses are shared from the cache",
        );
    }
    if live.viewer_protocol_policy != rec.viewer_protocol_policy {
        differ(
            "ViewerProtocolPolicy",
            live.viewer_protocol_policy.clone(),
            rec.viewer_protocol_policy.clone(),
            "how plain-HTTP requests are answered (redirect or refuse)",
        );
    }
    if live.compress != rec.compress {
        differ(
            "Compress",
            live.compress.to_string(),
            rec.compress.to_string(),
            "uncompressed HTML costs transfer and time",
        );
    }
    let events = |b: &CacheBehavior| -> BTreeSet<String> {
        b.function_associations
            .items
            .iter()
            .map(|f| f.event_type.clone())
            .collect()
    };
    let (le, re) = (events(live), events(rec));
    if le != re {
        let join = |s: &BTreeSet<String>| {
            if s.is_empty() {
                "none".to_owned()
            } else {
                s.iter().cloned().collect::<Vec<_>>().join(",")
            }
        };
        differ(
            "FunctionAssociations",
            join(&le),
            join(&re),
            "the edge function checks private wikis' tokens (and maps versioned URLs) before the cache answers",
        );
    }
    let rec_policy = rec_policies.get(&rec.cache_policy_id);
    let live_policy = live_policies.get(&live.cache_policy_id);
    let same_id = live.cache_policy_id == rec.cache_policy_id;
    match (live_policy, rec_policy) {
        _ if same_id => {}
        (Some(l), Some(r)) => {
            let (lk, rk) = (
                &l.parameters_in_cache_key_and_forwarded_to_origin,
                &r.parameters_in_cache_key_and_forwarded_to_origin,
            );
            let ttls_differ = (l.min_ttl, l.default_ttl, l.max_ttl) != (r.min_ttl, r.default_ttl, r.max_ttl);
            let headers = |k: &super::shapes::CacheKey| {
                (
                    k.headers_config.header_behavior.clone(),
                    k.headers_config
                        .headers
                        .as_ref()
                        .map(|h| set(&h.items).into_iter().map(str::to_owned).collect::<BTreeSet<_>>()),
                )
            };
            let key_differs = headers(lk) != headers(rk)
                || lk.cookies_config.cookie_behavior != rk.cookies_config.cookie_behavior
                || lk.query_strings_config.query_string_behavior != rk.query_strings_config.query_string_behavior
                || lk.enable_accept_encoding_gzip != rk.enable_accept_encoding_gzip
                || lk.enable_accept_encoding_brotli != rk.enable_accept_encoding_brotli;
            if ttls_differ || key_differs {
                differ(
                    "CachePolicy",
                    policy_summary(l),
                    policy_summary(r),
                    if key_differs {
                        "the cache key decides which requests share a copy (Host must separate wikis; cookies in the key split it per user)"
                    } else {
                        "the TTL clamps decide how long pages stay cached"
                    },
                );
            }
        }
        (None, Some(r)) => differ(
            "CachePolicy",
            format!("{} (not readable)", live.cache_policy_id),
            policy_summary(r),
            "the live policy could not be read; check it by hand",
        ),
        (_, None) => {}
    }
}

/// Every difference between `live` and the recommendation: per behaviour (matched by
/// path pattern), behaviours only one side has, and probe requests whose matched
/// behaviour or resulting TTL differs.
pub fn diff(live: &LiveDistribution, recommended: &Recommendation) -> Vec<Difference> {
    let rec_policies = recommended.policies_by_id();
    let mut out = Vec::new();
    let rec_ordered = &recommended.cache_behaviors.items;
    for (index, rec) in rec_ordered.iter().enumerate() {
        let pattern = rec.pattern();
        match live
            .cache_behaviors
            .iter()
            .position(|l| normalise(l.pattern()) == normalise(pattern))
        {
            None => out.push(Difference {
                scope: pattern.to_owned(),
                field: "CacheBehavior".to_owned(),
                live: "missing".to_owned(),
                recommended: format!("position {} → {}", index + 1, rec.target_origin_id),
                why: "requests for this path fall through to a later behaviour or the default".to_owned(),
            }),
            Some(position) => compare_behavior(
                pattern,
                &live.cache_behaviors[position],
                &live.cache_policies,
                rec,
                &rec_policies,
                &mut out,
            ),
        }
    }
    compare_behavior(
        "*",
        &live.default_cache_behavior,
        &live.cache_policies,
        &recommended.default_cache_behavior,
        &rec_policies,
        &mut out,
    );
    for extra in &live.cache_behaviors {
        if !rec_ordered
            .iter()
            .any(|r| normalise(r.pattern()) == normalise(extra.pattern()))
        {
            out.push(Difference {
                scope: extra.pattern().to_owned(),
                field: "CacheBehavior".to_owned(),
                live: format!("→ {} (policy {})", extra.target_origin_id, extra.cache_policy_id),
                recommended: "absent".to_owned(),
                why: "not in the recommendation; check which requests it catches before the recommended ones"
                    .to_owned(),
            });
        }
    }
    // Probes: what a real request gets, which also catches ordering mistakes.
    for route in &recommended.cache_control {
        let scope = format!("{} {}", route.method, route.example_path);
        let matched = rules::match_behavior(&live.cache_behaviors, &live.default_cache_behavior, &route.example_path);
        let live_ttl = if rules::caches_method(matched, &route.method) {
            live.cache_policies
                .get(&matched.cache_policy_id)
                .map(|p| rules::effective_ttl_s(p, Some(&route.cache_control)))
        } else {
            Some(0)
        };
        let live_ttl_text = live_ttl.map_or_else(|| "unknown (policy not readable)".to_owned(), |t| format!("{t} s"));
        if live_ttl != Some(route.effective_ttl_s) {
            out.push(Difference {
                scope,
                field: "effective TTL".to_owned(),
                live: format!("{live_ttl_text} via behaviour `{}`", matched.pattern()),
                recommended: format!(
                    "{} s via behaviour `{}` with `Cache-Control: {}`",
                    route.effective_ttl_s, route.path_pattern, route.cache_control
                ),
                why: route.why.clone(),
            });
        }
    }
    out
}

/// Reading the live distribution failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// An API call failed.
    #[error("CloudFront {operation} for {id} failed: {message}")]
    Api {
        /// The operation.
        operation: &'static str,
        /// The distribution or policy id.
        id: String,
        /// The SDK's error, with its causes.
        message: String,
    },
    /// A response lacked a field the audit needs.
    #[error("CloudFront {operation} for {id} returned no {field}")]
    Missing {
        /// The operation.
        operation: &'static str,
        /// The distribution or policy id.
        id: String,
        /// The missing field.
        field: &'static str,
    },
}

#[cfg(feature = "aws")]
pub use aws::fetch;

#[cfg(feature = "aws")]
mod aws {
    use std::collections::BTreeMap;

    use aws_sdk_cloudfront::Client;
    use aws_sdk_cloudfront::error::DisplayErrorContext;
    use aws_sdk_cloudfront::types as sdk;

    use super::super::shapes::{
        AllowedMethods, CacheBehavior, CacheKey, CachePolicyConfig, CookiesConfig, FunctionAssociation, HeadersConfig,
        List, QueryStringsConfig,
    };
    use super::{AuditError, LiveDistribution};

    fn methods(allowed: Option<&sdk::AllowedMethods>) -> AllowedMethods {
        let names = |items: &[sdk::Method]| items.iter().map(|m| m.as_str().to_owned()).collect::<Vec<_>>();
        match allowed {
            None => AllowedMethods::new(&["GET", "HEAD"], &["GET", "HEAD"]),
            Some(a) => AllowedMethods {
                quantity: a.quantity().max(0) as u32,
                items: names(a.items()),
                cached_methods: a.cached_methods().map_or_else(
                    || List::of(vec!["GET".to_owned(), "HEAD".to_owned()]),
                    |c| List::of(names(c.items())),
                ),
            },
        }
    }

    fn functions(f: Option<&sdk::FunctionAssociations>) -> List<FunctionAssociation> {
        List::of(
            f.map(|f| {
                f.items()
                    .iter()
                    .map(|a| FunctionAssociation {
                        function_arn: a.function_arn().to_owned(),
                        event_type: a.event_type().as_str().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        )
    }

    fn ordered(b: &sdk::CacheBehavior) -> CacheBehavior {
        CacheBehavior {
            path_pattern: Some(b.path_pattern().to_owned()),
            target_origin_id: b.target_origin_id().to_owned(),
            viewer_protocol_policy: b.viewer_protocol_policy().as_str().to_owned(),
            allowed_methods: methods(b.allowed_methods()),
            compress: b.compress().unwrap_or(false),
            // Legacy behaviours (ForwardedValues, no policy) show up as an empty id.
            cache_policy_id: b.cache_policy_id().unwrap_or_default().to_owned(),
            function_associations: functions(b.function_associations()),
        }
    }

    fn default(b: &sdk::DefaultCacheBehavior) -> CacheBehavior {
        CacheBehavior {
            path_pattern: None,
            target_origin_id: b.target_origin_id().to_owned(),
            viewer_protocol_policy: b.viewer_protocol_policy().as_str().to_owned(),
            allowed_methods: methods(b.allowed_methods()),
            compress: b.compress().unwrap_or(false),
            cache_policy_id: b.cache_policy_id().unwrap_or_default().to_owned(),
            function_associations: functions(b.function_associations()),
        }
    }

    fn policy(p: &sdk::CachePolicyConfig) -> CachePolicyConfig {
        let key = p.parameters_in_cache_key_and_forwarded_to_origin();
        CachePolicyConfig {
            comment: p.comment().map(str::to_owned),
            name: p.name().to_owned(),
            default_ttl: p.default_ttl().unwrap_or(86_400),
            max_ttl: p.max_ttl().unwrap_or(31_536_000),
            min_ttl: p.min_ttl(),
            parameters_in_cache_key_and_forwarded_to_origin: CacheKey {
                enable_accept_encoding_gzip: key
                    .is_some_and(sdk::ParametersInCacheKeyAndForwardedToOrigin::enable_accept_encoding_gzip),
                enable_accept_encoding_brotli: key
                    .and_then(sdk::ParametersInCacheKeyAndForwardedToOrigin::enable_accept_encoding_brotli)
                    .unwrap_or(false),
                headers_config: HeadersConfig {
                    header_behavior: key
                        .and_then(|k| k.headers_config())
                        .map_or("none", |h| h.header_behavior().as_str())
                        .to_owned(),
                    headers: key
                        .and_then(|k| k.headers_config())
                        .and_then(|h| h.headers())
                        .map(|h| List::of(h.items().to_vec())),
                },
                cookies_config: CookiesConfig {
                    cookie_behavior: key
                        .and_then(|k| k.cookies_config())
                        .map_or("none", |c| c.cookie_behavior().as_str())
                        .to_owned(),
                    cookies: key
                        .and_then(|k| k.cookies_config())
                        .and_then(|c| c.cookies())
                        .map(|c| List::of(c.items().to_vec())),
                },
                query_strings_config: QueryStringsConfig {
                    query_string_behavior: key
                        .and_then(|k| k.query_strings_config())
                        .map_or("none", |q| q.query_string_behavior().as_str())
                        .to_owned(),
                    query_strings: key
                        .and_then(|k| k.query_strings_config())
                        .and_then(|q| q.query_strings())
                        .map(|q| List::of(q.items().to_vec())),
                },
            },
        }
    }

    /// Reads a distribution's behaviours and every cache policy they use.
    pub async fn fetch(client: &Client, distribution_id: &str) -> Result<LiveDistribution, AuditError> {
        let output = client
            .get_distribution_config()
            .id(distribution_id)
            .send()
            .await
            .map_err(|err| AuditError::Api {
                operation: "GetDistributionConfig",
                id: distribution_id.to_owned(),
                message: DisplayErrorContext(&err).to_string(),
            })?;
        let missing = |field| AuditError::Missing {
            operation: "GetDistributionConfig",
            id: distribution_id.to_owned(),
            field,
        };
        let config = output
            .distribution_config()
            .ok_or_else(|| missing("DistributionConfig"))?;
        let default_cache_behavior = default(
            config
                .default_cache_behavior()
                .ok_or_else(|| missing("DefaultCacheBehavior"))?,
        );
        let cache_behaviors: Vec<CacheBehavior> = config
            .cache_behaviors()
            .map(|b| b.items().iter().map(ordered).collect())
            .unwrap_or_default();
        let mut cache_policies = BTreeMap::new();
        for id in cache_behaviors
            .iter()
            .chain(std::iter::once(&default_cache_behavior))
            .map(|b| b.cache_policy_id.clone())
            .filter(|id| !id.is_empty())
        {
            if cache_policies.contains_key(&id) {
                continue;
            }
            let out = client
                .get_cache_policy_config()
                .id(&id)
                .send()
                .await
                .map_err(|err| AuditError::Api {
                    operation: "GetCachePolicyConfig",
                    id: id.clone(),
                    message: DisplayErrorContext(&err).to_string(),
                })?;
            let config = out.cache_policy_config().ok_or_else(|| AuditError::Missing {
                operation: "GetCachePolicyConfig",
                id: id.clone(),
                field: "CachePolicyConfig",
            })?;
            cache_policies.insert(id, policy(config));
        }
        Ok(LiveDistribution {
            distribution_id: distribution_id.to_owned(),
            etag: output.e_tag().map(str::to_owned),
            cache_behaviors,
            default_cache_behavior,
            cache_policies,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::recommend::{PAGE_POLICY_PLACEHOLDER, recommend};
    use super::*;
    use crate::model::Model;

    fn live_from(rec: &Recommendation) -> LiveDistribution {
        let mut policies = rec.policies_by_id();
        // A deployed copy of the page policy has a real id.
        let page = policies.remove(PAGE_POLICY_PLACEHOLDER).unwrap();
        policies.insert("11111111-2222-3333-4444-555555555555".to_owned(), page);
        let mut default = rec.default_cache_behavior.clone();
        default.cache_policy_id = "11111111-2222-3333-4444-555555555555".to_owned();
        LiveDistribution {
            distribution_id: "E123".to_owned(),
            etag: None,
            cache_behaviors: rec.cache_behaviors.items.clone(),
            default_cache_behavior: default,
            cache_policies: policies,
        }
    }

    #[test]
    fn a_deployed_recommendation_has_no_differences() {
        let rec = recommend(&Model::preset("seed").unwrap());
        assert_eq!(diff(&live_from(&rec), &rec), Vec::new());
    }

    #[test]
    fn the_seed_today_caches_no_pages() {
        let rec = recommend(&Model::preset("seed").unwrap());
        let mut live = live_from(&rec);
        // "CloudFront ... is not used to cache wiki page content" (E-2): default is CachingDisabled.
        live.default_cache_behavior.cache_policy_id = super::super::CACHING_DISABLED_ID.to_owned();
        live.cache_policies.insert(
            super::super::CACHING_DISABLED_ID.to_owned(),
            super::super::recommend::caching_disabled(),
        );
        let diffs = diff(&live, &rec);
        assert!(
            diffs.iter().any(|d| d.scope == "*" && d.field == "CachePolicy"),
            "{diffs:#?}"
        );
        let probe = diffs
            .iter()
            .find(|d| d.scope == "GET /Main_Page")
            .expect("probe differs");
        assert!(probe.live.starts_with("0 s"), "{probe:?}");
        assert!(probe.recommended.starts_with("60 s"), "{probe:?}");
    }

    #[test]
    fn order_mistakes_show_up_in_the_probes() {
        let rec = recommend(&Model::preset("seed").unwrap());
        let mut live = live_from(&rec);
        // A catch-all cached behaviour in front of /mcp* and /api/*.
        let mut catch_all = live.cache_behaviors[3].clone();
        catch_all.path_pattern = Some("/*".to_owned());
        live.cache_behaviors.insert(0, catch_all);
        let diffs = diff(&live, &rec);
        assert!(diffs.iter().any(|d| d.scope == "/*" && d.recommended == "absent"));
        assert!(
            diffs
                .iter()
                .any(|d| d.scope == "GET /api/pages" && d.live.contains("`/*`")),
            "{diffs:#?}"
        );
    }
}
