//! Where every input comes from, and the one table of numeric inputs.
//!
//! The table drives TOML loading (names, units, ranges), the page's input table and the
//! provenance labels, so a new knob is added in one place.

use std::fmt;

use serde::Serialize;

use crate::model::{Invalidation, Model};

/// Where a number comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum Source {
    /// A documented fact: the section of docs/sources.md (or AWS's documentation) it is in.
    Reference(&'static str),
    /// The user's own figures in the seed task (Tasks/Emergent E-2).
    Seed(&'static str),
    /// A default nobody has measured; the text says why it was chosen.
    Assumed(&'static str),
    /// Measured: the run or file it came from.
    Measured(String),
    /// Set by the user: `file:line`, or how it was changed.
    Set(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reference(r) => write!(f, "{r}"),
            Self::Seed(s) => write!(f, "seed: {s}"),
            Self::Assumed(why) => write!(f, "ASSUMED: {why}"),
            Self::Measured(m) => write!(f, "measured: {m}"),
            Self::Set(at) => write!(f, "set: {at}"),
        }
    }
}

/// One numeric input with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Input {
    /// Dotted name, as in the TOML file (`workload.wikis`).
    pub key: &'static str,
    /// The value.
    pub value: f64,
    /// Its unit (`s`, `1/day`, `bytes`, ...).
    pub unit: &'static str,
    /// Where it comes from.
    pub source: Source,
}

/// How to read, write and check one numeric input.
pub(crate) struct NumericInput {
    pub key: &'static str,
    pub unit: &'static str,
    pub get: fn(&Model) -> f64,
    pub set: fn(&mut Model, f64),
    /// Inclusive bounds.
    pub min: f64,
    pub max: f64,
    /// Whether the value must be a whole number.
    pub integer: bool,
}

macro_rules! input {
    ($key:literal, $unit:literal, $($field:ident).+, $min:expr, $max:expr, float) => {
        NumericInput {
            key: $key,
            unit: $unit,
            get: |m| m.$($field).+,
            set: |m, v| m.$($field).+ = v,
            min: $min,
            max: $max,
            integer: false,
        }
    };
    ($key:literal, $unit:literal, $($field:ident).+, $min:expr, $max:expr, $int:ty) => {
        NumericInput {
            key: $key,
            unit: $unit,
            get: |m| m.$($field).+ as f64,
            set: |m, v| m.$($field).+ = v as $int,
            min: $min,
            max: $max,
            integer: true,
        }
    };
}

const YEAR_S: f64 = 365.0 * 86_400.0;

// The integer arm of `input!` casts u32 and u64 alike; u64 has no lossless `From`.
#[allow(clippy::cast_lossless)]
static INPUTS: &[NumericInput] = &[
    input!("workload.wikis", "wikis", workload.wikis, 1.0, 1e7, u64),
    input!(
        "workload.wiki_zipf_exponent",
        "",
        workload.wiki_zipf_exponent,
        0.0,
        5.0,
        float
    ),
    input!(
        "workload.pages_per_wiki",
        "pages",
        workload.pages_per_wiki,
        1.0,
        1e7,
        u64
    ),
    input!(
        "workload.page_zipf_exponent",
        "",
        workload.page_zipf_exponent,
        0.0,
        5.0,
        float
    ),
    input!(
        "workload.reads_per_wiki_per_day",
        "1/day",
        workload.reads_per_wiki_per_day,
        0.0,
        1e9,
        float
    ),
    input!(
        "workload.writes_per_wiki_per_day",
        "1/day",
        workload.writes_per_wiki_per_day,
        0.0,
        1e7,
        float
    ),
    input!(
        "workload.asset_requests_per_page_view",
        "",
        workload.asset_requests_per_page_view,
        0.0,
        1000.0,
        float
    ),
    input!(
        "workload.distinct_assets",
        "objects",
        workload.distinct_assets,
        0.0,
        1e7,
        u64
    ),
    input!(
        "workload.api_requests_per_page_view",
        "",
        workload.api_requests_per_page_view,
        0.0,
        1000.0,
        float
    ),
    input!(
        "workload.mcp_requests_per_write",
        "",
        workload.mcp_requests_per_write,
        0.0,
        1000.0,
        float
    ),
    input!("workload.page_bytes", "bytes", workload.page_bytes, 0.0, 1e9, float),
    input!("workload.asset_bytes", "bytes", workload.asset_bytes, 0.0, 1e9, float),
    input!("workload.api_bytes", "bytes", workload.api_bytes, 0.0, 1e9, float),
    input!("workload.mcp_bytes", "bytes", workload.mcp_bytes, 0.0, 1e9, float),
    input!("workload.share_private", "", workload.share_private, 0.0, 1.0, float),
    input!(
        "workload.edge_locations",
        "locations",
        workload.edge_locations,
        1.0,
        10_000.0,
        u32
    ),
    input!(
        "workload.regional_caches",
        "caches",
        workload.regional_caches,
        0.0,
        1000.0,
        u32
    ),
    input!(
        "workload.days_per_month",
        "days",
        workload.days_per_month,
        28.0,
        31.0,
        float
    ),
    input!("cache.page_ttl_s", "s", cache.page_ttl_s, 0.0, YEAR_S, float),
    input!(
        "cache.stale_while_revalidate_s",
        "s",
        cache.stale_while_revalidate_s,
        0.0,
        YEAR_S,
        float
    ),
    input!("cache.asset_ttl_s", "s", cache.asset_ttl_s, 0.0, YEAR_S, float),
    input!(
        "cache.invalidation_propagation_s",
        "s",
        cache.invalidation_propagation_s,
        0.0,
        86_400.0,
        float
    ),
    input!(
        "cache.kvs_propagation_s",
        "s",
        cache.kvs_propagation_s,
        0.0,
        86_400.0,
        float
    ),
    input!(
        "cache.deploys_per_month",
        "1/month",
        cache.deploys_per_month,
        0.0,
        10_000.0,
        float
    ),
    input!(
        "origin.idle_timeout_s",
        "s",
        origin.idle_timeout_s,
        1.0,
        86_400.0,
        float
    ),
    input!("origin.memory_mb", "MB", origin.memory_mb, 128.0, 10_240.0, u32),
    input!(
        "origin.edge_hit_min_ms",
        "ms",
        origin.edge_hit_min_ms,
        0.0,
        10_000.0,
        float
    ),
    input!(
        "origin.edge_hit_max_ms",
        "ms",
        origin.edge_hit_max_ms,
        0.0,
        10_000.0,
        float
    ),
    input!(
        "origin.edge_to_origin_ms",
        "ms",
        origin.edge_to_origin_ms,
        0.0,
        10_000.0,
        float
    ),
    input!(
        "origin.regional_hit_extra_ms",
        "ms",
        origin.regional_hit_extra_ms,
        0.0,
        10_000.0,
        float
    ),
    NumericInput {
        key: "cache.paths_per_write",
        unit: "paths",
        get: |m| match m.cache.invalidation {
            Invalidation::OnWrite { paths_per_write } => f64::from(paths_per_write),
            _ => 0.0,
        },
        set: |m, v| {
            m.cache.invalidation = Invalidation::OnWrite {
                paths_per_write: v as u32,
            }
        },
        min: 0.0,
        max: 1e6,
        integer: true,
    },
];

pub(crate) fn numeric_inputs() -> &'static [NumericInput] {
    INPUTS
}

pub(crate) fn find(key: &str) -> Option<&'static NumericInput> {
    INPUTS.iter().find(|i| i.key == key)
}
