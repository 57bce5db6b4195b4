//! A workload model from logs: the request classes of the wiki's behaviours (page HTML on
//! the default behaviour, static assets, API, MCP), each class's popularity exponent,
//! the read and write rates, and how the requests spread over edge locations, written as
//! a model file that `cdn design --config` reads.
//!
//! Zipf exponents are maximum-likelihood fits of `rank^−s` to the observed request
//! counts, ranked over the objects seen (objects never requested in the logs are not
//! known, so a short log makes the exponent look steeper). Wikis are the distinct
//! viewer `Host` headers of page reads; a write is one request with a write method
//! (POST, PUT, PATCH, DELETE). The model spreads reads evenly over `edge_locations`; the
//! fit writes the number of equal edges with the same concentration (the inverse Simpson
//! index of the shares) and lists the shares themselves as comments.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::analytic::ObjectClass;
use crate::model::{Model, Workload};

use super::LogError;
use super::keys::{BehaviorRule, Behaviors};
use super::request::{LogRequest, LogSet, Method, RequestView, Text};

/// The popularity fit of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassFit {
    /// The class.
    pub class: ObjectClass,
    /// Requests of the class.
    pub requests: u64,
    /// Distinct objects (cache keys) requested.
    pub objects: u64,
    /// Zipf exponent of the requests over the objects; `None` with fewer than two objects.
    pub zipf_exponent: Option<f64>,
    /// Mean bytes sent per request.
    pub mean_bytes: f64,
}

/// What [`fit()`] derived, with the model it makes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    /// Requests used (errors, redirects and refusals left out).
    pub requests: u64,
    /// The share of requests the logs hold, in percent (100 unless sampled).
    pub sampling_rate_pct: u8,
    /// Requests the used ones stand for, scaled up by the sampling rate; the rates
    /// (`writes_per_day`, `page_reads_per_day`, the workload's) are scaled the same way.
    pub estimated_requests: u64,
    /// Seconds covered.
    pub span_s: f64,
    /// Per class.
    pub classes: Vec<ClassFit>,
    /// Zipf exponent of the wikis' page reads.
    pub wiki_zipf_exponent: Option<f64>,
    /// Zipf exponent of page reads within a wiki (ranks pooled over wikis).
    pub page_zipf_exponent: Option<f64>,
    /// Writes per day over the whole distribution.
    pub writes_per_day: f64,
    /// Page reads per day over the whole distribution.
    pub page_reads_per_day: f64,
    /// Each edge location's share of the requests, largest first.
    pub edge_shares: Vec<(String, f64)>,
    /// The fitted workload (the base preset's values where the logs say nothing).
    pub workload: Workload,
    /// The dotted keys the logs set, with how.
    pub fitted: Vec<(String, String)>,
    /// The base preset's name.
    pub base: String,
    /// Whether real-time logs were among the inputs (they may be sampled).
    pub realtime: bool,
}

/// Which class a behaviour serves: the default behaviour is page HTML; another behaviour
/// that caches is static assets; one that does not is MCP when its pattern says `mcp`,
/// else API. coldfront's recommended `/mcp*`, `/api/*`, `/-/*` and `/assets/*` map as named.
pub fn class_of(rule: &BehaviorRule) -> ObjectClass {
    match rule.pattern() {
        "*" => ObjectClass::PageHtml,
        _ if rule.caches() => ObjectClass::StaticAsset,
        p if p.to_ascii_lowercase().contains("mcp") => ObjectClass::Mcp,
        _ => ObjectClass::Api,
    }
}

/// Maximum-likelihood Zipf exponent of request counts over ranked objects, in [0, 5]
/// (the model's range); `None` with fewer than two objects or requests.
pub fn zipf_exponent(counts: &[u64]) -> Option<f64> {
    let mut sorted: Vec<u64> = counts.iter().copied().filter(|&c| c > 0).collect();
    if sorted.len() < 2 {
        return None;
    }
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let total: f64 = sorted.iter().map(|&c| c as f64).sum();
    let weighted_log_rank: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, &c)| c as f64 * ((i + 1) as f64).ln())
        .sum();
    let log_ranks: Vec<f64> = (1..=sorted.len()).map(|r| (r as f64).ln()).collect();
    // The log-likelihood −s Σ c ln r − C ln Σ r^−s is concave in s: golden-section search.
    let log_likelihood = |s: f64| {
        let z: f64 = log_ranks.iter().map(|l| (-s * l).exp()).sum();
        -s * weighted_log_rank - total * z.ln()
    };
    let (mut lo, mut hi) = (0.0f64, 5.0f64);
    let golden = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..80 {
        let a = hi - golden * (hi - lo);
        let b = lo + golden * (hi - lo);
        if log_likelihood(a) < log_likelihood(b) {
            lo = a;
        } else {
            hi = b;
        }
    }
    Some((f64::midpoint(lo, hi) * 1000.0).round() / 1000.0)
}

