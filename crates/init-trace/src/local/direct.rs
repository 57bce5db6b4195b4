//! The independent measurement the attribution is checked against: the function's own
//! interpreter importing the handler directly under `python -X importtime`, in the task
//! root with the sandbox's environment, but with no emulator, no Runtime API and none of
//! coldfront's import-marks hook.

use super::{EmulatorError, LocalEmulator};
use crate::attribution::shares::ModuleTimes;
use crate::evidence::importtime;
use crate::spec::FunctionSpec;

impl LocalEmulator {
    /// Runs `python -X importtime -c "import <handler module>, os; os._exit(0)"` for
    /// `spec` and returns the own time of every module the handler import loaded (the
    /// handler module itself excluded: its own code is handler init, not an import).
    pub fn direct_import_times(&self, spec: &FunctionSpec) -> Result<ModuleTimes, EmulatorError> {
        let module = spec
            .handler
            .rsplit_once('.')
            .map_or(spec.handler.as_str(), |(module, _)| module)
            .to_owned();
        let plan = self.launch_plan(spec, "127.0.0.1:9", "127.0.0.1:2000", &std::env::temp_dir())?;
        let failed = |reason: String| EmulatorError::Launch {
            function: spec.name.clone(),
            program: plan.command.program.clone(),
            reason,
        };
        let output = std::process::Command::new(&plan.command.program)
            .args(["-X", "importtime", "-c", &format!("import {module}, os; os._exit(0)")])
            .current_dir(&spec.code_dir)
            .env_clear()
            .envs(
                plan.command
                    .env
                    .iter()
                    .filter(|(k, _)| k != "PYTHONPROFILEIMPORTTIME" && k != "PYTHONPATH")
                    .map(|(k, v)| (k, v)),
            )
            .output()
            .map_err(|e| failed(e.to_string()))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            let last = stderr.lines().last().unwrap_or_default();
            return Err(failed(format!(
                "the direct import of {module:?} failed ({}): {last}",
                output.status
            )));
        }
        let tree = importtime::parse(&stderr);
        let handler = tree
            .roots
            .iter()
            .find(|r| r.name == module)
            .ok_or_else(|| failed(format!("`-X importtime` shows no top-level import of {module:?}")))?;
        let mut modules = ModuleTimes::new();
        handler.walk(&mut |n| {
            if n.name != module {
                modules.insert(n.name.clone(), n.self_us as f64 / 1000.0);
            }
        });
        Ok(modules)
    }
}
