//! `coldfront cdn`: being built (placeholder so the command tree compiles).

use clap::Args;

#[derive(Debug, Clone, Args)]
pub(crate) struct CdnArgs {}

pub(crate) async fn run(_args: CdnArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`coldfront cdn` is not built yet")
}
