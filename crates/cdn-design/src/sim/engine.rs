//! The cache engine: per-edge caches, an optional regional tier, TTL with expiry fixed at
//! fetch, stale-while-revalidate, invalidation on write after a propagation delay, and
//! optional LRU or FIFO capacity.
//!
//! The source is read in batches, and each read is routed to its edge location (a seeded
//! draw, so the routing is the same for any number of threads). Workers own disjoint
//! groups of caches (an edge location, or the edge locations behind one regional cache
//! with it), balanced by edge locations; each runs its own caches' reads and every write
//! (applied to its own caches), and their counts are added at the end. Reading is not
//! one thread's job: a worker with nothing queued reads and routes the next batch for
//! all, so the serial part of the run is shared by whichever threads have time for it.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde::Serialize;

use crate::analytic::{Strategy, policy_of};
use crate::error::SimError;
use crate::model::Model;
use crate::rng::Rng;

use super::index::SlotIndex;
use super::{Request, RequestKind, RequestSource, ns_to_s, s_to_ns};

/// Requests between progress reports and cancellation checks.
const CHECK_EVERY: u64 = 1 << 16;
/// Requests per batch handed from the reader to the workers (divides `CHECK_EVERY`).
const BATCH: usize = 1 << 12;
/// Batches queued per worker thread at most: enough to keep a worker busy while another
/// reads, few enough that memory does not grow with the trace.
const IN_FLIGHT: usize = 4;

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

/// Cache size limit; an object is evicted beyond it (see [`Eviction`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capacity {
    /// At most this many objects per cache.
    Objects(u64),
    /// At most this many bytes per cache. An object larger than this is never admitted.
    Bytes(u64),
}

/// Which object a full cache evicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Eviction {
    /// The least recently used (a hit moves an object to the front).
    #[default]
    Lru,
    /// The one fetched longest ago (a hit changes nothing), as libCacheSim's FIFO.
    Fifo,
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimConfig {
    /// TTL set at fetch; `None` = never expires (with a capacity: plain LRU or FIFO).
    pub ttl_s: Option<f64>,
    /// `stale-while-revalidate` window after expiry; 0 = off.
    pub swr_s: f64,
    /// Whether a write removes the object from every cache.
    pub invalidate_on_write: bool,
    /// Time from a write until its invalidation takes effect at every cache (edges and
    /// regional); until then cached copies are served stale. 0 = at once.
    pub invalidation_delay_s: f64,
    /// Per-cache capacity; `None` = unlimited.
    pub capacity: Option<Capacity>,
    /// What a full cache evicts.
    pub eviction: Eviction,
    /// Edge locations; each request goes to one chosen uniformly (seeded).
    pub edges: u16,
    /// Regional caches behind the edges (edge `e` uses regional `e mod R`); 0 = none.
    pub regional_caches: u16,
    /// Seed for the edge assignment.
    pub seed: u64,
    /// Threads for independent caches (edge locations, or groups sharing a regional
    /// cache); 0 = one per core. The figures do not depend on it.
    pub threads: usize,
}

impl SimConfig {
    /// A single TTL cache.
    pub fn ttl(ttl_s: f64) -> Self {
        Self {
            ttl_s: Some(ttl_s),
            swr_s: 0.0,
            invalidate_on_write: false,
            invalidation_delay_s: 0.0,
            capacity: None,
            eviction: Eviction::Lru,
            edges: 1,
            regional_caches: 0,
            seed: 1,
            threads: 0,
        }
    }

