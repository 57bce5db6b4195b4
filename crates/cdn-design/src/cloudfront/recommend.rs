//! The recommended configuration for a model: cache policies, ordered cache behaviours
//! and the `Cache-Control` header the origin must send on each route.
//!
//! Page HTML uses a policy with `DefaultTTL` 0: a page is cached only when the origin
//! opts in with `s-maxage`, so a dynamic page that forgets its header is never shared.

use std::collections::BTreeMap;

use serde::Serialize;

use super::rules::{self, Finding};
use super::shapes::{
    AllowedMethods, CacheBehavior, CacheKey, CachePolicyConfig, CookiesConfig, FunctionAssociation, HeadersConfig,
    List, QueryStringsConfig,
};
use super::{CACHING_DISABLED_ID, CACHING_OPTIMIZED_ID};
use crate::analytic::auth_runs_function;
use crate::model::{AuthOption, Invalidation, Model};

/// Origin id of the wiki's Lambda function in the distribution.
pub const LAMBDA_ORIGIN_ID: &str = "wiki-lambda";
/// Origin id of the static assets' S3 bucket.
pub const ASSETS_ORIGIN_ID: &str = "spa-assets";
/// Placeholder id of the page policy until `create-cache-policy` returns the real one.
pub const PAGE_POLICY_PLACEHOLDER: &str = "<id of coldfront-wiki-pages>";
/// Placeholder ARN of the viewer-request function.
pub const EDGE_FUNCTION_PLACEHOLDER: &str = "arn:aws:cloudfront::<account-id>:function/wiki-edge";

const ALL_METHODS: [&str; 7] = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"];
const YEAR_S: i64 = 31_536_000;

/// A cache policy the recommendation uses.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedCachePolicy {
    /// The policy id (a managed id, or a placeholder for one to create).
    pub id: String,
    /// Whether AWS manages it (nothing to create).
    pub managed: bool,
    /// Its configuration.
    pub cache_policy_config: CachePolicyConfig,
}

/// What the origin must send on one route.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteHeader {
    /// The behaviour's pattern.
    pub path_pattern: String,
    /// An example request path.
    pub example_path: String,
    /// The request method.
    pub method: String,
    /// `Cache-Control` value.
    pub cache_control: String,
    /// The TTL CloudFront will give it under the recommended policy.
    pub effective_ttl_s: i64,
    /// Why.
    pub why: String,
}

/// The recommended CloudFront configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Recommendation {
    /// The cache policies (create the unmanaged ones first, then put their ids in).
    pub cache_policies: Vec<NamedCachePolicy>,
    /// Ordered behaviours, for `DistributionConfig.CacheBehaviors`.
    pub cache_behaviors: List<CacheBehavior>,
    /// For `DistributionConfig.DefaultCacheBehavior`.
    pub default_cache_behavior: CacheBehavior,
    /// The origin's `Cache-Control` per route.
    pub cache_control: Vec<RouteHeader>,
    /// Rule violations (empty for a valid recommendation).
    pub findings: Vec<Finding>,
}

fn key(headers: &[&str], gzip_brotli: bool) -> CacheKey {
    CacheKey {
        enable_accept_encoding_gzip: gzip_brotli,
        enable_accept_encoding_brotli: gzip_brotli,
        headers_config: if headers.is_empty() {
            HeadersConfig {
                header_behavior: "none".to_owned(),
                headers: None,
            }
        } else {
            HeadersConfig {
                header_behavior: "whitelist".to_owned(),
                headers: Some(List::of(headers.iter().map(|h| (*h).to_owned()).collect())),
            }
        },
        cookies_config: CookiesConfig {
            cookie_behavior: "none".to_owned(),
            cookies: None,
        },
        query_strings_config: QueryStringsConfig {
            query_string_behavior: "none".to_owned(),
            query_strings: None,
        },
    }
}

/// AWS's managed `CachingDisabled`.
pub fn caching_disabled() -> CachePolicyConfig {
    CachePolicyConfig {
        comment: Some("AWS managed".to_owned()),
        name: "Managed-CachingDisabled".to_owned(),
        default_ttl: 0,
        max_ttl: 0,
        min_ttl: 0,
        parameters_in_cache_key_and_forwarded_to_origin: key(&[], false),
    }
}

/// AWS's managed `CachingOptimized` (1 s to 1 year, compressed variants in the key).
pub fn caching_optimized() -> CachePolicyConfig {
    CachePolicyConfig {
        comment: Some("AWS managed".to_owned()),
        name: "Managed-CachingOptimized".to_owned(),
        default_ttl: 86_400,
        max_ttl: YEAR_S,
        min_ttl: 1,
        parameters_in_cache_key_and_forwarded_to_origin: key(&[], true),
    }
}

