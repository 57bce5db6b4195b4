//! The model: a wiki's workload, its cache design, its origin and the latency inputs.
//!
//! Every field is a plain public value so an interactive front end can change it and call
//! [`crate::evaluate`] again. Where each default comes from is not stored beside the value
//! (that would go stale as soon as a field is edited) but derived by [`Model::inputs`],
//! which compares the model with the preset it started from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::auth::AuthRow;
use crate::error::ModelError;
use crate::presets::Preset;
use crate::prices::PriceTable;
use crate::provenance::{Input, Source};

/// A complete model: workload, cache design, origin, latency samples and prices.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    /// Where the model came from: a preset name or a file.
    pub name: String,
    /// Who sends requests, how many and to what.
    pub workload: Workload,
    /// The cache behaviours and the invalidation strategy.
    pub cache: CacheDesign,
    /// The origin Lambda function behind the cache.
    pub origin: Origin,
    /// Warm and cold origin latencies.
    pub latency: LatencyInputs,
    /// The price table costs are computed with.
    pub prices: PriceTable,
    /// Edge auth figures from edge-auth's comparison; empty = built-in assumptions.
    pub auth_rows: Vec<AuthRow>,
    /// The preset the model started from; defaults and their sources come from it.
    pub base: Preset,
    /// Values set in a file, keyed by dotted name, with the `file:line` that set them.
    pub set_by: BTreeMap<String, String>,
}

/// Who reads and writes what (docs/sources.md, "Cache models" and "Wiki workloads", for
/// the shapes; the seed's E-2 for the scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Active wikis behind the distribution.
    pub wikis: u64,
    /// Zipf exponent of wiki popularity (0 = every wiki equally busy).
    pub wiki_zipf_exponent: f64,
    /// Pages per wiki.
    pub pages_per_wiki: u64,
    /// Zipf exponent of page popularity within a wiki.
    pub page_zipf_exponent: f64,
    /// Page views (HTML GETs) per wiki per day, averaged over wikis.
    pub reads_per_wiki_per_day: f64,
    /// Page writes per wiki per day, averaged over wikis. Writes are spread over pages like
    /// reads: the pages people read are the ones they edit.
    pub writes_per_wiki_per_day: f64,
    /// Relative traffic in equal slices of the day (any length; normalised to mean 1).
    pub diurnal_profile: Vec<f64>,
    /// Static asset requests that reach CloudFront per page view (after browser caching).
    pub asset_requests_per_page_view: f64,
    /// Distinct content-hashed static assets (shared by every wiki).
    pub distinct_assets: u64,
    /// Uncached API GETs per page view (search, edit forms, previews).
    pub api_requests_per_page_view: f64,
    /// MCP POSTs per page write (the writes arrive through MCP sessions).
    pub mcp_requests_per_write: f64,
    /// Compressed page HTML size.
    pub page_bytes: f64,
    /// Mean compressed static asset size.
    pub asset_bytes: f64,
    /// Mean API response size.
    pub api_bytes: f64,
    /// Mean MCP response size.
    pub mcp_bytes: f64,
    /// Share of wikis that are private (need auth at the edge).
    pub share_private: f64,
    /// Edge locations the users' traffic is spread over; each sees its share of every rate.
    pub edge_locations: u32,
    /// Regional edge caches behind the edge locations (0 = no regional tier).
    pub regional_caches: u32,
    /// Days in a billing month.
    pub days_per_month: f64,
}

/// How pages are kept fresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Invalidation {
    /// Pages expire after their TTL; nothing is invalidated.
    TtlOnly,
    /// Every write invalidates `paths_per_write` paths (the page, its history, ...).
    OnWrite {
        /// Invalidation paths per write (a wildcard counts as one).
        paths_per_write: u32,
    },
    /// Page content lives at a revisioned URL cached for the asset TTL; a CloudFront
    /// Function maps `/Page` to `/Page@rev` from a KeyValueStore the origin updates on write.
    VersionedUrls,
}

