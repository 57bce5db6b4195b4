//! The cache engine: per-edge caches, an optional regional tier, TTL with expiry fixed at
//! fetch, stale-while-revalidate, invalidation on write, and optional LRU capacity.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::error::SimError;
use crate::model::{Invalidation, Model};
use crate::rng::Rng;

use super::{RequestKind, RequestSource};

/// Requests between progress reports and cancellation checks.
const CHECK_EVERY: u64 = 1 << 16;

/// A multiplicative hash for integer keys (the Fx hash of rustc): object ids need no
/// protection against adversarial collisions, and SipHash is slower on this hot path.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;
type IdSet = HashSet<u64, BuildHasherDefault<IdHasher>>;

/// Cache size limit; the least recently used object is evicted beyond it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capacity {
    /// At most this many objects per cache.
    Objects(u64),
    /// At most this many bytes per cache.
    Bytes(u64),
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimConfig {
    /// TTL set at fetch; `None` = never expires (with a capacity: plain LRU).
    pub ttl_s: Option<f64>,
    /// `stale-while-revalidate` window after expiry; 0 = off.
    pub swr_s: f64,
    /// Whether a write removes the object from every cache (propagation taken as instant).
    pub invalidate_on_write: bool,
    /// Per-cache capacity; `None` = unlimited.
    pub capacity: Option<Capacity>,
    /// Edge locations; each request goes to one chosen uniformly (seeded).
    pub edges: u16,
    /// Regional caches behind the edges (edge `e` uses regional `e mod R`); 0 = none.
    pub regional_caches: u16,
    /// Seed for the edge assignment.
    pub seed: u64,
}

impl SimConfig {
    /// A single TTL cache.
    pub fn ttl(ttl_s: f64) -> Self {
        Self {
            ttl_s: Some(ttl_s),
            swr_s: 0.0,
            invalidate_on_write: false,
            capacity: None,
            edges: 1,
            regional_caches: 0,
            seed: 1,
        }
    }

    /// The model's page behaviour: TTL, SWR, invalidation, edges and regional tier.
    pub fn from_model(model: &Model) -> Self {
        let (ttl_s, invalidate_on_write) = match model.cache.invalidation {
            Invalidation::TtlOnly => (model.cache.page_ttl_s, false),
            Invalidation::OnWrite { .. } => (model.cache.page_ttl_s, true),
            Invalidation::VersionedUrls => (model.cache.asset_ttl_s, true),
        };
        Self {
            ttl_s: Some(ttl_s),
            swr_s: model.cache.stale_while_revalidate_s,
            invalidate_on_write,
            capacity: None,
            edges: model.workload.edge_locations.min(u32::from(u16::MAX)) as u16,
            regional_caches: model.workload.regional_caches.min(u32::from(u16::MAX)) as u16,
            seed: 1,
        }
    }
}

/// What a simulation measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimReport {
    /// Requests consumed (reads and writes).
    pub requests: u64,
    /// Reads.
    pub reads: u64,
    /// Writes.
    pub writes: u64,
    /// Reads answered at an edge (fresh, or stale while revalidating).
    pub edge_hits: u64,
    /// Reads answered by the regional tier.
    pub regional_hits: u64,
    /// Reads that waited for the origin.
    pub origin_sync_fetches: u64,
    /// Background revalidations that reached the origin.
    pub origin_async_fetches: u64,
    /// Reads answered without waiting for the origin.
    pub hit_ratio: f64,
    /// Reads answered at an edge.
    pub edge_hit_ratio: f64,
    /// Bytes answered without the origin, over bytes read.
    pub byte_hit_ratio: f64,
    /// Reads answered with content older than the object's latest write.
    pub stale_reads: u64,
    /// `stale_reads / reads`.
    pub stale_read_probability: f64,
    /// Median staleness of stale reads.
    pub staleness_p50_s: f64,
    /// 99th percentile staleness of stale reads.
    pub staleness_p99_s: f64,
    /// Worst staleness seen.
    pub staleness_max_s: f64,
    /// Distinct objects read.
    pub distinct_objects: u64,
    /// Objects evicted for capacity.
    pub evictions: u64,
    /// Trace time covered.
    pub trace_span_s: f64,
    /// Whether the run was stopped early.
    pub cancelled: bool,
}

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u64,
    expires_s: f64,
    /// When the cached content became stale (the first write after it was fetched).
    stale_since_s: f64,
    size: u32,
    prev: u32,
    next: u32,
}