fn behavior(
    pattern: Option<&str>,
    origin: &str,
    methods: AllowedMethods,
    policy: &str,
    function: bool,
) -> CacheBehavior {
    CacheBehavior {
        path_pattern: pattern.map(str::to_owned),
        target_origin_id: origin.to_owned(),
        viewer_protocol_policy: "redirect-to-https".to_owned(),
        allowed_methods: methods,
        compress: true,
        cache_policy_id: policy.to_owned(),
        function_associations: if function {
            List::of(vec![FunctionAssociation {
                function_arn: EDGE_FUNCTION_PLACEHOLDER.to_owned(),
                event_type: "viewer-request".to_owned(),
            }])
        } else {
            List::default()
        },
    }
}

/// The page HTML's `Cache-Control` for a model.
pub fn page_cache_control(model: &Model) -> String {
    let c = &model.cache;
    let s_maxage = match c.invalidation {
        Invalidation::VersionedUrls => c.asset_ttl_s,
        _ => c.page_ttl_s,
    };
    // `max-age=0`: browsers revalidate every view, so only the edge holds a page; no
    // `public`/`private`, which private wikis' pages must avoid (`private` is never cached).
    let mut header = format!("max-age=0, s-maxage={}", s_maxage.round() as i64);
    if c.stale_while_revalidate_s > 0.0 && c.invalidation != Invalidation::VersionedUrls {
        header += &format!(", stale-while-revalidate={}", c.stale_while_revalidate_s.round() as i64);
    }
    header
}

/// The recommended configuration for `model`.
pub fn recommend(model: &Model) -> Recommendation {
    let c = &model.cache;
    let versioned = c.invalidation == Invalidation::VersionedUrls;
    let page_ttl_s = c.page_ttl_s.round() as i64;
    let page_policy = CachePolicyConfig {
        comment: Some(format!(
            "Wiki page HTML: cached only when the origin sends s-maxage ({}); Host in the key separates the wikis",
            page_cache_control(model)
        )),
        name: "coldfront-wiki-pages".to_owned(),
        default_ttl: 0,
        // Versioned content URLs are immutable and kept a year; otherwise a day bounds any
        // origin mistake.
        max_ttl: if versioned { YEAR_S } else { 86_400.max(page_ttl_s) },
        min_ttl: 0,
        parameters_in_cache_key_and_forwarded_to_origin: key(&["Host"], true),
    };
    let edge_function = (model.workload.share_private > 0.0 && auth_runs_function(c.auth)) || versioned;
    let lambda_at_edge = c.auth == AuthOption::LambdaAtEdge;
    let uncached_all = AllowedMethods::new(&ALL_METHODS, &["GET", "HEAD"]);
    let ordered = vec![
        behavior(
            Some("/mcp*"),
            LAMBDA_ORIGIN_ID,
            uncached_all.clone(),
            CACHING_DISABLED_ID,
            false,
        ),
        behavior(
            Some("/api/*"),
            LAMBDA_ORIGIN_ID,
            uncached_all.clone(),
            CACHING_DISABLED_ID,
            false,
        ),
        behavior(
            Some("/-/*"),
            LAMBDA_ORIGIN_ID,
            uncached_all.clone(),
            CACHING_DISABLED_ID,
            false,
        ),
        behavior(
            Some("/assets/*"),
            ASSETS_ORIGIN_ID,
            AllowedMethods::new(&["GET", "HEAD"], &["GET", "HEAD"]),
            CACHING_OPTIMIZED_ID,
            false,
        ),
    ];
    // Lambda@Edge is attached as a LambdaFunctionAssociation, which these shapes leave to
    // the deployment; a CloudFront Function goes in FunctionAssociations.
    let default = behavior(
        None,
        LAMBDA_ORIGIN_ID,
        uncached_all,
        PAGE_POLICY_PLACEHOLDER,
        edge_function && !lambda_at_edge,
    );
    let policies = vec![
        NamedCachePolicy {
            id: PAGE_POLICY_PLACEHOLDER.to_owned(),
            managed: false,
            cache_policy_config: page_policy,
        },
        NamedCachePolicy {
            id: CACHING_OPTIMIZED_ID.to_owned(),
            managed: true,
            cache_policy_config: caching_optimized(),
        },
        NamedCachePolicy {
            id: CACHING_DISABLED_ID.to_owned(),
            managed: true,
            cache_policy_config: caching_disabled(),
        },
    ];
    let by_id: BTreeMap<String, CachePolicyConfig> = policies
        .iter()
        .map(|p| (p.id.clone(), p.cache_policy_config.clone()))
        .collect();
    let page_why = match c.invalidation {
        Invalidation::TtlOnly => format!("pages self-expire after {page_ttl_s} s; no invalidation calls"),
        Invalidation::OnWrite { paths_per_write } => {
            format!("cached {page_ttl_s} s; the origin invalidates {paths_per_write} path(s) on every write")
        }
        Invalidation::VersionedUrls => {
            "the edge function maps /Page to /Page@rev (KeyValueStore); revisions are immutable".to_owned()
        }
    };
    let routes = [
        ("*", "/Main_Page", "GET", page_cache_control(model), page_why),
        (
            "/assets/*",
            "/assets/app.3f9a1c.js",
            "GET",
            "public, max-age=31536000, immutable".to_owned(),
            "content-hashed file names: a new build is a new URL, so a year is safe".to_owned(),
        ),
        (
            "/api/*",
            "/api/pages",
            "GET",
            "no-store".to_owned(),
            "per-user API responses; never shared".to_owned(),
        ),
        (
            "/mcp*",
            "/mcp",
            "POST",
            "no-store".to_owned(),
            "MCP is POST; CloudFront never caches POST".to_owned(),
        ),
        (
            "/-/*",
            "/-/search",
            "GET",
            "no-store".to_owned(),
            "the wiki's dynamic routes (search, login, edit forms)".to_owned(),
        ),
    ];
    let cache_control = routes
        .into_iter()
        .map(|(pattern, example, method, header, why)| {
            let matched = rules::match_behavior(&ordered, &default, example);
            let ttl = if rules::caches_method(matched, method) {
                by_id
                    .get(&matched.cache_policy_id)
                    .map_or(0, |p| rules::effective_ttl_s(p, Some(&header)))
            } else {
                0
            };
            RouteHeader {
                path_pattern: pattern.to_owned(),
                example_path: example.to_owned(),
                method: method.to_owned(),
                cache_control: header,
                effective_ttl_s: ttl,
                why,
            }
        })
        .collect();
    let findings = rules::validate(&ordered, &default, &by_id);
    Recommendation {
        cache_policies: policies,
        cache_behaviors: List::of(ordered),
        default_cache_behavior: default,
        cache_control,
        findings,
    }
}

