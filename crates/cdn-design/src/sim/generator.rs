//! A deterministic synthetic trace from a model: Poisson reads and writes per page, Zipf
//! popularity over wikis and over pages within a wiki, and the diurnal profile.

use crate::error::TraceError;
use crate::model::Model;
use crate::popularity::zipf_shares;
use crate::rng::Rng;

use super::{Request, RequestKind, RequestSource};

/// Vose's alias table: O(1) draws from a discrete distribution.
#[derive(Debug, Clone)]
struct Alias {
    probability: Vec<f64>,
    alias: Vec<u32>,
}

impl Alias {
    fn new(weights: &[f64]) -> Self {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut probability = vec![1.0; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            probability[s] = scaled[s];
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        Self { probability, alias }
    }

    #[inline]
    fn draw(&self, rng: &mut Rng) -> u64 {
        let i = rng.below(self.probability.len());
        if rng.unit() < self.probability[i] {
            i as u64
        } else {
            u64::from(self.alias[i])
        }
    }
}

/// Page reads and writes of a model, as a seeded, reproducible request stream.
///
/// Object ids are `wiki × pages_per_wiki + page`, wikis and pages ranked by popularity
/// from 0. Reads and writes of each page are independent Poisson processes whose rates
/// follow the model; so are the slices of the diurnal profile.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: Rng,
    wikis: Alias,
    pages: Alias,
    pages_per_wiki: u64,
    /// Events per second per slice of the day (reads + writes).
    slice_rates: Vec<f64>,
    slice_s: f64,
    write_share: f64,
    size_bytes: u32,
    now_s: f64,
    produced: u64,
    total: u64,
}

impl Generator {
    /// `events` requests (reads and writes) from `model`, seeded by `seed`.
    pub fn new(model: &Model, events: u64, seed: u64) -> Self {
        let w = &model.workload;
        let reads = model.page_views_per_s();
        let writes = model.writes_per_s();
        let profile_total: f64 = w.diurnal_profile.iter().sum();
        let k = w.diurnal_profile.len().max(1) as f64;
        let slice_rates = if profile_total > 0.0 {
            w.diurnal_profile
                .iter()
                .map(|x| (reads + writes) * x * k / profile_total)
                .collect()
        } else {
            vec![reads + writes]
        };
        Self {
            rng: Rng::new(seed),
            wikis: Alias::new(&zipf_shares(w.wikis, w.wiki_zipf_exponent)),
            pages: Alias::new(&zipf_shares(w.pages_per_wiki, w.page_zipf_exponent)),
            pages_per_wiki: w.pages_per_wiki,
            slice_s: 86_400.0 / k,
            slice_rates,
            write_share: if reads + writes > 0.0 {
                writes / (reads + writes)
            } else {
                0.0
            },
            size_bytes: w.page_bytes.clamp(0.0, f64::from(u32::MAX)) as u32,
            now_s: 0.0,
            produced: 0,
            total: events,
        }
    }

    fn next_time(&mut self) -> Option<f64> {
        // Piecewise-constant rate: draw within the current slice, and if the draw crosses
        // its end restart from the boundary (exact, as the exponential is memoryless).
        for _ in 0..1_000_000 {
            let slice = ((self.now_s / self.slice_s) as usize) % self.slice_rates.len();
            let rate = self.slice_rates[slice];
            let end_s = (((self.now_s / self.slice_s).floor()) + 1.0) * self.slice_s;
            if rate > 0.0 {
                let t = self.now_s + self.rng.exponential(rate);
                if t < end_s {
                    self.now_s = t;
                    return Some(t);
                }
            }
            self.now_s = end_s;
        }
        None
    }
}

impl Iterator for Generator {
    type Item = Result<Request, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.produced >= self.total {
            return None;
        }
        let time_s = self.next_time()?;
        self.produced += 1;
        let kind = if self.rng.unit() < self.write_share {
            RequestKind::Write
        } else {
            RequestKind::Read
        };
        let object = self.wikis.draw(&mut self.rng) * self.pages_per_wiki + self.pages.draw(&mut self.rng);
        Some(Ok(Request {
            time_ns: super::s_to_ns(time_s),
            object,
            size_bytes: self.size_bytes,
            kind,
        }))
    }
}

impl RequestSource for Generator {
    fn location(&self) -> String {
        format!("synthetic request {}", self.produced)
    }

    fn fraction_done(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.produced as f64 / self.total as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_table_draws_in_proportion() {
        let alias = Alias::new(&[0.5, 0.25, 0.25]);
        let mut rng = Rng::new(3);
        let mut counts = [0u32; 3];
        for _ in 0..100_000 {
            counts[alias.draw(&mut rng) as usize] += 1;
        }
        assert!((f64::from(counts[0]) / 100_000.0 - 0.5).abs() < 0.01, "{counts:?}");
    }

    #[test]
    fn same_seed_same_trace() {
        let model = Model::preset("typical").unwrap();
        let a: Vec<_> = Generator::new(&model, 1000, 9).map(Result::unwrap).collect();
        let b: Vec<_> = Generator::new(&model, 1000, 9).map(Result::unwrap).collect();
        assert_eq!(a, b);
        assert!(a.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
    }
}