/// The classes in the order [`Fitter`] counts them.
const CLASSES: [ObjectClass; 4] = [
    ObjectClass::PageHtml,
    ObjectClass::StaticAsset,
    ObjectClass::Api,
    ObjectClass::Mcp,
];

/// Derives a workload model from `logs` (read whole), classified by `behaviors`,
/// starting from `base`.
pub fn fit(logs: &LogSet, behaviors: &Behaviors, base: &Model) -> Result<Fit, LogError> {
    let mut fitter = Fitter::new(behaviors);
    for request in &logs.requests {
        fitter.push(request, &logs.view(request));
    }
    fitter.finish(logs, base)
}

/// A fit fed one request at a time (from a [`LogStream`](super::LogStream) or a
/// [`LogSet`]); memory grows with the cache keys, not with the requests.
pub struct Fitter<'b> {
    behaviors: &'b Behaviors,
    sampling_rate_pct: u8,
    per_key: Vec<HashMap<u64, u64>>,
    bytes: [u64; 4],
    requests: [u64; 4],
    wiki_reads: HashMap<Text, u64>,
    wiki_pages: HashMap<Text, HashMap<u64, u64>>,
    writes: u64,
    page_reads: u64,
    /// Indexed by edge location as the logs number them.
    edge_counts: Vec<u64>,
    hourly: [u64; 24],
    used: u64,
}

impl std::fmt::Debug for Fitter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fitter")
            .field("sampling_rate_pct", &self.sampling_rate_pct)
            .field("used", &self.used)
            .finish_non_exhaustive()
    }
}

impl<'b> Fitter<'b> {
    /// An empty fit through `behaviors`.
    pub fn new(behaviors: &'b Behaviors) -> Self {
        Self {
            behaviors,
            sampling_rate_pct: 100,
            per_key: vec![HashMap::new(); CLASSES.len()],
            bytes: [0; 4],
            requests: [0; 4],
            wiki_reads: HashMap::new(),
            wiki_pages: HashMap::new(),
            writes: 0,
            page_reads: 0,
            edge_counts: Vec::new(),
            hourly: [0; 24],
            used: 0,
        }
    }

    /// The logs are a `pct` % sample of the requests (a real-time log's sampling rate,
    /// 1–100): request counts and rates are scaled up by it; shares, exponents and sizes
    /// need no correction.
    pub fn sampled(mut self, pct: u8) -> Result<Self, LogError> {
        if !(1..=100).contains(&pct) {
            return Err(LogError::SamplingRate(pct));
        }
        self.sampling_rate_pct = pct;
        Ok(self)
    }

    /// Adds the next request (`view` gives its texts).
    pub fn push(&mut self, request: &LogRequest, view: &RequestView<'_>) {
        // Errors, redirects (the viewer asks again over HTTPS) and refusals are not demand.
        if !request.result.counts() {
            return;
        }
        self.used += 1;
        let class = self.behaviors.classify(view);
        let c = CLASSES
            .iter()
            .position(|k| *k == class_of(self.behaviors.rule(class.behavior)))
            .expect("every class is listed");
        self.requests[c] += 1;
        self.bytes[c] += request.bytes;
        *self.per_key[c].entry(class.key).or_default() += 1;
        let edge = request.edge as usize;
        if self.edge_counts.len() <= edge {
            self.edge_counts.resize(edge + 1, 0);
        }
        self.edge_counts[edge] += 1;
        if request.method.is_write() {
            self.writes += 1;
        }
        if c == 0 && matches!(request.method, Method::Get | Method::Head) {
            self.page_reads += 1;
            let host = request.host;
            *self.wiki_reads.entry(host).or_default() += 1;
            *self.wiki_pages.entry(host).or_default().entry(class.key).or_default() += 1;
            self.hourly[(request.time_ms.div_euclid(3_600_000)).rem_euclid(24) as usize] += 1;
        }
    }

