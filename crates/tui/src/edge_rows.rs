//! The one conversion from edge-auth's comparison into cdn-design's auth inputs, used by
//! `cdn design --measure-auth`, the UI and its export. Rows are matched by the option's
//! key, never by display text: a renamed row can no longer make the design page fall back
//! to its defaults without a word.

use cdn_design::{AuthOption, AuthRow};
use edge_auth::compare::{Comparison, EdgeOption, Provenance, Support};

/// The design model's option for an edge-auth row, if the model has one.
pub(crate) fn design_option(key: EdgeOption) -> Option<AuthOption> {
    match key {
        EdgeOption::SignedCookies => Some(AuthOption::SignedCookies),
        EdgeOption::CloudfrontFunctionHs256 => Some(AuthOption::CloudfrontFunctionHs256),
        EdgeOption::CloudfrontFunctionRs256 => Some(AuthOption::CloudfrontFunctionRs256),
        EdgeOption::LambdaAtEdge => Some(AuthOption::LambdaAtEdge),
        // The design model has no CWT option: the row is left out rather than passed off
        // as the HS256 function, whose latency differs.
        EdgeOption::CloudfrontFunctionCwt => None,
    }
}

/// Every row of the comparison as the design page's input.
pub(crate) fn design_rows(comparison: &Comparison) -> Vec<AuthRow> {
    comparison
        .rows
        .iter()
        .filter_map(|row| Some((row, design_option(row.key)?)))
        .map(|(row, option)| AuthRow {
            option: option.name().to_owned(),
            latency_ms: row.latency_ms,
            usd_per_million_requests: row.cost_usd_per_million,
            capabilities: format!(
                "RS256 {}, JWKS {}, claim checks {}, key rotation {}",
                support(row.capabilities.rs256),
                support(row.capabilities.jwks),
                support(row.capabilities.claim_checks),
                support(row.capabilities.key_rotation)
            ),
            provenance: format!(
                "latency {}; cost {}",
                provenance(&row.latency_provenance),
                provenance(&row.cost_provenance)
            ),
        })
        .collect()
}

/// Refuses rows the design page would not recognise, naming the row and the options it
/// knows.
pub(crate) fn check_rows(rows: &[AuthRow]) -> Result<(), String> {
    for (index, row) in rows.iter().enumerate() {
        if AuthOption::from_name(&row.option).is_none() {
            let known: Vec<&str> = AuthOption::ALL.iter().map(|o| o.name()).collect();
            return Err(format!(
                "row {} names option {:?}, which the design does not know; use one of {}",
                index + 1,
                row.option,
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// A figure's provenance in words.
pub(crate) fn provenance(p: &Provenance) -> String {
    match p {
        Provenance::Measured(how) => format!("measured: {how}"),
        Provenance::PriceTable(what) => format!("price table: {what}"),
        Provenance::Assumed(source) => format!("ASSUMED: {source}"),
    }
}

/// A capability in one word.
pub(crate) fn support(s: Support) -> &'static str {
    match s {
        Support::Yes => "yes",
        Support::No => "no",
        Support::Partly => "partly",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_edge_option_has_a_design_option_of_the_same_key() {
        for key in [
            EdgeOption::SignedCookies,
            EdgeOption::CloudfrontFunctionHs256,
            EdgeOption::CloudfrontFunctionRs256,
            EdgeOption::LambdaAtEdge,
        ] {
            assert_eq!(design_option(key).map(AuthOption::name), Some(key.key()));
        }
        assert_eq!(design_option(EdgeOption::CloudfrontFunctionCwt), None);
    }

    #[test]
    fn unknown_options_are_refused_by_name() {
        let row = |option: &str| AuthRow {
            option: option.to_owned(),
            latency_ms: 1.0,
            usd_per_million_requests: 0.1,
            capabilities: String::new(),
            provenance: String::new(),
        };
        assert!(check_rows(&[row("lambda-at-edge")]).is_ok());
        let err = check_rows(&[row("lambda-at-edge"), row("Lambda@Edge JWT")]).unwrap_err();
        assert!(
            err.contains("row 2") && err.contains("Lambda@Edge JWT") && err.contains("lambda-at-edge"),
            "{err}"
        );
    }
}
