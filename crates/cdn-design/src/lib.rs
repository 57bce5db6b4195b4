//! Cache design for a wiki behind CloudFront: per-path cache behaviours, hit ratio,
//! staleness, end-user latency and monthly cost, evaluated analytically and checked by a
//! trace-driven TTL cache simulator.
//!
//! The key decision: **model CloudFront's TTL semantics, not a capacity cache.** A copy's
//! expiry is fixed when it is fetched and a hit does not extend it, every edge location
//! sees only its share of the reads, and writes make copies stale or invalidate them. The
//! hit ratio is then `λT/(1+λT)` per object and edge (docs/sources.md, "Cache models"),
//! cheap enough to evaluate over a popularity histogram on every key press ([`evaluate`]);
//! the simulator ([`sim`]) runs the same rules request by request to check the formulas
//! and to replay real traces, and CloudFront's own logs ([`logs`]) say how far both are
//! from what CloudFront did. Caching lowers the origin's request rate, which makes cold
//! starts more likely, so the end-user latency comes from a model of the origin's Lambda
//! pool fed with warm and cold latencies (measured by init-trace, or the seed's figures,
//! labelled).
//!
//! Every input carries its provenance ([`Model::inputs`]): a docs/sources.md section, the
//! seed's own figures, a measurement, a file line, or an assumption said out loud.
//!
//! ```
//! use cdn_design::{Invalidation, Model, Strategy, design_page, evaluate};
//!
//! let mut model = Model::preset("seed")?;
//! model.cache.page_ttl_s = 60.0;
//! let evaluation = evaluate(&model);
//! // At the seed's traffic most pages are read less than once a minute per edge
//! // location, so a 60 s TTL alone caches little; pages kept until they change do better.
//! assert!(evaluation.chosen.page_hit_ratio < 0.2);
//! let versioned = evaluation
//!     .strategies
//!     .iter()
//!     .find(|s| s.strategy == Strategy::Cached(Invalidation::VersionedUrls))
//!     .unwrap();
//! assert!(versioned.page_hit_ratio > 0.8);
//!
//! // The seed's inputs give $745/month of invalidations, not ~$220 (docs/sources.md, "Invalidation prices").
//! model.cache.invalidation = Invalidation::OnWrite { paths_per_write: 1 };
//! let evaluation = evaluate(&model);
//! let line = evaluation.chosen.cost.lines.iter().find(|l| l.item == "Invalidation paths").unwrap();
//! assert_eq!((line.usd_per_month * 100.0).round(), 74_500.0);
//!
//! let page = design_page(&model, &evaluation, None);
//! assert!(page.markdown.contains("# CDN Caching"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod analytic;
pub mod auth;
pub mod charts;
pub mod cloudfront;
pub mod cost;
mod error;
pub mod logs;
pub mod model;
pub mod origin;
mod page;
mod popularity;
pub mod presets;
pub mod prices;
pub mod provenance;
mod rng;
pub mod sim;
mod toml_file;

pub use analytic::{
    ClassResult, Evaluation, ObjectClass, Strategy, StrategyResult, chosen_at_ttls, evaluate, sweep_ttl,
};
pub use auth::AuthRow;
pub use cloudfront::{Recommendation, recommend};
pub use cost::{CostBreakdown, CostLine, FlatRateQuote};
pub use error::{ModelError, SimError, TraceError};
pub use model::{Architecture, AuthOption, CacheDesign, Invalidation, LatencyInputs, Model, Origin, Workload};
pub use origin::LatencySummary;
pub use page::{CONFIG_FILE, DesignPage, PAGE_FILE, design_page, thousands, usd};
pub use presets::Preset;
pub use prices::PriceTable;
pub use provenance::{Input, Source};
