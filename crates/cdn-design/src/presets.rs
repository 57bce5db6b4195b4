//! The presets, and the documented source of every default in them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Architecture, AuthOption, CacheDesign, Invalidation, LatencyInputs, Model, Origin, Workload};
use crate::prices::PriceTable;
use crate::provenance::Source;

/// A starting point for a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// A modest multi-tenant wiki: 100 wikis of 200 pages, 100 reads per write.
    Typical,
    /// The seed's scale: 1,000 active wikis × 5 writes/day (Tasks/Emergent E-2).
    Seed,
    /// 100,000 wikis at the seed's per-wiki rates.
    Large,
}

impl Preset {
    /// Names accepted by [`Preset::from_name`].
    pub const NAMES: [&'static str; 3] = ["typical", "seed", "large"];

    /// Parses a preset name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "typical" => Some(Self::Typical),
            "seed" => Some(Self::Seed),
            "large" => Some(Self::Large),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Typical => "typical",
            Self::Seed => "seed",
            Self::Large => "large",
        }
    }

    /// The preset's model.
    pub fn model(self) -> Model {
        let wikis = match self {
            Self::Typical => 100,
            Self::Seed => 1_000,
            Self::Large => 100_000,
        };
        Model {
            name: format!("preset {}", self.name()),
            workload: Workload {
                wikis,
                wiki_zipf_exponent: 1.0,
                pages_per_wiki: 200,
                page_zipf_exponent: 0.8,
                reads_per_wiki_per_day: 500.0,
                writes_per_wiki_per_day: 5.0,
                diurnal_profile: vec![0.35, 0.6, 1.2, 1.5, 1.35, 1.0],
                asset_requests_per_page_view: 1.0,
                distinct_assets: 40,
                api_requests_per_page_view: 0.3,
                mcp_requests_per_write: 3.0,
                page_bytes: 20_000.0,
                asset_bytes: 50_000.0,
                api_bytes: 2_000.0,
                mcp_bytes: 4_000.0,
                share_private: 0.3,
                edge_locations: 20,
                regional_caches: 4,
                days_per_month: 30.0,
            },
            cache: CacheDesign {
                page_ttl_s: 60.0,
                stale_while_revalidate_s: 0.0,
                invalidation: Invalidation::TtlOnly,
                asset_ttl_s: 31_536_000.0,
                auth: AuthOption::CloudfrontFunctionHs256,
                invalidation_propagation_s: 60.0,
                kvs_propagation_s: 10.0,
                deploys_per_month: 8.0,
            },
            origin: Origin {
                idle_timeout_s: 600.0,
                memory_mb: 512,
                architecture: Architecture::X86,
                edge_hit_min_ms: 10.0,
                edge_hit_max_ms: 50.0,
                edge_to_origin_ms: 30.0,
                regional_hit_extra_ms: 20.0,
            },
            latency: LatencyInputs::seed_defaults(),
            prices: PriceTable::default(),
            auth_rows: Vec::new(),
            base: self,
            set_by: BTreeMap::new(),
        }
    }

    /// Where the preset's value for `key` comes from.
    pub fn source_of(self, key: &str) -> Source {
        match key {
            "workload.wikis" => match self {
                Self::Seed => Source::Seed("1,000 active wikis (E-2, invalidation cost paragraph)"),
                Self::Large => Source::Assumed("100× the seed's scale, to see what grows"),
                Self::Typical => Source::Assumed("a modest deployment, a tenth of the seed's scale"),
            },
            "workload.writes_per_wiki_per_day" => Source::Seed("5 writes/day per active wiki (E-2)"),
            "workload.reads_per_wiki_per_day" => Source::Assumed(
                "100 reads per write, inside the 2:1 to >1000:1 range of sources.md §Wiki workloads; the seed gives no read rate",
            ),
            "workload.wiki_zipf_exponent" | "workload.page_zipf_exponent" => {
                Source::Assumed("popularity is Zipf-like (sources.md §Wiki workloads); the exponent is not measured")
            }
            "workload.pages_per_wiki" => Source::Assumed("a small team wiki; the seed gives no page count"),
            "cache.page_ttl_s" => Source::Seed("short TTL of 30–60 s on page HTML (E-2)"),
            "cache.stale_while_revalidate_s" => Source::Seed("the seed's design has none"),
            "cache.paths_per_write" => Source::Seed("1 path per write (E-2; sources.md §Invalidation prices)"),
            "cache.asset_ttl_s" => Source::Seed("content-hashed static assets with a 1-year TTL (E-2)"),
            "workload.days_per_month" => Source::Reference("sources.md §Invalidation prices, worked check (30 days)"),
            "workload.edge_locations" => Source::Assumed(
                "users in a few regions reach ~20 of CloudFront's 450+ edge locations (sources.md §CloudFront edge network)",
            ),
            "workload.regional_caches" => {
                Source::Assumed("a few regional edge caches, the second tier (sources.md §CloudFront edge network)")
            }
            "origin.memory_mb" => Source::Reference("sources.md §Measured cold starts: the wiki's benchmarks, 512 MB"),
            "origin.idle_timeout_s" => {
                Source::Assumed("Lambda does not document how long idle environments live; 10 minutes")
            }
            "origin.edge_hit_min_ms" | "origin.edge_hit_max_ms" => Source::Seed("~10–50 ms served from the edge (E-2)"),
            "cache.invalidation_propagation_s" => {
                Source::Assumed("CloudFront does not promise an invalidation time; one minute")
            }
            "cache.kvs_propagation_s" => Source::Assumed("KeyValueStore updates reach edges in seconds; 10 s"),
            _ => Source::Assumed("a round figure for a wiki; change it in a model file"),
        }
    }
}