impl Invalidation {
    /// Short name used on the command line and in TOML.
    pub fn name(self) -> &'static str {
        match self {
            Self::TtlOnly => "ttl-only",
            Self::OnWrite { .. } => "on-write",
            Self::VersionedUrls => "versioned-urls",
        }
    }
}

impl fmt::Display for Invalidation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TtlOnly => f.write_str("TTL only"),
            Self::OnWrite { paths_per_write } => write!(f, "invalidate on write ({paths_per_write} path/write)"),
            Self::VersionedUrls => f.write_str("versioned URLs"),
        }
    }
}

/// How private wikis are protected at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthOption {
    /// CloudFront signed cookies, checked by CloudFront itself (no function).
    SignedCookies,
    /// A CloudFront Function verifying an HS256 JWT with `crypto.createHmac`.
    CloudfrontFunctionHs256,
    /// A CloudFront Function verifying an RS256 JWT in pure JavaScript.
    CloudfrontFunctionRs256,
    /// A Lambda@Edge viewer-request function.
    LambdaAtEdge,
}

impl AuthOption {
    /// Every option, in the order the page lists them.
    pub const ALL: [Self; 4] = [
        Self::SignedCookies,
        Self::CloudfrontFunctionHs256,
        Self::CloudfrontFunctionRs256,
        Self::LambdaAtEdge,
    ];

    /// Short name used on the command line and in TOML.
    pub fn name(self) -> &'static str {
        match self {
            Self::SignedCookies => "signed-cookies",
            Self::CloudfrontFunctionHs256 => "cloudfront-function-hs256",
            Self::CloudfrontFunctionRs256 => "cloudfront-function-rs256",
            Self::LambdaAtEdge => "lambda-at-edge",
        }
    }

    /// Parses [`AuthOption::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.name() == name)
    }
}

impl fmt::Display for AuthOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SignedCookies => "signed cookies",
            Self::CloudfrontFunctionHs256 => "CloudFront Function (HS256)",
            Self::CloudfrontFunctionRs256 => "CloudFront Function (RS256)",
            Self::LambdaAtEdge => "Lambda@Edge",
        })
    }
}

/// The cache behaviours' knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheDesign {
    /// Page HTML TTL at CloudFront (`s-maxage`).
    pub page_ttl_s: f64,
    /// `stale-while-revalidate` window on page HTML; 0 = off.
    pub stale_while_revalidate_s: f64,
    /// How writes reach the cache.
    pub invalidation: Invalidation,
    /// TTL of content-hashed static assets and of versioned page URLs.
    pub asset_ttl_s: f64,
    /// Edge auth for private wikis.
    pub auth: AuthOption,
    /// Time from a `CreateInvalidation` call until every edge has dropped the path.
    pub invalidation_propagation_s: f64,
    /// Time from a KeyValueStore update until every edge reads the new value.
    pub kvs_propagation_s: f64,
    /// Deploys per month; each one changes the static assets' content hashes.
    pub deploys_per_month: f64,
}

/// Lambda's processor architecture (it sets the GB-s price).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Architecture {
    /// x86_64.
    X86,
    /// Graviton.
    Arm64,
}

/// The origin: one Lambda function serving every wiki's HTML, API and MCP requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    /// How long an idle execution environment is kept warm. Lambda does not document it.
    pub idle_timeout_s: f64,
    /// Function memory size.
    pub memory_mb: u32,
    /// Processor architecture.
    pub architecture: Architecture,
    /// End-user latency of a response served from the edge, lowest.
    pub edge_hit_min_ms: f64,
    /// End-user latency of a response served from the edge, highest.
    pub edge_hit_max_ms: f64,
    /// Added to the function's duration on a miss: edge to origin and back.
    pub edge_to_origin_ms: f64,
    /// Added latency of a regional-tier hit over an edge hit.
    pub regional_hit_extra_ms: f64,
}

/// Origin latency samples: warm invokes and cold starts, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyInputs {
    /// Durations of warm invokes.
    pub warm_ms: Vec<f64>,
    /// Cold starts: Init Duration plus the cold invoke's duration.
    pub cold_ms: Vec<f64>,
    /// Where the samples came from (a run file, or the seed's figures).
    pub source: String,
}

