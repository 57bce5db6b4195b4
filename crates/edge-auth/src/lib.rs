//! JWT validation with edge semantics, the CloudFront Function generator and its local
//! runner, CloudFront signed cookies, and the comparison of the three edge auth options.
//!
//! Not built yet: this crate will hold the pinned-algorithm key set and validator, the
//! attack catalog, the `cloudfront-js-2.0` function generator, the embedded JS runner,
//! the RS256 edge-budget verdict and signed cookies (issue 4).