impl Recommendation {
    /// Policies by id, for [`rules::validate`] and the audit.
    pub fn policies_by_id(&self) -> BTreeMap<String, CachePolicyConfig> {
        self.cache_policies
            .iter()
            .map(|p| (p.id.clone(), p.cache_policy_config.clone()))
            .collect()
    }

    /// The configuration as pretty JSON in CloudFront API shapes.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recommendation_is_valid_and_ttls_come_out_as_intended() {
        for name in ["typical", "seed", "large"] {
            let mut model = Model::preset(name).unwrap();
            model.cache.stale_while_revalidate_s = 30.0;
            let rec = recommend(&model);
            assert!(rec.findings.is_empty(), "{name}: {:?}", rec.findings);
            let ttl = |p: &str| {
                rec.cache_control
                    .iter()
                    .find(|r| r.path_pattern == p)
                    .unwrap()
                    .effective_ttl_s
            };
            assert_eq!(ttl("*"), 60);
            assert_eq!(ttl("/assets/*"), 31_536_000);
            assert_eq!(ttl("/mcp*"), 0);
            assert_eq!(ttl("/api/*"), 0);
            assert!(rec.cache_control[0].cache_control.contains("stale-while-revalidate=30"));
        }
    }

    #[test]
    fn versioned_urls_raise_the_page_policy_max_ttl() {
        let mut model = Model::preset("typical").unwrap();
        model.cache.invalidation = Invalidation::VersionedUrls;
        let rec = recommend(&model);
        assert_eq!(rec.cache_control[0].effective_ttl_s, 31_536_000);
        assert_eq!(rec.default_cache_behavior.function_associations.quantity, 1);
    }

    #[test]
    fn json_uses_cloudfront_names() {
        let json = recommend(&Model::preset("seed").unwrap()).to_json();
        for name in [
            "\"CachePolicyConfig\"",
            "\"MinTTL\"",
            "\"PathPattern\": \"/mcp*\"",
            "\"CachedMethods\"",
            "\"Quantity\": 4",
        ] {
            assert!(json.contains(name), "{name} missing");
        }
    }
}
