//! `coldfront auth`: being built (placeholder so the command tree compiles).

use clap::Args;

#[derive(Debug, Clone, Args)]
pub(crate) struct AuthArgs {}

pub(crate) async fn run(_args: AuthArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`coldfront auth` is not built yet")
}
