//! The distribution the logs came from, read from the AWS CLI's JSON: the output of
//! `aws cloudfront get-distribution-config` (or its `DistributionConfig` alone) and, for
//! each custom cache policy the behaviours use, `aws cloudfront get-cache-policy` (or
//! `list-cache-policies`). The shapes are CloudFront's own ([`crate::cloudfront::shapes`]);
//! fields coldfront does not use are ignored. AWS's `CachingDisabled` and
//! `CachingOptimized` policies are built in.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::cloudfront::recommend::{caching_disabled, caching_optimized};
use crate::cloudfront::shapes::{CacheBehavior, CachePolicyConfig, List};
use crate::cloudfront::{CACHING_DISABLED_ID, CACHING_OPTIMIZED_ID};

use super::LogError;

/// A distribution's behaviours and the cache policies they use.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    /// Ordered behaviours.
    pub ordered: Vec<CacheBehavior>,
    /// The default behaviour.
    pub default: CacheBehavior,
    /// Cache policies by id.
    pub policies: BTreeMap<String, CachePolicyConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Wrapped {
    distribution_config: Option<Config>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Config {
    #[serde(default)]
    cache_behaviors: Option<List<CacheBehavior>>,
    default_cache_behavior: CacheBehavior,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyFile {
    cache_policy: Option<NamedPolicy>,
    cache_policy_list: Option<PolicyList>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyList {
    #[serde(default)]
    items: Vec<PolicySummary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicySummary {
    cache_policy: NamedPolicy,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NamedPolicy {
    id: String,
    cache_policy_config: CachePolicyConfig,
}

fn read(path: &Path) -> Result<String, LogError> {
    std::fs::read_to_string(path).map_err(|source| LogError::Io {
        path: path.to_owned(),
        source,
    })
}

fn bad(path: &Path, message: String) -> LogError {
    LogError::Fields {
        at: path.display().to_string(),
        message,
    }
}

/// Reads a distribution and its custom cache policies from AWS CLI JSON files.
pub fn load_distribution(path: &Path, policy_files: &[impl AsRef<Path>]) -> Result<Distribution, LogError> {
    let text = read(path)?;
    let json_error = |e: serde_json::Error| {
        bad(
            path,
            format!(
                "{e}; give the JSON `aws cloudfront get-distribution-config --id ID` prints (behaviours must use cache policies, not the legacy ForwardedValues)"
            ),
        )
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(json_error)?;
    let config: Config = if value.get("DistributionConfig").is_some() {
        let wrapped: Wrapped = serde_json::from_value(value).map_err(json_error)?;
        wrapped.distribution_config.expect("checked above")
    } else {
        serde_json::from_value(value).map_err(json_error)?
    };
    let mut policies = BTreeMap::from([
        (CACHING_DISABLED_ID.to_owned(), caching_disabled()),
        (CACHING_OPTIMIZED_ID.to_owned(), caching_optimized()),
    ]);
    for file in policy_files {
        let file = file.as_ref();
        let parsed: PolicyFile = serde_json::from_str(&read(file)?).map_err(|e| {
            bad(
                file,
                format!("{e}; give the JSON `aws cloudfront get-cache-policy --id ID` or `list-cache-policies` prints"),
            )
        })?;
        let named: Vec<NamedPolicy> = match (parsed.cache_policy, parsed.cache_policy_list) {
            (Some(one), _) => vec![one],
            (None, Some(list)) => list.items.into_iter().map(|s| s.cache_policy).collect(),
            (None, None) => {
                return Err(bad(
                    file,
                    "has neither CachePolicy nor CachePolicyList; give the output of `aws cloudfront get-cache-policy --id ID`"
                        .to_owned(),
                ));
            }
        };
        for p in named {
            policies.insert(p.id, p.cache_policy_config);
        }
    }
    let ordered = config.cache_behaviors.map(|l| l.items).unwrap_or_default();
    for behavior in ordered.iter().chain(std::iter::once(&config.default_cache_behavior)) {
        if !policies.contains_key(&behavior.cache_policy_id) {
            return Err(bad(
                path,
                format!(
                    "behaviour {} uses cache policy {}, which is not given; add --cache-policy with the output of `aws cloudfront get-cache-policy --id {}`",
                    behavior.pattern(),
                    behavior.cache_policy_id,
                    behavior.cache_policy_id
                ),
            ));
        }
    }
    Ok(Distribution {
        ordered,
        default: config.default_cache_behavior,
        policies,
    })
}