impl LatencyInputs {
    /// The seed's figures: ~270 ms warm, ~3,400 ms cold (E-2 and E-1), labelled as such.
    pub fn seed_defaults() -> Self {
        Self {
            warm_ms: vec![270.0],
            cold_ms: vec![3400.0],
            source: "assumed: the seed's ~270 ms warm and ~3,400 ms cold (Tasks/Emergent E-1, E-2)".to_owned(),
        }
    }

    /// Whether the samples are measured rather than the seed's defaults.
    pub fn is_measured(&self) -> bool {
        !self.source.starts_with("assumed")
    }

    pub(crate) fn mean(values: &[f64]) -> f64 {
        if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        }
    }
}

impl Model {
    /// The named preset (`typical`, `seed`, `large`).
    pub fn preset(name: &str) -> Result<Self, ModelError> {
        Preset::from_name(name)
            .map(Preset::model)
            .ok_or_else(|| ModelError::UnknownPreset {
                name: name.to_owned(),
                known: Preset::NAMES.join(", "),
            })
    }

    /// Loads a TOML model file: `preset = "..."` picks the base, sections override it.
    pub fn from_toml_file(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.to_owned(),
            source,
        })?;
        crate::toml_file::parse(&text, &path.display().to_string())
    }

    /// Parses TOML text; `origin` names it in errors (a path, or `<string>`).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ModelError> {
        crate::toml_file::parse(text, origin)
    }

    /// Checks that every value is in range; the error names the field and what to do.
    pub fn validate(&self) -> Result<(), ModelError> {
        for input in self.inputs() {
            if let Some(problem) = crate::toml_file::range_problem(input.key, input.value) {
                return Err(ModelError::OutOfRange {
                    at: self.set_by.get(input.key).cloned().unwrap_or_else(|| self.name.clone()),
                    key: input.key.to_owned(),
                    value: input.value,
                    problem,
                });
            }
        }
        if self.latency.warm_ms.is_empty() || self.latency.cold_ms.is_empty() {
            return Err(ModelError::NoLatencySamples {
                source_name: self.latency.source.clone(),
            });
        }
        if self.workload.diurnal_profile.is_empty()
            || self.workload.diurnal_profile.iter().any(|w| w.is_nan() || *w < 0.0)
        {
            return Err(ModelError::OutOfRange {
                at: self
                    .set_by
                    .get("workload.diurnal_profile")
                    .cloned()
                    .unwrap_or_else(|| self.name.clone()),
                key: "workload.diurnal_profile".to_owned(),
                value: f64::NAN,
                problem: "needs at least one slice and no negative weight".to_owned(),
            });
        }
        Ok(())
    }

    /// Every numeric input with its value, unit and source, for the page's input table.
    pub fn inputs(&self) -> Vec<Input> {
        let base = self.base.model();
        crate::provenance::numeric_inputs()
            .iter()
            .map(|spec| {
                let value = (spec.get)(self);
                let source = if let Some(at) = self.set_by.get(spec.key) {
                    Source::Set(at.clone())
                } else if (value - (spec.get)(&base)).abs() > f64::EPSILON * value.abs().max(1.0) {
                    Source::Set("changed from the preset".to_owned())
                } else {
                    self.base.source_of(spec.key)
                };
                Input {
                    key: spec.key,
                    value,
                    unit: spec.unit,
                    source,
                }
            })
            .collect()
    }

    /// Reads per second over the whole distribution, averaged over the day.
    pub fn page_views_per_s(&self) -> f64 {
        self.workload.wikis as f64 * self.workload.reads_per_wiki_per_day / 86_400.0
    }

    /// Writes per second over the whole distribution, averaged over the day.
    pub fn writes_per_s(&self) -> f64 {
        self.workload.wikis as f64 * self.workload.writes_per_wiki_per_day / 86_400.0
    }

    /// Page objects (wikis × pages per wiki).
    pub fn pages(&self) -> u64 {
        self.workload.wikis.saturating_mul(self.workload.pages_per_wiki)
    }
}