    /// The fit; `logs` gives the span, the edge location names and the file kinds.
    pub fn finish(self, logs: &LogSet, base: &Model) -> Result<Fit, LogError> {
        let Self {
            sampling_rate_pct,
            per_key,
            bytes,
            requests,
            wiki_reads,
            wiki_pages,
            writes,
            page_reads,
            edge_counts,
            hourly,
            used,
            ..
        } = self;
        let classes = CLASSES;
        let span_s = logs.span_s().max(1.0);
        let days = span_s / 86_400.0;
        // A sample's counts stand for this many times as many requests.
        let scale = 100.0 / f64::from(sampling_rate_pct);
        let class_fits: Vec<ClassFit> = classes
            .iter()
            .enumerate()
            .map(|(i, &class)| ClassFit {
                class,
                requests: requests[i],
                objects: per_key[i].len() as u64,
                zipf_exponent: zipf_exponent(&per_key[i].values().copied().collect::<Vec<_>>()),
                mean_bytes: if requests[i] > 0 {
                    bytes[i] as f64 / requests[i] as f64
                } else {
                    0.0
                },
            })
            .collect();
        let wiki_zipf = zipf_exponent(&wiki_reads.values().copied().collect::<Vec<_>>());
        // Pages within a wiki: counts pooled by rank over the wikis.
        let mut by_rank: Vec<u64> = Vec::new();
        for pages in wiki_pages.values() {
            let mut counts: Vec<u64> = pages.values().copied().collect();
            counts.sort_unstable_by(|a, b| b.cmp(a));
            if by_rank.len() < counts.len() {
                by_rank.resize(counts.len(), 0);
            }
            for (rank, count) in counts.into_iter().enumerate() {
                by_rank[rank] += count;
            }
        }
        let page_zipf = zipf_exponent(&by_rank);

        let mut w = base.workload.clone();
        let mut fitted: Vec<(String, String)> = Vec::new();
        let mut set = |key: &str, how: String| fitted.push((key.to_owned(), how));
        let wikis = wiki_reads.len().max(1) as u64;
        if page_reads > 0 {
            w.wikis = wikis;
            set(
                "workload.wikis",
                "distinct viewer Host headers of page reads".to_owned(),
            );
            let distinct_pages: usize = wiki_pages.values().map(HashMap::len).sum();
            w.pages_per_wiki = (distinct_pages as u64).div_ceil(wikis).max(1);
            set(
                "workload.pages_per_wiki",
                format!("{distinct_pages} distinct pages read over {wikis} wiki(s)"),
            );
            w.reads_per_wiki_per_day = page_reads as f64 * scale / wikis as f64 / days;
            set(
                "workload.reads_per_wiki_per_day",
                format!("{page_reads} page GET/HEADs over {}", duration(span_s)),
            );
            w.writes_per_wiki_per_day = writes as f64 * scale / wikis as f64 / days;
            set(
                "workload.writes_per_wiki_per_day",
                format!("{writes} POST/PUT/PATCH/DELETE requests"),
            );
            if let Some(s) = wiki_zipf {
                w.wiki_zipf_exponent = s;
                set(
                    "workload.wiki_zipf_exponent",
                    "ML fit to page reads per wiki".to_owned(),
                );
            }
            if let Some(s) = page_zipf {
                w.page_zipf_exponent = s;
                set(
                    "workload.page_zipf_exponent",
                    "ML fit to page reads per page, ranks pooled over wikis".to_owned(),
                );
            }
            let per_view = |n: u64| n as f64 / page_reads as f64;
            w.asset_requests_per_page_view = per_view(requests[1]);
            set(
                "workload.asset_requests_per_page_view",
                format!("{} asset requests", requests[1]),
            );
            w.api_requests_per_page_view = per_view(requests[2]);
            set(
                "workload.api_requests_per_page_view",
                format!("{} API requests", requests[2]),
            );
            if requests[1] > 0 {
                w.distinct_assets = per_key[1].len() as u64;
                set("workload.distinct_assets", "distinct asset cache keys".to_owned());
            }
            if span_s >= 86_400.0 && hourly.iter().any(|&h| h > 0) {
                // Each hour of the day's rate over the time the logs cover it: a span of 28 h
                // covers four hours twice.
                let exposure = hour_exposure_s(logs);
                let rates: Vec<f64> = hourly
                    .iter()
                    .zip(exposure)
                    .map(|(&n, e)| if e > 0.0 { n as f64 / e } else { 0.0 })
                    .collect();
                let mean = rates.iter().sum::<f64>() / 24.0;
                w.diurnal_profile = rates.iter().map(|r| (r / mean * 1000.0).round() / 1000.0).collect();
                set("workload.diurnal_profile", "page reads per UTC hour, mean 1".to_owned());
            }
        }
        if writes > 0 && requests[3] > 0 {
            w.mcp_requests_per_write = requests[3] as f64 / writes as f64;
            set(
                "workload.mcp_requests_per_write",
                format!("{} MCP requests", requests[3]),
            );
        }
        for (i, key) in [
            "workload.page_bytes",
            "workload.asset_bytes",
            "workload.api_bytes",
            "workload.mcp_bytes",
        ]
        .iter()
        .enumerate()
        {
            if requests[i] > 0 && bytes[i] > 0 {
                let mean = (class_fits[i].mean_bytes).round();
                match i {
                    0 => w.page_bytes = mean,
                    1 => w.asset_bytes = mean,
                    2 => w.api_bytes = mean,
                    _ => w.mcp_bytes = mean,
                }
                set(key, "mean sc-bytes".to_owned());
            }
        }
        let total: u64 = edge_counts.iter().sum();
        let mut edge_shares: Vec<(String, f64)> = logs
            .edges
            .iter()
            .zip(&edge_counts)
            .filter(|(_, c)| **c > 0)
            .map(|(e, c)| (e.clone(), *c as f64 / total as f64))
            .collect();
        edge_shares.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let concentration: f64 = edge_shares.iter().map(|(_, s)| s * s).sum();
        if concentration > 0.0 {
            w.edge_locations = ((1.0 / concentration).round() as u32).max(1);
            set(
                "workload.edge_locations",
                format!(
                    "{} edge locations seen; equal edges with the same concentration (1/Σ share²)",
                    edge_shares.len()
                ),
            );
        }
        Ok(Fit {
            requests: used,
            sampling_rate_pct,
            estimated_requests: super::replay::scale_up(used, sampling_rate_pct),
            span_s: logs.span_s(),
            classes: class_fits,
            wiki_zipf_exponent: wiki_zipf,
            page_zipf_exponent: page_zipf,
            writes_per_day: writes as f64 * scale / days,
            page_reads_per_day: page_reads as f64 * scale / days,
            edge_shares,
            workload: w,
            fitted,
            base: base.base.name().to_owned(),
            realtime: logs.files_by_kind.1 > 0,
        })
    }
}

