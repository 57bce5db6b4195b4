//! Monthly cost per strategy, one line per billed item, with the flat-rate plans beside it.
//!
//! Every line shows its quantity and the price it was multiplied by, so the arithmetic can
//! be checked by hand (the seed's invalidation figure could not be: docs/sources.md,
//! "Invalidation prices").

use serde::Serialize;

use crate::analytic::{ClassResult, Flows, ObjectClass, Strategy};
use crate::auth;
use crate::model::{Architecture, AuthOption, Invalidation, LatencyInputs, Model};
use crate::origin::Pool;

/// One billed item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostLine {
    /// What is billed.
    pub item: String,
    /// How much of it per month.
    pub quantity: f64,
    /// Unit of the quantity.
    pub unit: String,
    /// The month's cost.
    pub usd_per_month: f64,
    /// The arithmetic: free allowance and price.
    pub arithmetic: String,
}

/// A flat-rate plan against this workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlatRateQuote {
    /// Plan name.
    pub plan: String,
    /// Its monthly price.
    pub usd_per_month: f64,
    /// Whether the month's CloudFront requests (and data, where stated) fit in it.
    pub fits: bool,
}

/// A month's bill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostBreakdown {
    /// Every line.
    pub lines: Vec<CostLine>,
    /// Their sum.
    pub total_usd_per_month: f64,
    /// The pay-as-you-go CloudFront lines a flat-rate plan would replace (requests, data out).
    pub cloudfront_usage_usd_per_month: f64,
    /// Flat-rate plans for comparison.
    pub flat_rate: Vec<FlatRateQuote>,
    /// CloudFront requests per month.
    pub cloudfront_requests_per_month: f64,
    /// Data out per month.
    pub gb_out_per_month: f64,
}

fn billable(quantity: f64, free: f64) -> f64 {
    (quantity - free).max(0.0)
}

/// Cost of `paths` invalidation paths in a month: the first 1,000 are free.
pub fn invalidation_usd(model: &Model, paths_per_month: f64) -> f64 {
    billable(paths_per_month, model.prices.invalidation_free_paths_per_month) * model.prices.invalidation_usd_per_path
}

