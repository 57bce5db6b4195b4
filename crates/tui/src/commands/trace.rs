//! `coldfront trace` and `coldfront report`: being built.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub(crate) struct TraceArgs {}

#[derive(Debug, Clone, Args)]
pub(crate) struct ReportArgs {}

pub(crate) async fn trace(_args: TraceArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`coldfront trace` is not built yet")
}

pub(crate) fn report(_args: &ReportArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`coldfront report` is not built yet")
}
