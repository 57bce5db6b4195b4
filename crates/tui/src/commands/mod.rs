//! One module per subcommand.

pub(crate) mod auth;
pub(crate) mod cdn;
mod functions;
mod run;
pub(crate) mod trace;

use std::path::Path;

use anyhow::Context;
use init_trace::spec::SpecSet;

use crate::cli::{Cli, Command, SpecArgs};
use crate::ui;

pub(crate) async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        // The embedded default: the interactive UI on the bundled functions (or ./coldfront.toml).
        None => ui::run(load_specs(&SpecArgs { config: None })?.functions().cloned().collect()).await,
        Some(Command::Run(args)) => run::run(args).await,
        Some(Command::Functions(args)) => functions::list(&args),
        Some(Command::Trace(args)) => trace::trace(args).await,
        Some(Command::Report(args)) => trace::report(&args),
        Some(Command::Cdn(args)) => cdn::run(args).await,
        Some(Command::Auth(args)) => auth::run(args).await,
        Some(Command::BenchUi(args)) => ui::bench::run(&args),
    }
}

/// The functions to choose from: `--config`, else `./coldfront.toml`, else the bundled ones.
pub(crate) fn load_specs(args: &SpecArgs) -> anyhow::Result<SpecSet> {
    let default = Path::new("coldfront.toml");
    match &args.config {
        Some(path) => Ok(SpecSet::load(path)?),
        None if default.is_file() => Ok(SpecSet::load(default)?),
        None => SpecSet::bundled().context("cannot prepare the bundled functions"),
    }
}