pub(crate) fn breakdown(
    model: &Model,
    classes: &[ClassResult],
    flows: &Flows,
    pool: &Pool,
    strategy: Strategy,
) -> CostBreakdown {
    let p = &model.prices;
    let w = &model.workload;
    let month_s = 86_400.0 * w.days_per_month;
    let per_month = |rate: f64| rate * month_s;
    let requests = per_month(classes.iter().map(|c| c.requests_per_s).sum());
    let gb = per_month(classes.iter().map(|c| c.bytes_per_s).sum()) / 1e9;
    let rate_of = |class| {
        classes
            .iter()
            .find(|c| c.class == class)
            .map_or(0.0, |c| c.requests_per_s)
    };
    let page_views = per_month(rate_of(ObjectClass::PageHtml));
    let private_dynamic =
        per_month(rate_of(ObjectClass::PageHtml) + rate_of(ObjectClass::Api) + rate_of(ObjectClass::Mcp))
            * w.share_private;
    let mut lines = Vec::new();

    let billed = billable(requests, p.cloudfront_free_requests_per_month);
    lines.push(CostLine {
        item: "CloudFront HTTPS requests".to_owned(),
        quantity: requests,
        unit: "requests".to_owned(),
        usd_per_month: billed / 10_000.0 * p.cloudfront_usd_per_10k_requests,
        arithmetic: format!(
            "({requests:.0} − {:.0} free) × ${} per 10k",
            p.cloudfront_free_requests_per_month, p.cloudfront_usd_per_10k_requests
        ),
    });
    lines.push(CostLine {
        item: "CloudFront data transfer out".to_owned(),
        quantity: gb,
        unit: "GB".to_owned(),
        usd_per_month: billable(gb, p.cloudfront_free_gb_per_month) * p.cloudfront_usd_per_gb_out,
        arithmetic: format!(
            "({gb:.1} − {:.0} free) GB × ${}/GB",
            p.cloudfront_free_gb_per_month, p.cloudfront_usd_per_gb_out
        ),
    });
    let cloudfront_usage_usd_per_month = lines.iter().map(|l| l.usd_per_month).sum();

    let paths = flows.invalidation_paths_per_month;
    lines.push(CostLine {
        item: "Invalidation paths".to_owned(),
        quantity: paths,
        unit: "paths".to_owned(),
        usd_per_month: invalidation_usd(model, paths),
        arithmetic: format!(
            "({paths:.0} − {:.0} free) × ${}",
            p.invalidation_free_paths_per_month, p.invalidation_usd_per_path
        ),
    });

    // Functions: auth on private wikis' dynamic requests; versioned URLs add a router on
    // every page view, and auth runs inside the same function (one viewer-request function
    // per behaviour).
    let auth = model.cache.auth;
    let versioned = strategy == Strategy::Cached(Invalidation::VersionedUrls);
    let auth_invocations = if crate::analytic::auth_runs_function(auth) {
        private_dynamic
    } else {
        0.0
    };
    let router_invocations = if versioned { page_views } else { 0.0 };
    let private_pages = page_views * w.share_private;
    let function_invocations = if versioned && auth_invocations > 0.0 {
        router_invocations + auth_invocations - private_pages
    } else {
        router_invocations + auth_invocations
    };
    if auth == AuthOption::LambdaAtEdge && function_invocations > 0.0 {
        let row = auth::row_for(model, auth);
        lines.push(CostLine {
            item: "Lambda@Edge (viewer request)".to_owned(),
            quantity: function_invocations,
            unit: "requests".to_owned(),
            usd_per_month: function_invocations / 1e6 * row.usd_per_million_requests,
            arithmetic: format!(
                "{function_invocations:.0} × ${:.3}/M ({})",
                row.usd_per_million_requests, row.provenance
            ),
        });
    } else if function_invocations > 0.0 {
        let per_million = if auth_invocations > 0.0 {
            auth::row_for(model, auth).usd_per_million_requests
        } else {
            p.cloudfront_functions_usd_per_million
        };
        lines.push(CostLine {
            item: "CloudFront Functions (viewer request)".to_owned(),
            quantity: function_invocations,
            unit: "invocations".to_owned(),
            usd_per_month: billable(function_invocations, p.cloudfront_functions_free_per_month) / 1e6 * per_million,
            arithmetic: format!(
                "({function_invocations:.0} − {:.0} free) × ${per_million}/M",
                p.cloudfront_functions_free_per_month
            ),
        });
    }
    // KeyValueStore reads: the router's page→revision lookup, and the auth key lookup.
    let kvs_reads = router_invocations
        + if matches!(
            auth,
            AuthOption::CloudfrontFunctionHs256 | AuthOption::CloudfrontFunctionRs256
        ) {
            auth_invocations
        } else {
            0.0
        };
    if kvs_reads > 0.0 {
        lines.push(CostLine {
            item: "KeyValueStore reads (UNVERIFIED price)".to_owned(),
            quantity: kvs_reads,
            unit: "reads".to_owned(),
            usd_per_month: kvs_reads / 1e6 * p.kvs_usd_per_million_reads,
            arithmetic: format!("{kvs_reads:.0} × ${}/M", p.kvs_usd_per_million_reads),
        });
    }

    let (origin_requests, cold_starts) = pool.monthly(w.days_per_month);
    lines.push(CostLine {
        item: "Origin Lambda requests".to_owned(),
        quantity: origin_requests,
        unit: "requests".to_owned(),
        usd_per_month: origin_requests / 1e6 * p.lambda_usd_per_million_requests,
        arithmetic: format!("{origin_requests:.0} × ${}/M", p.lambda_usd_per_million_requests),
    });
    let gb_memory = f64::from(model.origin.memory_mb) / 1024.0;
    let gb_s_price = match model.origin.architecture {
        Architecture::X86 => p.lambda_x86_usd_per_gb_s,
        Architecture::Arm64 => p.lambda_arm64_usd_per_gb_s,
    };
    let warm_gb_s = (origin_requests - cold_starts) * LatencyInputs::mean(&model.latency.warm_ms) / 1000.0 * gb_memory;
    let cold_gb_s = cold_starts * LatencyInputs::mean(&model.latency.cold_ms) / 1000.0 * gb_memory;
    lines.push(CostLine {
        item: "Origin Lambda duration (warm invokes)".to_owned(),
        quantity: warm_gb_s,
        unit: "GB-s".to_owned(),
        usd_per_month: warm_gb_s * gb_s_price,
        arithmetic: format!("{warm_gb_s:.0} GB-s × ${gb_s_price}"),
    });
    lines.push(CostLine {
        item: "Origin Lambda billed INIT + cold invokes".to_owned(),
        quantity: cold_gb_s,
        unit: "GB-s".to_owned(),
        usd_per_month: cold_gb_s * gb_s_price,
        arithmetic: format!(
            "{cold_starts:.0} cold starts, {cold_gb_s:.0} GB-s × ${gb_s_price} (INIT billed since 2025-08-01)"
        ),
    });

    let total_usd_per_month = lines.iter().map(|l| l.usd_per_month).sum();
    let flat_rate = p
        .flat_rate_plans
        .iter()
        .map(|plan| FlatRateQuote {
            plan: plan.name.clone(),
            usd_per_month: plan.usd_per_month,
            fits: requests <= plan.requests_per_month && plan.gb_per_month.is_none_or(|limit| gb <= limit),
        })
        .collect();
    CostBreakdown {
        lines,
        total_usd_per_month,
        cloudfront_usage_usd_per_month,
        flat_rate,
        cloudfront_requests_per_month: requests,
        gb_out_per_month: gb,
    }
}
