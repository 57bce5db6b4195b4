//! Package shares of a handler import over several rounds, and how far two tables of
//! shares are apart: how coldfront's attribution is checked against an independent
//! measurement (a direct `python -X importtime` run of the same handler), by the real-app
//! test and by `cargo xtask bench`.
//!
//! Shares rather than milliseconds are compared because the two sides run in different
//! processes: an instrumented cold start and a direct run differ in absolute time, but a
//! correct attribution gives each package the same part of the whole.
//!
//! ```
//! use std::collections::BTreeMap;
//! use init_trace::attribution::shares::{largest_gap_points, package_shares};
//!
//! let round = |flask: f64, jinja: f64| -> BTreeMap<String, f64> {
//!     [("flask.app".to_owned(), flask), ("jinja2".to_owned(), jinja)].into_iter().collect()
//! };
//! // The fastest round of each module counts: a busy machine only ever adds time.
//! let traced = package_shares(&[round(30.0, 10.0), round(40.0, 9.0)]);
//! let direct = package_shares(&[round(31.0, 10.0)]);
//! let (package, gap) = largest_gap_points(&traced, &direct, ["flask", "jinja2"]).unwrap();
//! // 30 / 39 = 76.9 % against 31 / 41 = 75.6 %: 1.3 points apart.
//! assert!(gap < 2.0, "{package} {gap}");
//! ```

use std::collections::{BTreeMap, BTreeSet};

/// Each module's own import time in one round, in ms, by dotted module name.
pub type ModuleTimes = BTreeMap<String, f64>;

/// Each top-level package's share (0–1) of the whole.
pub type Shares = BTreeMap<String, f64>;

/// Each package's share over `rounds`: the sum of its modules' fastest rounds (a busy
/// machine only ever adds time, and a package of a hundred modules rarely has one
/// undisturbed round as a whole), over that sum for every package.
pub fn package_shares(rounds: &[ModuleTimes]) -> Shares {
    let mut fastest = ModuleTimes::new();
    for round in rounds {
        for (module, ms) in round {
            let entry = fastest.entry(module.clone()).or_insert(f64::INFINITY);
            *entry = entry.min(*ms);
        }
    }
    let mut packages = Shares::new();
    for (module, ms) in fastest {
        *packages
            .entry(module.split('.').next().unwrap_or_default().to_owned())
            .or_default() += ms;
    }
    let total: f64 = packages.values().sum();
    if total > 0.0 {
        for share in packages.values_mut() {
            *share /= total;
        }
    }
    packages
}

/// The `n` packages with the largest shares, largest first.
pub fn top_packages(shares: &Shares, n: usize) -> Vec<String> {
    let mut ranked: Vec<(&String, &f64)> = shares.iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(a.1).then_with(|| a.0.cmp(b.0)));
    ranked.into_iter().take(n).map(|(k, _)| k.clone()).collect()
}

/// Two tables restricted to the packages both have, each renormalised to sum to 1, and
/// the packages only one side has.
///
/// A runtime imports part of the standard library for itself before the handler (AWS's
/// awslambdaric imports `json`, `logging` and more), which the handler then finds loaded:
/// there that cost is the runtime's start, so such packages are missing from one table
/// and the rest is compared on what both measured.
pub fn on_common_packages(a: &Shares, b: &Shares) -> (Shares, Shares, Vec<String>) {
    let only_one: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| !(a.contains_key(*k) && b.contains_key(*k)))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let common: BTreeSet<&String> = a.keys().filter(|k| b.contains_key(*k)).collect();
    let renormalised = |side: &Shares| {
        let total: f64 = common.iter().map(|k| side[*k]).sum();
        common
            .iter()
            .map(|k| ((*k).clone(), if total > 0.0 { side[*k] / total } else { 0.0 }))
            .collect::<Shares>()
    };
    (renormalised(a), renormalised(b), only_one)
}

/// The package among `packages` whose shares differ most, and by how much, in
/// percentage points (a package missing from a side counts as 0 there). `None` when
/// `packages` is empty.
pub fn largest_gap_points<'a>(
    a: &Shares,
    b: &Shares,
    packages: impl IntoIterator<Item = &'a str>,
) -> Option<(String, f64)> {
    packages
        .into_iter()
        .map(|k| {
            let gap = (a.get(k).unwrap_or(&0.0) - b.get(k).unwrap_or(&0.0)).abs() * 100.0;
            (k.to_owned(), gap)
        })
        .max_by(|x, y| x.1.total_cmp(&y.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(pairs: &[(&str, f64)]) -> ModuleTimes {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn a_package_sums_its_modules_fastest_rounds() {
        let shares = package_shares(&[
            times(&[("a.x", 3.0), ("a.y", 1.0), ("b", 4.0)]),
            times(&[("a.x", 1.0), ("a.y", 5.0), ("b", 6.0)]),
        ]);
        // a: 1 + 1, b: 4.
        assert!((shares["a"] - 2.0 / 6.0).abs() < 1e-12, "{shares:?}");
        assert!((shares["b"] - 4.0 / 6.0).abs() < 1e-12, "{shares:?}");
    }

    #[test]
    fn no_time_gives_zero_shares_not_nan() {
        let shares = package_shares(&[times(&[("a", 0.0)])]);
        assert!(shares["a"].abs() < f64::EPSILON, "{shares:?}");
        assert!(package_shares(&[]).is_empty());
    }

    #[test]
    fn common_packages_are_renormalised_and_the_rest_named() {
        let a = times(&[("json", 0.2), ("flask", 0.4), ("jinja2", 0.4)]);
        let b = times(&[("flask", 0.5), ("jinja2", 0.5)]);
        let (a2, b2, only_one) = on_common_packages(&a, &b);
        assert_eq!(only_one, ["json"]);
        assert!((a2["flask"] - 0.5).abs() < 1e-12);
        assert!(largest_gap_points(&a2, &b2, ["flask", "jinja2"]).unwrap().1 < 1e-9);
    }

    #[test]
    fn the_largest_gap_is_in_points_and_counts_a_missing_package_as_zero() {
        let a = times(&[("flask", 0.30), ("sqlalchemy", 0.70)]);
        let b = times(&[("flask", 0.25)]);
        let (package, gap) = largest_gap_points(&a, &b, ["flask", "sqlalchemy"]).unwrap();
        assert_eq!(package, "sqlalchemy");
        assert!((gap - 70.0).abs() < 1e-9);
        assert!(largest_gap_points(&a, &b, []).is_none());
        assert_eq!(top_packages(&a, 1), ["sqlalchemy"]);
    }
}
