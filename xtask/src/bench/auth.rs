//! auth benchmarks: being built (placeholder).

use std::collections::BTreeMap;

use super::{Measure, Options};

pub(crate) fn run(_options: &Options, _measures: &mut BTreeMap<String, Measure>, _details: &mut BTreeMap<String, serde_json::Value>) -> anyhow::Result<()> {
    Ok(())
}