impl Fit {
    /// The model file: `preset = base` and a `[workload]` table of every fitted value,
    /// each with how it was derived; the per-edge shares and per-class exponents the model
    /// has no field for are comments.
    pub fn to_toml(&self, sources: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Workload fitted by `coldfront cdn fit` from {} requests over {} in {sources}.",
            self.requests,
            duration(self.span_s)
        );
        let _ = writeln!(
            out,
            "# Values the logs cannot give (cache design, origin, latency, prices, share_private, regional_caches)\n# come from the preset; set them below.\n"
        );
        if self.sampling_rate_pct < 100 {
            let _ = writeln!(
                out,
                "# The logs are a {} % sample: the {} requests stand for about {}, and the read and\n# write rates below are scaled up to match.\n",
                self.sampling_rate_pct, self.requests, self.estimated_requests
            );
        } else if self.realtime {
            let _ = writeln!(
                out,
                "# Real-time logs may be sampled: if yours were, fit again with --sampling-rate PCT,\n# which scales the read and write rates up to match.\n"
            );
        }
        let _ = writeln!(out, "preset = \"{}\"\n\n[workload]", self.base);
        let w = &self.workload;
        for (key, how) in &self.fitted {
            let name = key.trim_start_matches("workload.");
            let value = match name {
                "wikis" => w.wikis.to_string(),
                "pages_per_wiki" => w.pages_per_wiki.to_string(),
                "distinct_assets" => w.distinct_assets.to_string(),
                "edge_locations" => w.edge_locations.to_string(),
                "diurnal_profile" => format!(
                    "[{}]",
                    w.diurnal_profile
                        .iter()
                        .map(|x| float(*x))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "wiki_zipf_exponent" => float(w.wiki_zipf_exponent),
                "page_zipf_exponent" => float(w.page_zipf_exponent),
                "reads_per_wiki_per_day" => float(w.reads_per_wiki_per_day),
                "writes_per_wiki_per_day" => float(w.writes_per_wiki_per_day),
                "asset_requests_per_page_view" => float(w.asset_requests_per_page_view),
                "api_requests_per_page_view" => float(w.api_requests_per_page_view),
                "mcp_requests_per_write" => float(w.mcp_requests_per_write),
                "page_bytes" => float(w.page_bytes),
                "asset_bytes" => float(w.asset_bytes),
                "api_bytes" => float(w.api_bytes),
                "mcp_bytes" => float(w.mcp_bytes),
                _ => continue,
            };
            let _ = writeln!(out, "{name} = {value}   # {how}");
        }
        let _ = writeln!(out, "\n# Popularity per class (Zipf exponent over the objects seen):");
        for c in &self.classes {
            let _ = writeln!(
                out,
                "#   {:<14} {:>10} requests {:>8} objects  exponent {}",
                c.class.to_string(),
                c.requests,
                c.objects,
                c.zipf_exponent.map_or_else(|| "-".to_owned(), |s| format!("{s:.3}"))
            );
        }
        let _ = writeln!(out, "# Requests per edge location:");
        for (edge, share) in self.edge_shares.iter().take(50) {
            let _ = writeln!(out, "#   {edge:<12} {:>6.2} %", share * 100.0);
        }
        if self.edge_shares.len() > 50 {
            let _ = writeln!(out, "#   ... and {} more", self.edge_shares.len() - 50);
        }
        out
    }
}

