//! CloudFront API shapes, serialised exactly as the API and the AWS CLI's JSON take them
//! (`PascalCase`, `Quantity` + `Items` lists), so the output can be pasted into
//! `aws cloudfront create-cache-policy --cache-policy-config file://...` or a
//! `DistributionConfig`.

use serde::{Deserialize, Serialize};

/// A CloudFront list: `{"Quantity": n, "Items": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct List<T> {
    /// Number of items (CloudFront checks it equals `Items.len()`).
    pub quantity: u32,
    /// The items; omitted when empty, as the API does.
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<T>,
}

impl<T> List<T> {
    /// A list with a correct quantity.
    pub fn of(items: Vec<T>) -> Self {
        Self {
            quantity: items.len() as u32,
            items,
        }
    }
}

impl<T> Default for List<T> {
    fn default() -> Self {
        Self::of(Vec::new())
    }
}

/// `CachePolicyConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CachePolicyConfig {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Unique name in the account.
    pub name: String,
    /// TTL when the origin sends no `Cache-Control`/`Expires`.
    #[serde(rename = "DefaultTTL")]
    pub default_ttl: i64,
    /// Upper clamp of the origin's TTL.
    #[serde(rename = "MaxTTL")]
    pub max_ttl: i64,
    /// Lower clamp of the origin's TTL.
    #[serde(rename = "MinTTL")]
    pub min_ttl: i64,
    /// The cache key.
    pub parameters_in_cache_key_and_forwarded_to_origin: CacheKey,
}

/// `ParametersInCacheKeyAndForwardedToOrigin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CacheKey {
    /// Cache gzip variants separately.
    pub enable_accept_encoding_gzip: bool,
    /// Cache Brotli variants separately.
    pub enable_accept_encoding_brotli: bool,
    /// Headers in the key.
    pub headers_config: HeadersConfig,
    /// Cookies in the key.
    pub cookies_config: CookiesConfig,
    /// Query strings in the key.
    pub query_strings_config: QueryStringsConfig,
}

/// `HeadersConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HeadersConfig {
    /// `none` or `whitelist`.
    pub header_behavior: String,
    /// The headers, for `whitelist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<List<String>>,
}

/// `CookiesConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CookiesConfig {
    /// `none`, `whitelist`, `allExcept` or `all`.
    pub cookie_behavior: String,
    /// The cookies, for `whitelist`/`allExcept`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookies: Option<List<String>>,
}

/// `QueryStringsConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryStringsConfig {
    /// `none`, `whitelist`, `allExcept` or `all`.
    pub query_string_behavior: String,
    /// The names, for `whitelist`/`allExcept`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_strings: Option<List<String>>,
}

/// `AllowedMethods` with its nested `CachedMethods`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AllowedMethods {
    /// Number of methods.
    pub quantity: u32,
    /// The methods CloudFront forwards.
    pub items: Vec<String>,
    /// The methods whose responses are cached (GET/HEAD[/OPTIONS] only).
    pub cached_methods: List<String>,
}

impl AllowedMethods {
    /// Allowed `allowed`, cached `cached`.
    pub fn new(allowed: &[&str], cached: &[&str]) -> Self {
        Self {
            quantity: allowed.len() as u32,
            items: allowed.iter().map(|m| (*m).to_owned()).collect(),
            cached_methods: List::of(cached.iter().map(|m| (*m).to_owned()).collect()),
        }
    }
}

/// `FunctionAssociation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionAssociation {
    /// The function's ARN.
    #[serde(rename = "FunctionARN")]
    pub function_arn: String,
    /// `viewer-request` or `viewer-response`.
    pub event_type: String,
}

/// `CacheBehavior` (with `PathPattern`) or `DefaultCacheBehavior` (without).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CacheBehavior {
    /// The path pattern; `None` for the default behaviour (`*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_pattern: Option<String>,
    /// The origin's id in the distribution.
    pub target_origin_id: String,
    /// `allow-all`, `https-only` or `redirect-to-https`.
    pub viewer_protocol_policy: String,
    /// Methods forwarded and cached.
    pub allowed_methods: AllowedMethods,
    /// Compress responses at the edge.
    pub compress: bool,
    /// The cache policy's id.
    pub cache_policy_id: String,
    /// CloudFront Functions on viewer events.
    pub function_associations: List<FunctionAssociation>,
}

impl CacheBehavior {
    /// The pattern, `*` for the default behaviour.
    pub fn pattern(&self) -> &str {
        self.path_pattern.as_deref().unwrap_or("*")
    }
}
