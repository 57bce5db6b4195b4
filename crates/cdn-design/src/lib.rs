//! Cache design for a wiki behind CloudFront: per-path cache behaviours, hit ratio,
//! staleness, end-user latency and monthly cost, evaluated analytically and by a
//! trace-driven TTL cache simulator.
//!
//! Not built yet: this crate will hold the workload model and presets, the analytic
//! evaluation (REFERENCE.md §7), the simulator, the origin cold-start coupling, the price
//! table, the CloudFront configuration output and the `Design/CDN_Caching` page (issue 5).
