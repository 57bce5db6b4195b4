//! Page popularity as a histogram of per-object read shares.
//!
//! A wiki's page has read share `q_w · p_p` (Zipf over wikis times Zipf over pages). The
//! analytic formulas are smooth in the rate, so objects whose shares differ by less than
//! 1 % are evaluated once, weighted by their count: 1,000 wikis × 1,000 pages become about
//! 1,500 bins instead of a million objects, and 100,000 wikis cost little more.

/// Width of a bin in natural-log units: shares within ~1 % share a bin.
const BIN_WIDTH_LN: f64 = 0.01;

/// Objects with (nearly) the same read share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bin {
    /// How many objects.
    pub objects: f64,
    /// Read share of each (mean over the bin); shares over all bins sum to 1.
    pub share: f64,
}

/// Zipf weights `rank^-s`, normalised to sum 1, for ranks `1..=n`.
pub(crate) fn zipf_shares(n: u64, exponent: f64) -> Vec<f64> {
    let mut weights: Vec<f64> = (1..=n).map(|rank| (rank as f64).powf(-exponent)).collect();
    let total: f64 = weights.iter().sum();
    for w in &mut weights {
        *w /= total;
    }
    weights
}

/// Groups shares into log bins; returns `(bin index, objects, summed share)`.
fn bin(shares: &[f64]) -> Vec<(i64, f64, f64)> {
    let mut out: Vec<(i64, f64, f64)> = Vec::new();
    // Zipf shares are sorted in decreasing order, so equal bins are adjacent.
    for &share in shares {
        let index = (share.ln() / BIN_WIDTH_LN).floor() as i64;
        match out.last_mut() {
            Some(last) if last.0 == index => {
                last.1 += 1.0;
                last.2 += share;
            }
            _ => out.push((index, 1.0, share)),
        }
    }
    out
}

/// The page objects of a workload, binned by read share.
pub(crate) fn page_bins(wikis: u64, wiki_exponent: f64, pages: u64, page_exponent: f64) -> Vec<Bin> {
    let wiki_bins = bin(&zipf_shares(wikis, wiki_exponent));
    let page_bins = bin(&zipf_shares(pages, page_exponent));
    let (Some(w_min), Some(p_min)) = (wiki_bins.last(), page_bins.last()) else {
        return Vec::new();
    };
    let lowest = w_min.0 + p_min.0;
    let highest = wiki_bins[0].0 + page_bins[0].0;
    let mut objects = vec![0.0; (highest - lowest + 1) as usize];
    let mut shares = vec![0.0; objects.len()];
    for &(wi, wn, ws) in &wiki_bins {
        for &(pi, pn, ps) in &page_bins {
            let slot = (wi + pi - lowest) as usize;
            objects[slot] += wn * pn;
            // Summed share of all objects in the pair: (Σ q)(Σ p).
            shares[slot] += ws * ps;
        }
    }
    objects
        .into_iter()
        .zip(shares)
        .filter(|(n, _)| *n > 0.0)
        .map(|(n, s)| Bin {
            objects: n,
            share: s / n,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_keep_every_object_and_all_the_share() {
        let bins = page_bins(300, 1.0, 250, 0.8);
        let objects: f64 = bins.iter().map(|b| b.objects).sum();
        let share: f64 = bins.iter().map(|b| b.objects * b.share).sum();
        assert!((objects - 75_000.0).abs() < 1e-6);
        assert!((share - 1.0).abs() < 1e-9);
        assert!(bins.len() < 2_000, "{} bins", bins.len());
    }

    #[test]
    fn uniform_popularity_is_one_bin() {
        let bins = page_bins(10, 0.0, 10, 0.0);
        assert_eq!(bins.len(), 1);
        assert!((bins[0].share - 0.01).abs() < 1e-12);
    }
}