/// Seconds of the logs' span that fall in each hour of the day (UTC).
fn hour_exposure_s(logs: &LogSet) -> [f64; 24] {
    let mut exposure = [0.0; 24];
    let (first, last) = (logs.first_ms, logs.last_ms);
    let mut t = first;
    while t < last {
        let next_hour = (t.div_euclid(3_600_000) + 1) * 3_600_000;
        let end = next_hour.min(last);
        exposure[t.div_euclid(3_600_000).rem_euclid(24) as usize] += (end - t) as f64 / 1000.0;
        t = end;
    }
    exposure
}

/// A span for people: seconds, minutes, hours or days.
fn duration(span_s: f64) -> String {
    if span_s < 120.0 {
        format!("{span_s:.0} s")
    } else if span_s < 7200.0 {
        format!("{:.0} min", span_s / 60.0)
    } else if span_s < 2.0 * 86_400.0 {
        format!("{:.1} h", span_s / 3600.0)
    } else {
        format!("{:.1} days", span_s / 86_400.0)
    }
}

/// A TOML float to six significant digits that stays a float (`2` is written `2.0`).
fn float(x: f64) -> String {
    let rounded = if x == 0.0 || !x.is_finite() {
        x
    } else {
        let scale = 10f64.powi(5 - x.abs().log10().floor() as i32);
        (x * scale).round() / scale
    };
    let text = format!("{rounded}");
    if text.contains(['.', 'e', 'E']) || !x.is_finite() {
        text
    } else {
        format!("{text}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_fit_recovers_the_exponent_of_expected_counts() {
        for s in [0.0, 0.6, 1.0, 1.4] {
            let counts: Vec<u64> = (1..=500)
                .map(|r| (1_000_000.0 * f64::from(r).powf(-s)).round() as u64)
                .collect();
            let fitted = zipf_exponent(&counts).unwrap();
            assert!((fitted - s).abs() < 0.01, "{s}: {fitted}");
        }
        assert_eq!(zipf_exponent(&[5]), None);
    }

    #[test]
    fn floats_stay_floats() {
        assert_eq!(float(2.0), "2.0");
        assert_eq!(float(0.25), "0.25");
        assert_eq!(float(0.214_285_714_285_714_27), "0.214286");
        assert_eq!(float(2016.0), "2016.0");
    }
}
