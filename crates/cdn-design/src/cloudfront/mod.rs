//! CloudFront configuration: the API shapes ([`shapes`]), the recommended cache policies,
//! behaviours and origin headers for a model ([`recommend()`]), CloudFront's rules — TTL
//! clamping, behaviour matching, limits — as functions ([`rules`]), and the audit of a live
//! distribution against the recommendation ([`audit`]).

pub mod audit;
pub mod recommend;
pub mod rules;
pub mod shapes;

pub use recommend::{Recommendation, RouteHeader, recommend};
pub use rules::{Finding, Severity, effective_ttl_s, match_behavior, validate};
pub use shapes::{CacheBehavior, CachePolicyConfig};

/// AWS's managed `CachingDisabled` policy (docs/sources.md, "CloudFront cache configuration").
pub const CACHING_DISABLED_ID: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
/// AWS's managed `CachingOptimized` policy (docs/sources.md, "CloudFront cache configuration").
pub const CACHING_OPTIMIZED_ID: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
/// CloudFront's limit on cache behaviours per distribution (docs/sources.md, "CloudFront
/// cache configuration").
pub const MAX_BEHAVIORS: usize = 75;