enum Lookup {
    Fresh(f64),
    Revalidate(f64),
    Miss,
}

struct Cache {
    index: IdMap<u32>,
    entries: Vec<Entry>,
    free: Vec<u32>,
    /// Most recently used; only maintained with a capacity.
    head: u32,
    tail: u32,
    bytes: u64,
    capacity: Option<Capacity>,
    evictions: u64,
}

impl Cache {
    fn new(capacity: Option<Capacity>) -> Self {
        Self {
            index: IdMap::default(),
            entries: Vec::new(),
            free: Vec::new(),
            head: NONE,
            tail: NONE,
            bytes: 0,
            capacity,
            evictions: 0,
        }
    }

    fn unlink(&mut self, slot: u32) {
        let Entry { prev, next, .. } = self.entries[slot as usize];
        if prev == NONE {
            self.head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NONE {
            self.tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
    }

    fn push_front(&mut self, slot: u32) {
        let e = &mut self.entries[slot as usize];
        e.prev = NONE;
        e.next = self.head;
        if self.head != NONE {
            self.entries[self.head as usize].prev = slot;
        }
        self.head = slot;
        if self.tail == NONE {
            self.tail = slot;
        }
    }

    #[inline]
    fn lookup(&mut self, key: u64, now_s: f64, swr_s: f64) -> Lookup {
        let Some(&slot) = self.index.get(&key) else {
            return Lookup::Miss;
        };
        let entry = self.entries[slot as usize];
        if self.capacity.is_some() {
            self.unlink(slot);
            self.push_front(slot);
        }
        if now_s < entry.expires_s {
            Lookup::Fresh(entry.stale_since_s)
        } else if now_s < entry.expires_s + swr_s {
            Lookup::Revalidate(entry.stale_since_s)
        } else {
            Lookup::Miss
        }
    }

    /// Stores a fetched copy; its expiry is fixed now and not moved by later hits. An
    /// object larger than a byte capacity is not admitted at all (as libCacheSim does):
    /// inserting it would only evict everything, itself included. A cached older copy of
    /// it is dropped, since the origin has just served a newer one.
    #[inline]
    fn store(&mut self, key: u64, expires_s: f64, stale_since_s: f64, size: u32) {
        if matches!(self.capacity, Some(Capacity::Bytes(n)) if u64::from(size) > n) {
            self.remove(key);
            return;
        }
        if let Some(&slot) = self.index.get(&key) {
            let e = &mut self.entries[slot as usize];
            self.bytes = self.bytes - u64::from(e.size) + u64::from(size);
            e.expires_s = expires_s;
            e.stale_since_s = stale_since_s;
            e.size = size;
        } else {
            let entry = Entry {
                key,
                expires_s,
                stale_since_s,
                size,
                prev: NONE,
                next: NONE,
            };
            let slot = if let Some(slot) = self.free.pop() {
                self.entries[slot as usize] = entry;
                slot
            } else {
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            };
            self.index.insert(key, slot);
            self.bytes += u64::from(size);
            if self.capacity.is_some() {
                self.push_front(slot);
            }
        }
        self.evict();
    }

    fn evict(&mut self) {
        let Some(capacity) = self.capacity else { return };
        loop {
            let over = match capacity {
                Capacity::Objects(n) => self.index.len() as u64 > n,
                Capacity::Bytes(n) => self.bytes > n,
            };
            if !over || self.tail == NONE {
                return;
            }
            let victim = self.entries[self.tail as usize].key;
            self.remove(victim);
            self.evictions += 1;
        }
    }

    fn remove(&mut self, key: u64) {
        if let Some(slot) = self.index.remove(&key) {
            if self.capacity.is_some() {
                self.unlink(slot);
            }
            self.bytes -= u64::from(self.entries[slot as usize].size);
            self.free.push(slot);
        }
    }

    fn mark_stale(&mut self, key: u64, now_s: f64) {
        if let Some(&slot) = self.index.get(&key) {
            let e = &mut self.entries[slot as usize];
            if e.stale_since_s == f64::INFINITY {
                e.stale_since_s = now_s;
            }
        }
    }
}

/// Staleness histogram: buckets of 1/8 octave from 1 ms.
struct Staleness {
    counts: Vec<u64>,
    max_s: f64,
}

impl Staleness {
    fn record(&mut self, age_s: f64) {
        let bucket = if age_s <= 0.001 {
            0
        } else {
            ((age_s / 0.001).log2() * 8.0).ceil() as usize
        };
        if bucket >= self.counts.len() {
            self.counts.resize(bucket + 1, 0);
        }
        self.counts[bucket] += 1;
        self.max_s = self.max_s.max(age_s);
    }

    fn quantile(&self, q: f64) -> f64 {
        let total: u64 = self.counts.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let target = (q * total as f64).ceil() as u64;
        let mut seen = 0;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= target {
                return (0.001 * 2f64.powf(bucket as f64 / 8.0)).min(self.max_s);
            }
        }
        self.max_s
    }
}

/// Runs `source` through the caches. `progress` gets the fraction done every 65,536
/// requests; setting `cancel` stops the run there (the report says `cancelled`).
pub fn simulate<S: RequestSource + ?Sized>(
    source: &mut S,
    config: &SimConfig,
    progress: &mut dyn FnMut(f64),
    cancel: &AtomicBool,
) -> Result<SimReport, SimError> {
    if config.edges == 0 {
        return Err(SimError::Config("edges must be at least 1".to_owned()));
    }
    if config.ttl_s.is_some_and(|t| t.is_nan() || t < 0.0) || config.swr_s.is_nan() || config.swr_s < 0.0 {
        return Err(SimError::Config(
            "TTL and stale-while-revalidate must be ≥ 0 s".to_owned(),
        ));
    }
    if matches!(config.capacity, Some(Capacity::Objects(0) | Capacity::Bytes(0))) {
        return Err(SimError::Config("capacity must be at least 1".to_owned()));
    }
    if config.edges == 1 && config.regional_caches == 0 && config.capacity.is_none() {
        return simulate_single(source, config, progress, cancel);
    }
    let ttl_s = config.ttl_s.unwrap_or(f64::INFINITY);
    let swr_s = config.swr_s;
    let mut edges: Vec<Cache> = (0..config.edges).map(|_| Cache::new(config.capacity)).collect();
    let mut regionals: Vec<Cache> = (0..config.regional_caches)
        .map(|_| Cache::new(config.capacity))
        .collect();
    let mut seen: IdSet = IdSet::default();
    let mut rng = Rng::new(config.seed);
    let mut report = empty_report();
    let mut staleness = Staleness {
        counts: Vec::new(),
        max_s: 0.0,
    };
    let (mut bytes_read, mut bytes_hit) = (0u64, 0u64);
    let mut first_s = f64::NAN;
    let mut previous_s = f64::NEG_INFINITY;
    let n_edges = edges.len();
    let n_regional = regionals.len();

    while let Some(request) = source.next() {
        let request = request?;
        let now_s = request.time_s;
        if now_s < previous_s {
            return Err(SimError::Unsorted {
                at: RequestSource::location(source),
                time_s: now_s,
                previous_s,
            });
        }
        if first_s.is_nan() {
            first_s = now_s;
        }
        previous_s = now_s;
        report.requests += 1;
        if report.requests.is_multiple_of(CHECK_EVERY) {
            progress(source.fraction_done());
            if cancel.load(Ordering::Relaxed) {
                report.cancelled = true;
                break;
            }
        }
        let key = request.object;
        if request.kind == RequestKind::Write {
            report.writes += 1;
            for cache in edges.iter_mut().chain(regionals.iter_mut()) {
                if config.invalidate_on_write {
                    cache.remove(key);
                } else {
                    cache.mark_stale(key, now_s);
                }
            }
            continue;
        }
        report.reads += 1;
        seen.insert(key);
        bytes_read += u64::from(request.size_bytes);
        let edge_index = if n_edges > 1 { rng.below(n_edges) } else { 0 };
        let edge = &mut edges[edge_index];
        // `served_stale_since` is when the content handed to the viewer went stale, if it
        // came from a cache; origin responses are fresh.
        let served_stale_since = match edge.lookup(key, now_s, swr_s) {
            Lookup::Fresh(since) => {
                report.edge_hits += 1;
                Some(since)
            }
            Lookup::Revalidate(since) => {
                report.edge_hits += 1;
                // Background refresh from upstream; the viewer already has the stale copy.
                let upstream = fetch_upstream(
                    &mut regionals,
                    edge_index,
                    n_regional,
                    key,
                    now_s,
                    &request,
                    ttl_s,
                    swr_s,
                );
                if upstream.from_origin {
                    report.origin_async_fetches += 1;
                }
                report.origin_async_fetches += u64::from(upstream.regional_refresh);
                edges[edge_index].store(key, now_s + ttl_s, upstream.stale_since_s, request.size_bytes);
                Some(since)
            }
            Lookup::Miss => {
                let upstream = fetch_upstream(
                    &mut regionals,
                    edge_index,
                    n_regional,
                    key,
                    now_s,
                    &request,
                    ttl_s,
                    swr_s,
                );
                report.origin_async_fetches += u64::from(upstream.regional_refresh);
                edges[edge_index].store(key, now_s + ttl_s, upstream.stale_since_s, request.size_bytes);
                if upstream.from_origin {
                    report.origin_sync_fetches += 1;
                    None
                } else {
                    report.regional_hits += 1;
                    Some(upstream.stale_since_s)
                }
            }
        };
        if let Some(since) = served_stale_since {
            bytes_hit += u64::from(request.size_bytes);
            if since <= now_s {
                report.stale_reads += 1;
                staleness.record(now_s - since);
            }
        }
    }
    progress(source.fraction_done());

    finish(&mut report, &staleness, bytes_read, bytes_hit, first_s, previous_s);
    report.distinct_objects = seen.len() as u64;
    report.evictions = edges.iter().chain(regionals.iter()).map(|c| c.evictions).sum();
    Ok(report)
}

fn empty_report() -> SimReport {
    SimReport {
        requests: 0,
        reads: 0,
        writes: 0,
        edge_hits: 0,
        regional_hits: 0,
        origin_sync_fetches: 0,
        origin_async_fetches: 0,
        hit_ratio: 0.0,
        edge_hit_ratio: 0.0,
        byte_hit_ratio: 0.0,
        stale_reads: 0,
        stale_read_probability: 0.0,
        staleness_p50_s: 0.0,
        staleness_p99_s: 0.0,
        staleness_max_s: 0.0,
        distinct_objects: 0,
        evictions: 0,
        trace_span_s: 0.0,
        cancelled: false,
    }
}

/// A copy in the single-cache fast path.
#[derive(Clone, Copy)]
struct Copy {
    expires_s: f64,
    stale_since_s: f64,
}

/// One unlimited TTL cache: one hash probe per request (the `entry` API), no LRU list,
/// no slot indirection. Same semantics as the general path.
fn simulate_single<S: RequestSource + ?Sized>(
    source: &mut S,
    config: &SimConfig,
    progress: &mut dyn FnMut(f64),
    cancel: &AtomicBool,
) -> Result<SimReport, SimError> {
    use std::collections::hash_map::Entry as Slot;
    let ttl_s = config.ttl_s.unwrap_or(f64::INFINITY);
    let swr_s = config.swr_s;
    let mut cache: IdMap<Copy> = IdMap::default();
    let mut report = empty_report();
    let mut staleness = Staleness {
        counts: Vec::new(),
        max_s: 0.0,
    };
    let (mut bytes_read, mut bytes_hit) = (0u64, 0u64);
    let mut first_s = f64::NAN;
    let mut previous_s = f64::NEG_INFINITY;
    while let Some(request) = source.next() {
        let request = request?;
        let now_s = request.time_s;
        if now_s < previous_s {
            return Err(SimError::Unsorted {
                at: RequestSource::location(source),
                time_s: now_s,
                previous_s,
            });
        }
        if first_s.is_nan() {
            first_s = now_s;
        }
        previous_s = now_s;
        report.requests += 1;
        if report.requests.is_multiple_of(CHECK_EVERY) {
            progress(source.fraction_done());
            if cancel.load(Ordering::Relaxed) {
                report.cancelled = true;
                break;
            }
        }
        if request.kind == RequestKind::Write {
            report.writes += 1;
            if let Some(copy) = cache.get_mut(&request.object) {
                if config.invalidate_on_write {
                    // Kept as an expired copy so the object still counts as seen.
                    copy.expires_s = f64::NEG_INFINITY;
                } else if copy.stale_since_s == f64::INFINITY {
                    copy.stale_since_s = now_s;
                }
            }
            continue;
        }
        report.reads += 1;
        bytes_read += u64::from(request.size_bytes);
        let fresh = Copy {
            expires_s: now_s + ttl_s,
            stale_since_s: f64::INFINITY,
        };
        let served_since = match cache.entry(request.object) {
            Slot::Vacant(slot) => {
                slot.insert(fresh);
                report.origin_sync_fetches += 1;
                None
            }
            Slot::Occupied(mut slot) => {
                let copy = slot.get_mut();
                let since = copy.stale_since_s;
                if now_s < copy.expires_s {
                    report.edge_hits += 1;
                    Some(since)
                } else if now_s < copy.expires_s + swr_s {
                    report.edge_hits += 1;
                    report.origin_async_fetches += 1;
                    *copy = fresh;
                    Some(since)
                } else {
                    report.origin_sync_fetches += 1;
                    *copy = fresh;
                    None
                }
            }
        };
        if let Some(since) = served_since {
            bytes_hit += u64::from(request.size_bytes);
            if since <= now_s {
                report.stale_reads += 1;
                staleness.record(now_s - since);
            }
        }
    }
    progress(source.fraction_done());
    report.distinct_objects = cache.len() as u64;
    finish(&mut report, &staleness, bytes_read, bytes_hit, first_s, previous_s);
    Ok(report)
}

fn finish(report: &mut SimReport, staleness: &Staleness, bytes_read: u64, bytes_hit: u64, first_s: f64, last_s: f64) {
    let reads = report.reads.max(1) as f64;
    report.hit_ratio = if report.reads == 0 {
        0.0
    } else {
        1.0 - report.origin_sync_fetches as f64 / reads
    };
    report.edge_hit_ratio = report.edge_hits as f64 / reads;
    report.byte_hit_ratio = if bytes_read > 0 {
        bytes_hit as f64 / bytes_read as f64
    } else {
        0.0
    };
    report.stale_read_probability = report.stale_reads as f64 / reads;
    report.staleness_p50_s = staleness.quantile(0.5);
    report.staleness_p99_s = staleness.quantile(0.99);
    report.staleness_max_s = staleness.max_s;
    report.trace_span_s = if first_s.is_nan() { 0.0 } else { last_s - first_s };
}

struct Upstream {
    from_origin: bool,
    stale_since_s: f64,
    /// A regional stale-while-revalidate refresh reached the origin in the background.
    regional_refresh: bool,
}

#[allow(clippy::too_many_arguments)]
#[inline]
fn fetch_upstream(
    regionals: &mut [Cache],
    edge_index: usize,
    n_regional: usize,
    key: u64,
    now_s: f64,
    request: &super::Request,
    ttl_s: f64,
    swr_s: f64,
) -> Upstream {
    const FRESH: f64 = f64::INFINITY;
    if n_regional == 0 {
        return Upstream {
            from_origin: true,
            stale_since_s: FRESH,
            regional_refresh: false,
        };
    }
    let regional = &mut regionals[edge_index % n_regional];
    match regional.lookup(key, now_s, swr_s) {
        Lookup::Fresh(since) => Upstream {
            from_origin: false,
            stale_since_s: since,
            regional_refresh: false,
        },
        Lookup::Revalidate(since) => {
            regional.store(key, now_s + ttl_s, FRESH, request.size_bytes);
            Upstream {
                from_origin: false,
                stale_since_s: since,
                regional_refresh: true,
            }
        }
        Lookup::Miss => {
            regional.store(key, now_s + ttl_s, FRESH, request.size_bytes);
            Upstream {
                from_origin: true,
                stale_since_s: FRESH,
                regional_refresh: false,
            }
        }
    }
}