    /// The model's page behaviour, from the same page policy the analytic evaluation uses
    /// (`analytic::policy_of`): TTL, SWR, whether writes remove copies and how long that
    /// takes to reach the edges, edges and regional tier.
    pub fn from_model(model: &Model) -> Self {
        let policy = policy_of(model, Strategy::Cached(model.cache.invalidation));
        Self {
            ttl_s: Some(policy.ttl_s),
            swr_s: policy.swr_s,
            invalidate_on_write: policy.drop_on_write,
            invalidation_delay_s: if policy.drop_on_write {
                policy.propagation_s
            } else {
                0.0
            },
            capacity: None,
            eviction: Eviction::Lru,
            edges: model.workload.edge_locations.min(u32::from(u16::MAX)) as u16,
            regional_caches: model.workload.regional_caches.min(u32::from(u16::MAX)) as u16,
            seed: 1,
            threads: 0,
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
    /// Bytes read by viewers.
    pub bytes_read: u64,
    /// Bytes of reads that waited for the origin.
    pub bytes_missed: u64,
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
/// `stale_since_ns` of a copy no write has overtaken.
const FRESH: u64 = u64::MAX;

/// Times in nanoseconds, derived once from the configuration.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// `u64::MAX` = never expires.
    ttl_ns: u64,
    swr_ns: u64,
    invalidate: bool,
    delay_ns: u64,
}

impl Plan {
    fn of(config: &SimConfig) -> Self {
        Self {
            ttl_ns: config.ttl_s.map_or(u64::MAX, s_to_ns),
            swr_ns: s_to_ns(config.swr_s),
            invalidate: config.invalidate_on_write,
            delay_ns: if config.invalidate_on_write {
                s_to_ns(config.invalidation_delay_s)
            } else {
                0
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    key: u64,
    expires_ns: u64,
    /// When the cached content became stale (the first write after it was fetched).
    stale_since_ns: u64,
    size: u32,
    prev: u32,
    next: u32,
}

/// What a cache holds for a read; the copies' `stale_since_ns` and slots.
enum Lookup {
    Fresh(u64),
    Revalidate(u64, u32),
    /// Not cached (`NONE`), or cached and expired in this slot.
    Miss(u32),
}

struct Cache {
    index: SlotIndex,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Front of the eviction order (most recently used or fetched); only kept with a capacity.
    head: u32,
    tail: u32,
    bytes: u64,
    capacity: Option<Capacity>,
    /// Whether a hit moves the object to the front (LRU).
    touch_on_hit: bool,
    evictions: u64,
}

impl Cache {
    fn new(capacity: Option<Capacity>, eviction: Eviction) -> Self {
        Self {
            index: SlotIndex::new(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NONE,
            tail: NONE,
            bytes: 0,
            capacity,
            touch_on_hit: capacity.is_some() && eviction == Eviction::Lru,
            evictions: 0,
        }
    }

    #[inline]
    fn unlink(&mut self, slot: u32) {
        let Slot { prev, next, .. } = self.slots[slot as usize];
        if prev == NONE {
            self.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NONE {
            self.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
    }

    #[inline]
    fn push_front(&mut self, slot: u32) {
        let head = self.head;
        let s = &mut self.slots[slot as usize];
        s.prev = NONE;
        s.next = head;
        if head != NONE {
            self.slots[head as usize].prev = slot;
        }
        self.head = slot;
        if self.tail == NONE {
            self.tail = slot;
        }
    }

    #[inline]
    fn move_to_front(&mut self, slot: u32) {
        if self.head != slot {
            self.unlink(slot);
            self.push_front(slot);
        }
    }

    #[inline]
    fn lookup(&mut self, key: u64, now_ns: u64, swr_ns: u64) -> Lookup {
        let Some(slot) = self.index.get(key) else {
            return Lookup::Miss(NONE);
        };
        let entry = self.slots[slot as usize];
        if now_ns < entry.expires_ns {
            if self.touch_on_hit {
                self.move_to_front(slot);
            }
            Lookup::Fresh(entry.stale_since_ns)
        } else if now_ns < entry.expires_ns.saturating_add(swr_ns) {
            if self.touch_on_hit {
                self.move_to_front(slot);
            }
            Lookup::Revalidate(entry.stale_since_ns, slot)
        } else {
            Lookup::Miss(slot)
        }
    }

    /// Whether the eviction order is over the capacity with `extra_bytes` more and
    /// `extra_objects` more objects.
    #[inline]
    fn over(&self, extra_objects: u64, extra_bytes: u64) -> bool {
        match self.capacity {
            None => false,
            Some(Capacity::Objects(n)) => self.index.len() as u64 + extra_objects > n,
            Some(Capacity::Bytes(n)) => self.bytes + extra_bytes > n,
        }
    }

    fn evict_tail(&mut self) {
        let victim = self.slots[self.tail as usize].key;
        self.remove(victim);
        self.evictions += 1;
    }

    /// Stores a fetched copy; its expiry is fixed now and not moved by later hits. An
    /// object larger than a byte capacity is not admitted at all (as libCacheSim does):
    /// inserting it would only evict everything, itself included. A cached older copy of
    /// it is dropped, since the origin has just served a newer one. Room is made before
    /// a new object goes in, as libCacheSim does. `cached` is the object's slot from the
    /// lookup just made, or `NONE`.
    #[inline]
    fn store(&mut self, cached: u32, key: u64, expires_ns: u64, stale_since_ns: u64, size: u32) {
        if matches!(self.capacity, Some(Capacity::Bytes(n)) if u64::from(size) > n) {
            self.remove(key);
            return;
        }
        if cached != NONE {
            let slot = cached;
            let s = &mut self.slots[slot as usize];
            let old = u64::from(s.size);
            s.expires_ns = expires_ns;
            s.stale_since_ns = stale_since_ns;
            s.size = size;
            self.bytes = self.bytes - old + u64::from(size);
            if self.capacity.is_some() {
                // A refetched copy is a new arrival for FIFO too.
                self.move_to_front(slot);
                while self.over(0, 0) && self.tail != slot {
                    self.evict_tail();
                }
            }
            return;
        }
        while self.over(1, u64::from(size)) && self.tail != NONE {
            self.evict_tail();
        }
        let entry = Slot {
            key,
            expires_ns,
            stale_since_ns,
            size,
            prev: NONE,
            next: NONE,
        };
        let slot = if let Some(slot) = self.free.pop() {
            self.slots[slot as usize] = entry;
            slot
        } else {
            self.slots.push(entry);
            (self.slots.len() - 1) as u32
        };
        self.index.insert(key, slot);
        self.bytes += u64::from(size);
        if self.capacity.is_some() {
            self.push_front(slot);
        }
    }

    fn remove(&mut self, key: u64) {
        if let Some(slot) = self.index.remove(key) {
            if self.capacity.is_some() {
                self.unlink(slot);
            }
            self.bytes -= u64::from(self.slots[slot as usize].size);
            self.free.push(slot);
        }
    }

    fn mark_stale(&mut self, key: u64, now_ns: u64) {
        if let Some(slot) = self.index.get(key) {
            let s = &mut self.slots[slot as usize];
            if s.stale_since_ns == FRESH {
                s.stale_since_ns = now_ns;
            }
        }
    }
}

/// Staleness histogram: buckets of 1/8 octave from 1 ms.
#[derive(Default)]
struct Staleness {
    counts: Vec<u64>,
    max_s: f64,
}

impl Staleness {
    fn record(&mut self, age_ns: u64) {
        let age_s = ns_to_s(age_ns);
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

    fn merge(&mut self, other: &Self) {
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.max_s = self.max_s.max(other.max_s);
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

/// Counts of one worker (or of the whole run, once merged).
struct Tally {
    reads: u64,
    edge_hits: u64,
    regional_hits: u64,
    origin_sync_fetches: u64,
    origin_async_fetches: u64,
    stale_reads: u64,
    bytes_read: u64,
    bytes_hit: u64,
    staleness: Staleness,
    evictions: u64,
    /// Objects read (a set: every slot is 0).
    seen: SlotIndex,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            reads: 0,
            edge_hits: 0,
            regional_hits: 0,
            origin_sync_fetches: 0,
            origin_async_fetches: 0,
            stale_reads: 0,
            bytes_read: 0,
            bytes_hit: 0,
            staleness: Staleness::default(),
            evictions: 0,
            seen: SlotIndex::new(),
        }
    }
}

impl Tally {
    fn merge(&mut self, mut other: Self) {
        self.reads += other.reads;
        self.edge_hits += other.edge_hits;
        self.regional_hits += other.regional_hits;
        self.origin_sync_fetches += other.origin_sync_fetches;
        self.origin_async_fetches += other.origin_async_fetches;
        self.stale_reads += other.stale_reads;
        self.bytes_read += other.bytes_read;
        self.bytes_hit += other.bytes_hit;
        self.staleness.merge(&other.staleness);
        self.evictions += other.evictions;
        if other.seen.len() > self.seen.len() {
            std::mem::swap(&mut self.seen, &mut other.seen);
        }
        for key in other.seen.keys() {
            self.seen.insert_if_absent(key, 0);
        }
    }
}

/// A batch of requests with the edge location each read goes to.
struct Batch {
    requests: Vec<Request>,
    edges: Vec<u16>,
}

/// The caches one thread owns: whole groups (an edge location, or every edge location
/// behind one regional cache, with that regional cache).
struct Worker {
    plan: Plan,
    /// Global edge index → index into `edges`, or `NONE` when another worker owns it.
    edge_of: Vec<u32>,
    edges: Vec<Cache>,
    /// Global regional index → index into `regionals`, or `NONE`.
    regional_of: Vec<u32>,
    regionals: Vec<Cache>,
    n_regional: usize,
    /// Invalidations on their way to the caches: (when they take effect, object).
    pending: VecDeque<(u64, u64)>,
    tally: Tally,
}

struct Upstream {
    from_origin: bool,
    stale_since_ns: u64,
    /// A regional stale-while-revalidate refresh reached the origin in the background.
    regional_refresh: bool,
}

impl Worker {
    fn new(config: &SimConfig, plan: Plan, owns: impl Fn(usize) -> bool) -> Self {
        let n_edges = usize::from(config.edges);
        let n_regional = usize::from(config.regional_caches);
        let group = |edge: usize| group_of(edge, n_regional);
        let mut edge_of = vec![NONE; n_edges];
        let mut edges = Vec::new();
        for (edge, local) in edge_of.iter_mut().enumerate() {
            if owns(group(edge)) {
                *local = edges.len() as u32;
                edges.push(Cache::new(config.capacity, config.eviction));
            }
        }
        let mut regional_of = vec![NONE; n_regional];
        let mut regionals = Vec::new();
        for (regional, local) in regional_of.iter_mut().enumerate() {
            if owns(regional) {
                *local = regionals.len() as u32;
                regionals.push(Cache::new(config.capacity, config.eviction));
            }
        }
        Self {
            plan,
            edge_of,
            edges,
            regional_of,
            regionals,
            n_regional,
            pending: VecDeque::new(),
            tally: Tally::default(),
        }
    }

    /// Every request of a batch (the worker owns every cache, or skips reads of others').
    fn run(&mut self, batch: &Batch) {
        self.run_indexed(batch, batch.requests.len(), |i| i);
    }

    /// The requests of a batch at the positions in `part` (this worker's reads and every
    /// write), so the worker neither walks nor prefetches for other workers' reads.
    fn run_part(&mut self, batch: &Batch, part: &[u32]) {
        self.run_indexed(batch, part.len(), |i| part[i] as usize);
    }

    #[inline]
    fn run_indexed(&mut self, batch: &Batch, n: usize, at: impl Fn(usize) -> usize) {
        for i in 0..n {
            self.prefetch_ahead(batch, n, i, &at);
            let j = at(i);
            self.request(&batch.requests[j], batch.edges[j]);
        }
    }

    /// The cache request `j` of the batch reads, if it is a read of one of ours.
    #[inline]
    fn cache_for(&self, batch: &Batch, j: usize) -> Option<&Cache> {
        let request = batch.requests.get(j)?;
        if request.kind != RequestKind::Read {
            return None;
        }
        let local = self.edge_of[usize::from(batch.edges[j])];
        (local != NONE).then(|| &self.edges[local as usize])
    }

    /// Starts memory loads ahead of the request that needs them, so several requests'
    /// loads are in flight at once: the index bucket `3 × AHEAD` requests ahead;
    /// `2 × AHEAD` ahead (the bucket loaded by now) the cached copy, or the seen-set
    /// bucket when the object is not cached (it is about to miss); `AHEAD` ahead the
    /// copy's neighbours in the eviction order, which a hit relinks. Only hints: a
    /// request in between may change what they point at. `i` counts the `n` requests
    /// this worker runs; `at` maps it to the batch position.
    #[inline]
    fn prefetch_ahead(&self, batch: &Batch, n: usize, i: usize, at: &impl Fn(usize) -> usize) {
        const AHEAD: usize = 4;
        let ahead = |k: usize| (i + k < n).then(|| at(i + k));
        let object = |j: usize| batch.requests[j].object;
        if let Some(j) = ahead(3 * AHEAD)
            && let Some(cache) = self.cache_for(batch, j)
        {
            cache.index.prefetch(object(j));
        }
        if let Some(j) = ahead(2 * AHEAD)
            && let Some(cache) = self.cache_for(batch, j)
        {
            if let Some(slot) = cache.index.get(object(j)) {
                super::hint::prefetch(cache.slots.as_ptr().wrapping_add(slot as usize));
            } else {
                self.tally.seen.prefetch(object(j));
            }
        }
        if let Some(j) = ahead(AHEAD)
            && let Some(cache) = self.cache_for(batch, j)
            && cache.touch_on_hit
            && let Some(slot) = cache.index.get(object(j))
        {
            let s = &cache.slots[slot as usize];
            for neighbour in [s.prev, s.next] {
                if neighbour != NONE {
                    super::hint::prefetch(cache.slots.as_ptr().wrapping_add(neighbour as usize));
                }
            }
        }
    }

    #[inline]
    fn request(&mut self, request: &Request, edge: u16) {
        let now_ns = request.time_ns;
        while let Some(&(due_ns, key)) = self.pending.front() {
            if due_ns > now_ns {
                break;
            }
            self.pending.pop_front();
            for cache in self.edges.iter_mut().chain(self.regionals.iter_mut()) {
                cache.remove(key);
            }
        }
        let key = request.object;
        if request.kind == RequestKind::Write {
            let plan = self.plan;
            for cache in self.edges.iter_mut().chain(self.regionals.iter_mut()) {
                if plan.invalidate && plan.delay_ns == 0 {
                    cache.remove(key);
                } else {
                    cache.mark_stale(key, now_ns);
                }
            }
            if plan.invalidate && plan.delay_ns > 0 {
                self.pending.push_back((now_ns.saturating_add(plan.delay_ns), key));
            }
            return;
        }
        let local = self.edge_of[usize::from(edge)];
        if local == NONE {
            return;
        }
        self.read(request, usize::from(edge), local as usize);
    }

    #[inline]
    fn read(&mut self, request: &Request, edge: usize, local: usize) {
        let Plan { ttl_ns, swr_ns, .. } = self.plan;
        let now_ns = request.time_ns;
        let key = request.object;
        let t = &mut self.tally;
        t.reads += 1;
        t.bytes_read += u64::from(request.size_bytes);
        let expires_ns = now_ns.saturating_add(ttl_ns);
        // `served_stale_since` is when the content handed to the viewer went stale, if it
        // came from a cache; origin responses are fresh.
        let served_stale_since = match self.edges[local].lookup(key, now_ns, swr_ns) {
            Lookup::Fresh(since) => {
                self.tally.edge_hits += 1;
                Some(since)
            }
            Lookup::Revalidate(since, slot) => {
                self.tally.edge_hits += 1;
                // Background refresh from upstream; the viewer already has the stale copy.
                let upstream = self.fetch_upstream(edge, key, now_ns, request.size_bytes);
                if upstream.from_origin {
                    self.tally.origin_async_fetches += 1;
                }
                self.tally.origin_async_fetches += u64::from(upstream.regional_refresh);
                self.edges[local].store(slot, key, expires_ns, upstream.stale_since_ns, request.size_bytes);
                Some(since)
            }
            Lookup::Miss(slot) => {
                // Every object's first read misses, and an expired copy's object has been
                // read, so the set of objects read needs updating on other misses only.
                if slot == NONE {
                    self.tally.seen.insert_if_absent(key, 0);
                }
                let upstream = self.fetch_upstream(edge, key, now_ns, request.size_bytes);
                self.tally.origin_async_fetches += u64::from(upstream.regional_refresh);
                self.edges[local].store(slot, key, expires_ns, upstream.stale_since_ns, request.size_bytes);
                if upstream.from_origin {
                    self.tally.origin_sync_fetches += 1;
                    None
                } else {
                    self.tally.regional_hits += 1;
                    Some(upstream.stale_since_ns)
                }
            }
        };
        if let Some(since) = served_stale_since {
            self.tally.bytes_hit += u64::from(request.size_bytes);
            if since <= now_ns {
                self.tally.stale_reads += 1;
                self.tally.staleness.record(now_ns - since);
            }
        }
    }

    #[inline]
    fn fetch_upstream(&mut self, edge: usize, key: u64, now_ns: u64, size: u32) -> Upstream {
        if self.n_regional == 0 {
            return Upstream {
                from_origin: true,
                stale_since_ns: FRESH,
                regional_refresh: false,
            };
        }
        let Plan { ttl_ns, swr_ns, .. } = self.plan;
        let local = self.regional_of[edge % self.n_regional] as usize;
        let regional = &mut self.regionals[local];
        let expires_ns = now_ns.saturating_add(ttl_ns);
        match regional.lookup(key, now_ns, swr_ns) {
            Lookup::Fresh(since) => Upstream {
                from_origin: false,
                stale_since_ns: since,
                regional_refresh: false,
            },
            Lookup::Revalidate(since, slot) => {
                regional.store(slot, key, expires_ns, FRESH, size);
                Upstream {
                    from_origin: false,
                    stale_since_ns: since,
                    regional_refresh: true,
                }
            }
            Lookup::Miss(slot) => {
                regional.store(slot, key, expires_ns, FRESH, size);
                Upstream {
                    from_origin: true,
                    stale_since_ns: FRESH,
                    regional_refresh: false,
                }
            }
        }
    }

    fn finish(mut self) -> Tally {
        self.tally.evictions = self
            .edges
            .iter()
            .chain(self.regionals.iter())
            .map(|c| c.evictions)
            .sum();
        self.tally
    }
}

/// The reader side: batches from the source, routed to edge locations, with the run's
/// request count, time span, progress and cancellation.
struct Feed<'a, S: ?Sized> {
    source: &'a mut S,
    rng: Rng,
    n_edges: usize,
    requests: u64,
    writes: u64,
    first_ns: Option<u64>,
    last_ns: u64,
    cancelled: bool,
}

impl<S: RequestSource + ?Sized> Feed<'_, S> {
    /// Fills `batch` afresh; `Ok(false)` at the end of the source or on cancellation.
    fn fill(
        &mut self,
        batch: &mut Batch,
        progress: &mut dyn FnMut(f64),
        cancel: &AtomicBool,
    ) -> Result<bool, SimError> {
        batch.requests.clear();
        batch.edges.clear();
        if self.cancelled {
            return Ok(false);
        }
        self.source.next_batch(&mut batch.requests, BATCH, self.last_ns)?;
        let Some(last) = batch.requests.last() else {
            return Ok(false);
        };
        self.first_ns.get_or_insert(batch.requests[0].time_ns);
        self.last_ns = last.time_ns;
        let before = self.requests;
        self.requests += batch.requests.len() as u64;
        for request in &batch.requests {
            let edge = if request.kind == RequestKind::Write {
                self.writes += 1;
                0
            } else if self.n_edges > 1 {
                self.rng.below(self.n_edges) as u16
            } else {
                0
            };
            batch.edges.push(edge);
        }
        if before / CHECK_EVERY != self.requests / CHECK_EVERY {
            progress(self.source.fraction_done());
            if cancel.load(Ordering::Relaxed) {
                self.cancelled = true;
            }
        }
        Ok(true)
    }
}

fn validate(config: &SimConfig) -> Result<(), SimError> {
    if config.edges == 0 {
        return Err(SimError::Config("edges must be at least 1".to_owned()));
    }
    let bad = |x: f64| x.is_nan() || x < 0.0;
    if config.ttl_s.is_some_and(bad) || bad(config.swr_s) || bad(config.invalidation_delay_s) {
        return Err(SimError::Config(
            "TTL, stale-while-revalidate and invalidation delay must be ≥ 0 s".to_owned(),
        ));
    }
    if matches!(config.capacity, Some(Capacity::Objects(0) | Capacity::Bytes(0))) {
        return Err(SimError::Config("capacity must be at least 1".to_owned()));
    }
    Ok(())
}

/// Runs `source` through the caches. `progress` gets the fraction done every 65,536
/// requests; setting `cancel` stops the run there (the report says `cancelled`).
pub fn simulate<S: RequestSource + Send + ?Sized>(
    source: &mut S,
    config: &SimConfig,
    progress: &mut dyn FnMut(f64),
    cancel: &AtomicBool,
) -> Result<SimReport, SimError> {
    validate(config)?;
    let plan = Plan::of(config);
    if config.edges == 1 && config.regional_caches == 0 && config.capacity.is_none() && plan.delay_ns == 0 {
        return simulate_single(source, plan, progress, cancel);
    }
    let groups = if config.regional_caches > 0 {
        usize::from(config.regional_caches)
    } else {
        usize::from(config.edges)
    };
    let threads = match config.threads {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        n => n,
    }
    .min(groups)
    .clamp(1, 256);
    let mut feed = Feed {
        source,
        rng: Rng::new(config.seed),
        n_edges: usize::from(config.edges),
        requests: 0,
        writes: 0,
        first_ns: None,
        last_ns: 0,
        cancelled: false,
    };
    let tally = if threads == 1 {
        let mut worker = Worker::new(config, plan, |_| true);
        let mut batch = Batch {
            requests: Vec::with_capacity(BATCH),
            edges: Vec::with_capacity(BATCH),
        };
        while feed.fill(&mut batch, progress, cancel)? {
            worker.run(&batch);
        }
        worker.finish()
    } else {
        run_parallel(&mut feed, config, plan, threads, progress, cancel)?
    };
    progress(feed.source.fraction_done());
    Ok(report_of(
        feed.requests,
        feed.writes,
        tally,
        feed.first_ns,
        feed.last_ns,
        feed.cancelled,
    ))
}

/// A batch routed to the workers: the positions each worker runs (its own reads and
/// every write, which reaches all caches). Shared by the workers; the last one done with
/// it returns it to the spare buffers.
struct Routed {
    batch: Batch,
    parts: Vec<Vec<u32>>,
}

/// The reader of a parallel run: whichever worker has nothing queued takes it, reads the
/// next batch and routes it, so reading is shared by the threads as their load demands
/// instead of adding to one thread's work.
struct Reader<'f, 'a, S: ?Sized> {
    feed: &'f mut Feed<'a, S>,
    /// The source is exhausted, failed or the run was cancelled.
    done: bool,
    error: Option<SimError>,
}

/// What the workers of a parallel run share.
struct Shared<'r, 'f, 'a, S: ?Sized> {
    reader: &'r Mutex<Reader<'f, 'a, S>>,
    senders: &'r [mpsc::Sender<Arc<Routed>>],
    /// Batches sent to each worker and not yet taken; the reader sends only while every
    /// other worker has fewer than `IN_FLIGHT`, so memory does not grow with the trace.
    queued: &'r [AtomicUsize],
    spare: &'r Mutex<Vec<Routed>>,
    /// Which worker owns each edge location.
    owner_of: &'r [u8],
    /// The source's latest fraction done (`f64` bits), and whether a progress report is
    /// due: only the calling thread reports.
    fraction_bits: &'r AtomicU64,
    report_due: &'r AtomicBool,
    cancel: &'r AtomicBool,
}

/// How long a worker with nothing to do, and no room to read ahead, waits before it
/// looks again.
const IDLE_WAIT: Duration = Duration::from_micros(200);

impl<S: RequestSource + Send + ?Sized> Shared<'_, '_, '_, S> {
    /// Worker `w`'s loop: run what is queued for it; with nothing queued, read and route
    /// the next batch (unless another worker is `IN_FLIGHT` batches behind; then wait).
    fn work(&self, w: usize, rx: &mpsc::Receiver<Arc<Routed>>, worker: &mut Worker, idle: &mut dyn FnMut()) {
        loop {
            if let Ok(routed) = rx.try_recv() {
                self.run(w, worker, routed);
                idle();
                continue;
            }
            let mut reader = self.reader.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // Another worker may have read while this one waited for the lock.
            if let Ok(routed) = rx.try_recv() {
                drop(reader);
                self.run(w, worker, routed);
                idle();
                continue;
            }
            if reader.done {
                // Every batch was sent before `done` was set, under the lock: none is missed.
                return;
            }
            let full = self
                .queued
                .iter()
                .enumerate()
                .any(|(v, q)| v != w && q.load(Ordering::Acquire) >= IN_FLIGHT);
            if full {
                drop(reader);
                if let Ok(routed) = rx.recv_timeout(IDLE_WAIT) {
                    self.run(w, worker, routed);
                }
                idle();
                continue;
            }
            let mut routed = self
                .spare
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .pop()
                .unwrap_or_else(|| Routed {
                    batch: Batch {
                        requests: Vec::with_capacity(BATCH),
                        edges: Vec::with_capacity(BATCH),
                    },
                    parts: vec![Vec::with_capacity(BATCH); self.senders.len()],
                });
            let fraction_bits = self.fraction_bits;
            let report_due = self.report_due;
            let filled = reader.feed.fill(
                &mut routed.batch,
                &mut |fraction| {
                    fraction_bits.store(fraction.to_bits(), Ordering::Relaxed);
                    report_due.store(true, Ordering::Release);
                },
                self.cancel,
            );
            match filled {
                Ok(true) => {}
                Ok(false) => {
                    reader.done = true;
                    return;
                }
                Err(err) => {
                    reader.error = Some(err);
                    reader.done = true;
                    return;
                }
            }
            self.route(&mut routed);
            let routed = Arc::new(routed);
            for (v, tx) in self.senders.iter().enumerate() {
                if v != w {
                    self.queued[v].fetch_add(1, Ordering::AcqRel);
                    // A worker only goes away by panicking, which the join reports.
                    let _ = tx.send(Arc::clone(&routed));
                }
            }
            drop(reader);
            worker.run_part(&routed.batch, &routed.parts[w]);
            self.recycle(routed);
            idle();
        }
    }

    /// The positions of each worker's requests in the batch.
    fn route(&self, routed: &mut Routed) {
        for part in &mut routed.parts {
            part.clear();
        }
        for (i, (request, &edge)) in routed.batch.requests.iter().zip(&routed.batch.edges).enumerate() {
            let i = i as u32;
            if request.kind == RequestKind::Write {
                for part in &mut routed.parts {
                    part.push(i);
                }
            } else {
                routed.parts[usize::from(self.owner_of[usize::from(edge)])].push(i);
            }
        }
    }

    fn run(&self, w: usize, worker: &mut Worker, routed: Arc<Routed>) {
        self.queued[w].fetch_sub(1, Ordering::AcqRel);
        worker.run_part(&routed.batch, &routed.parts[w]);
        self.recycle(routed);
    }

    fn recycle(&self, routed: Arc<Routed>) {
        if let Some(routed) = Arc::into_inner(routed) {
            self.spare
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(routed);
        }
    }
}

/// Which thread owns each group of caches (see [`group_of`]) and so each edge location:
/// the largest groups first, each to the thread with the fewest edge locations so far.
/// Reads are routed to edge locations uniformly, so edge locations measure the work; the
/// reading itself is shared at run time (see [`Shared::work`]).
fn owners(config: &SimConfig, threads: usize) -> (Vec<u8>, Vec<u8>) {
    let n_edges = usize::from(config.edges);
    let n_regional = usize::from(config.regional_caches);
    let groups = if n_regional > 0 { n_regional } else { n_edges };
    let mut weight = vec![0u32; groups];
    for edge in 0..n_edges {
        weight[group_of(edge, n_regional)] += 1;
    }
    let mut order: Vec<usize> = (0..groups).collect();
    order.sort_by_key(|&g| std::cmp::Reverse(weight[g]));
    let mut load = vec![0u32; threads];
    let mut group_owner = vec![0u8; groups];
    for g in order {
        let t = (0..threads).min_by_key(|&t| (load[t], t)).expect("at least one thread");
        group_owner[g] = t as u8;
        load[t] += weight[g];
    }
    let edge_owner = (0..n_edges).map(|e| group_owner[group_of(e, n_regional)]).collect();
    (group_owner, edge_owner)
}

/// Worker 0 runs on the calling thread, which alone reports progress; every worker reads
/// the next batch when it has nothing queued (see [`Shared::work`]).
fn run_parallel<S: RequestSource + Send + ?Sized>(
    feed: &mut Feed<'_, S>,
    config: &SimConfig,
    plan: Plan,
    threads: usize,
    progress: &mut dyn FnMut(f64),
    cancel: &AtomicBool,
) -> Result<Tally, SimError> {
    let (group_owner, edge_owner) = owners(config, threads);
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..threads).map(|_| mpsc::channel::<Arc<Routed>>()).unzip();
    let queued: Vec<AtomicUsize> = (0..threads).map(|_| AtomicUsize::new(0)).collect();
    let reader = Mutex::new(Reader {
        feed,
        done: false,
        error: None,
    });
    let spare = Mutex::new(Vec::new());
    let fraction_bits = AtomicU64::new(0);
    let report_due = AtomicBool::new(false);
    let shared = Shared {
        reader: &reader,
        senders: &senders,
        queued: &queued,
        spare: &spare,
        owner_of: &edge_owner,
        fraction_bits: &fraction_bits,
        report_due: &report_due,
        cancel,
    };
    let tally = std::thread::scope(|scope| {
        let mut receivers = receivers.into_iter();
        let own_rx = receivers.next().expect("one receiver per thread");
        let shared = &shared;
        let group_owner = &group_owner;
        let handles: Vec<_> = receivers
            .enumerate()
            .map(|(i, rx)| {
                let w = i + 1;
                scope.spawn(move || {
                    let mut worker = Worker::new(config, plan, |group| usize::from(group_owner[group]) == w);
                    shared.work(w, &rx, &mut worker, &mut || {});
                    worker.finish()
                })
            })
            .collect();
        let mut own = Worker::new(config, plan, |group| group_owner[group] == 0);
        shared.work(0, &own_rx, &mut own, &mut || {
            if report_due.swap(false, Ordering::Acquire) {
                progress(f64::from_bits(fraction_bits.load(Ordering::Relaxed)));
            }
        });
        let mut tally = own.finish();
        for handle in handles {
            tally.merge(handle.join().expect("a simulation worker panicked"));
        }
        tally
    });
    match reader
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .error
    {
        Some(err) => Err(err),
        None => Ok(tally),
    }
}

/// The group of caches an edge location belongs to: itself, or every edge location
/// behind the same regional cache.
fn group_of(edge: usize, n_regional: usize) -> usize {
    if n_regional > 0 { edge % n_regional } else { edge }
}

fn report_of(requests: u64, writes: u64, t: Tally, first_ns: Option<u64>, last_ns: u64, cancelled: bool) -> SimReport {
    let reads = t.reads.max(1) as f64;
    SimReport {
        requests,
        reads: t.reads,
        writes,
        edge_hits: t.edge_hits,
        regional_hits: t.regional_hits,
        origin_sync_fetches: t.origin_sync_fetches,
        origin_async_fetches: t.origin_async_fetches,
        hit_ratio: if t.reads == 0 {
            0.0
        } else {
            1.0 - t.origin_sync_fetches as f64 / reads
        },
        edge_hit_ratio: t.edge_hits as f64 / reads,
        byte_hit_ratio: if t.bytes_read > 0 {
            t.bytes_hit as f64 / t.bytes_read as f64
        } else {
            0.0
        },
        bytes_read: t.bytes_read,
        bytes_missed: t.bytes_read - t.bytes_hit,
        stale_reads: t.stale_reads,
        stale_read_probability: t.stale_reads as f64 / reads,
        staleness_p50_s: t.staleness.quantile(0.5),
        staleness_p99_s: t.staleness.quantile(0.99),
        staleness_max_s: t.staleness.max_s,
        distinct_objects: t.seen.len() as u64,
        evictions: t.evictions,
        trace_span_s: first_ns.map_or(0.0, |first| ns_to_s(last_ns - first)),
        cancelled,
    }
}

/// Requests a [`Simulation`] collects before it runs them: small, since a log replay keeps
/// one simulation per behaviour and edge location, and large enough for the prefetches.
const PUSH_BATCH: usize = 256;

/// A simulation fed one request at a time, for callers that produce requests in a loop of
/// their own (a log replay routes each request to the simulation of its behaviour and
/// edge location): the same caches, routing and figures as [`simulate`] on one thread.
pub struct Simulation {
    worker: Worker,
    batch: Batch,
    rng: Rng,
    n_edges: usize,
    requests: u64,
    writes: u64,
    first_ns: Option<u64>,
    last_ns: u64,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("requests", &self.requests)
            .field("writes", &self.writes)
            .finish_non_exhaustive()
    }
}

impl Simulation {
    /// An empty simulation of `config` (its `threads` is ignored: one thread).
    pub fn new(config: &SimConfig) -> Result<Self, SimError> {
        validate(config)?;
        let plan = Plan::of(config);
        Ok(Self {
            worker: Worker::new(config, plan, |_| true),
            batch: Batch {
                requests: Vec::with_capacity(PUSH_BATCH),
                edges: Vec::with_capacity(PUSH_BATCH),
            },
            rng: Rng::new(config.seed),
            n_edges: usize::from(config.edges),
            requests: 0,
            writes: 0,
            first_ns: None,
            last_ns: 0,
        })
    }

    /// Adds the next request; one earlier than the one before is an error naming
    /// `location()`.
    pub fn push(&mut self, request: Request, location: impl FnOnce() -> String) -> Result<(), SimError> {
        if request.time_ns < self.last_ns {
            return Err(SimError::unsorted(location(), request.time_ns, self.last_ns));
        }
        self.first_ns.get_or_insert(request.time_ns);
        self.last_ns = request.time_ns;
        self.requests += 1;
        // The same draws as `Feed::fill`, so the routing matches `simulate`'s.
        let edge = if request.kind == RequestKind::Write {
            self.writes += 1;
            0
        } else if self.n_edges > 1 {
            self.rng.below(self.n_edges) as u16
        } else {
            0
        };
        self.batch.requests.push(request);
        self.batch.edges.push(edge);
        if self.batch.requests.len() == PUSH_BATCH {
            self.flush();
        }
        Ok(())
    }

    fn flush(&mut self) {
        self.worker.run(&self.batch);
        self.batch.requests.clear();
        self.batch.edges.clear();
    }

    /// The figures of every request pushed.
    pub fn finish(mut self) -> SimReport {
        self.flush();
        report_of(
            self.requests,
            self.writes,
            self.worker.finish(),
            self.first_ns,
            self.last_ns,
            false,
        )
    }
}

/// A copy in the single-cache fast path (times in nanoseconds).
#[derive(Clone, Copy)]
#[allow(clippy::struct_field_names)]
struct Copy {
    expires_ns: u64,
    /// End of the stale-while-revalidate window; an invalidated copy has both at 0.
    revalidate_until_ns: u64,
    stale_since_ns: u64,
}

/// One unlimited TTL cache with instant invalidation: one hash probe per request (the
/// `entry` API), no eviction order, no slot indirection. Same semantics as the general
/// path.
fn simulate_single<S: RequestSource + ?Sized>(
    source: &mut S,
    plan: Plan,
    progress: &mut dyn FnMut(f64),
    cancel: &AtomicBool,
) -> Result<SimReport, SimError> {
    use std::collections::hash_map::Entry as Slot;
    let Plan { ttl_ns, swr_ns, .. } = plan;
    let mut cache: IdMap<Copy> = IdMap::default();
    let mut t = Tally::default();
    let mut feed = Feed {
        source,
        rng: Rng::new(0),
        n_edges: 1,
        requests: 0,
        writes: 0,
        first_ns: None,
        last_ns: 0,
        cancelled: false,
    };
    let mut batch = Batch {
        requests: Vec::with_capacity(BATCH),
        edges: Vec::with_capacity(BATCH),
    };
    while feed.fill(&mut batch, progress, cancel)? {
        for request in &batch.requests {
            let now_ns = request.time_ns;
            if request.kind == RequestKind::Write {
                if let Some(copy) = cache.get_mut(&request.object) {
                    if plan.invalidate {
                        // Kept as an expired copy so the object still counts as seen.
                        copy.expires_ns = 0;
                        copy.revalidate_until_ns = 0;
                    } else if copy.stale_since_ns == FRESH {
                        copy.stale_since_ns = now_ns;
                    }
                }
                continue;
            }
            t.reads += 1;
            t.bytes_read += u64::from(request.size_bytes);
            let expires_ns = now_ns.saturating_add(ttl_ns);
            let fresh = Copy {
                expires_ns,
                revalidate_until_ns: expires_ns.saturating_add(swr_ns),
                stale_since_ns: FRESH,
            };
            let served_since = match cache.entry(request.object) {
                Slot::Vacant(slot) => {
                    slot.insert(fresh);
                    t.origin_sync_fetches += 1;
                    None
                }
                Slot::Occupied(mut slot) => {
                    let copy = slot.get_mut();
                    let since = copy.stale_since_ns;
                    if now_ns < copy.expires_ns {
                        t.edge_hits += 1;
                        Some(since)
                    } else if now_ns < copy.revalidate_until_ns {
                        t.edge_hits += 1;
                        t.origin_async_fetches += 1;
                        *copy = fresh;
                        Some(since)
                    } else {
                        t.origin_sync_fetches += 1;
                        *copy = fresh;
                        None
                    }
                }
            };
            if let Some(since) = served_since {
                t.bytes_hit += u64::from(request.size_bytes);
                if since <= now_ns {
                    t.stale_reads += 1;
                    t.staleness.record(now_ns - since);
                }
            }
        }
    }
    progress(feed.source.fraction_done());
    let mut report = report_of(
        feed.requests,
        feed.writes,
        t,
        feed.first_ns,
        feed.last_ns,
        feed.cancelled,
    );
    report.distinct_objects = cache.len() as u64;
    Ok(report)
}
