//! Property tests: the hit ratio never falls as the TTL or the read rate grows.

use cdn_design::analytic::{PagePolicy, object};
use proptest::prelude::*;

fn policy(ttl_s: f64, swr_s: f64, drop_on_write: bool) -> PagePolicy {
    PagePolicy {
        ttl_s,
        swr_s,
        drop_on_write,
        propagation_s: 30.0,
    }
}

proptest! {
    #[test]
    fn hit_ratio_is_monotone_in_ttl(
        lambda in 1e-6f64..100.0,
        mu in 0.0f64..1.0,
        t in 0.0f64..86_400.0,
        dt in 0.0f64..86_400.0,
        swr in 0.0f64..600.0,
        drop in any::<bool>(),
        edges in 1u32..50,
    ) {
        let regional = 0;
        let short = object(lambda, mu, &policy(t, swr, drop), edges, regional).hit_ratio();
        let long = object(lambda, mu, &policy(t + dt, swr, drop), edges, regional).hit_ratio();
        prop_assert!(long >= short - 1e-12, "T={t}: {short} > T={}: {long}", t + dt);
    }

    #[test]
    fn hit_ratio_with_a_regional_tier_is_monotone_in_ttl(
        lambda in 1e-6f64..100.0,
        mu in 0.0f64..1.0,
        t in 1.0f64..86_400.0,
        dt in 0.0f64..86_400.0,
        swr in 0.0f64..600.0,
        drop in any::<bool>(),
        edges in 1u32..50,
        regional in 1u32..5,
    ) {
        // From 1 s up: at T = 0 with stale-while-revalidate every read refreshes the edge
        // in the background, and the regional approximation (each edge's fetches taken as
        // Poisson) overstates how many of those the regional tier absorbs.
        let short = object(lambda, mu, &policy(t, swr, drop), edges, regional).hit_ratio();
        let long = object(lambda, mu, &policy(t + dt, swr, drop), edges, regional).hit_ratio();
        prop_assert!(long >= short - 1e-12, "T={t}: {short} > T={}: {long}", t + dt);
    }

    #[test]
    fn hit_ratio_is_monotone_in_read_rate(
        lambda in 1e-6f64..100.0,
        factor in 1.0f64..100.0,
        mu in 0.0f64..1.0,
        t in 0.0f64..86_400.0,
        swr in 0.0f64..600.0,
        drop in any::<bool>(),
        edges in 1u32..50,
    ) {
        let slow = object(lambda, mu, &policy(t, swr, drop), edges, 0).hit_ratio();
        let fast = object(lambda * factor, mu, &policy(t, swr, drop), edges, 0).hit_ratio();
        prop_assert!(fast >= slow - 1e-12, "λ={lambda}: {slow} > λ={}: {fast}", lambda * factor);
    }

    #[test]
    fn model_hit_ratio_is_monotone_in_ttl(t in 1.0f64..3600.0, dt in 0.0f64..3600.0) {
        let model = cdn_design::Model::preset("typical").unwrap();
        let sweep = cdn_design::sweep_ttl(&model, &[t, t + dt]);
        prop_assert!(sweep[1].1 >= sweep[0].1 - 1e-12);
    }
}
