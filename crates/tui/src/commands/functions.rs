//! `coldfront functions`: what can be run.

use serde_json::json;

use crate::cli::FunctionsArgs;
use crate::output::outln;

pub(crate) fn list(args: &FunctionsArgs) -> anyhow::Result<u8> {
    let specs = super::load_specs(&args.spec)?;
    if args.json {
        let functions: Vec<_> = specs
            .functions()
            .map(|f| {
                json!({
                    "name": f.name, "runtime": f.runtime.as_str(), "code_dir": f.code_dir, "handler": f.handler,
                    "memory_mb": f.memory_mb, "invokes": f.invokes, "timeout_ms": f.timeout_ms,
                    "init_timeout_ms": f.init_timeout_ms, "description": f.description,
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"source": specs.source(), "functions": functions}))?
        );
        return Ok(crate::exit::OK);
    }
    match specs.source() {
        Some(path) => outln!("Functions in {}:", path.display()),
        None => outln!("Bundled functions (no coldfront.toml given):"),
    }
    for f in specs.functions() {
        outln!(
            "  {:<12} {:<20} {:>5} MB  {}  {}",
            f.name,
            f.runtime.as_str(),
            f.memory_mb,
            f.handler,
            f.description
        );
    }
    Ok(crate::exit::OK)
}
