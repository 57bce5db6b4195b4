//! The functions `serve` knows: each with its `$LATEST` configuration, published
//! versions, and the update in progress, and how each renders as Lambda's
//! `FunctionConfiguration`.
//!
//! As on Lambda, a change (`UpdateFunctionConfiguration`, `UpdateFunctionCode`) is not
//! in effect at once: `LastUpdateStatus` is `InProgress` for the configured delay, invokes
//! meanwhile run the previous configuration, and a second change meanwhile is refused
//! with `ResourceConflictException`. A new function is `Pending` for the same delay, then
//! `Active`. The SDKs' waiters (`function_updated_v2`, `function_active_v2`) poll for
//! exactly these fields.

use std::collections::BTreeMap;
use std::time::Instant;

use init_trace::spec::{FunctionSpec, RuntimeKind};
use serde_json::{Value, json};

use crate::code::StoredCode;
use crate::error::ApiError;

/// One immutable configuration of a function: `$LATEST` at some moment, or a version.
#[derive(Debug, Clone)]
pub struct Revision {
    /// What the emulator runs.
    pub spec: FunctionSpec,
    /// The `Runtime` as given (`python3.12`, `provided.al2023`, …).
    pub runtime_name: String,
    /// `Role`, kept as given.
    pub role: String,
    /// The code.
    pub code: StoredCode,
    /// `LastModified`, in Lambda's format.
    pub last_modified: String,
    /// `RevisionId`: changes with every change.
    pub revision_id: String,
    /// `TracingConfig.Mode`.
    pub tracing_mode: String,
    /// `Architectures`.
    pub architectures: Vec<String>,
    /// `EphemeralStorage.Size`.
    pub ephemeral_storage_mb: u32,
    /// `VpcConfig` as given. Kept and returned only: serve attaches no network interface,
    /// so a VPC adds nothing to a cold start here (on Lambda it can).
    pub vpc_config: Option<VpcSettings>,
    /// `FileSystemConfigs` as given. Kept and returned only: serve mounts nothing.
    pub file_system_configs: Vec<FileSystemSettings>,
}

/// `VpcConfig` in botocore's shape (the request's; the response adds `VpcId`, which serve,
/// knowing no subnets, leaves out).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VpcSettings {
    /// `SubnetIds` (at most 16).
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    /// `SecurityGroupIds` (at most 5).
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// `Ipv6AllowedForDualStack`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_allowed_for_dual_stack: Option<bool>,
}

/// One of `FileSystemConfigs`, in botocore's shape.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FileSystemSettings {
    /// `Arn`: an EFS access point.
    pub arn: String,
    /// `LocalMountPath`: `/mnt/NAME`.
    pub local_mount_path: String,
}

/// A function and its versions.
#[derive(Debug, Clone)]
pub struct Function {
    /// `$LATEST` as invokes see it now.
    pub latest: Revision,
    /// A change being applied, and when it takes effect.
    pub pending: Option<(Revision, Instant)>,
    /// When a new function becomes `Active`.
    pub active_at: Instant,
    /// Published versions, by number.
    pub versions: BTreeMap<u32, Revision>,
    /// Where the function came from (`coldfront.toml`, bundled, or the API).
    pub origin: Origin,
}

/// Where a function was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Bundled with coldfront or from `coldfront.toml`.
    Preregistered,
    /// Created through `CreateFunction`.
    Created,
}

impl Function {
    /// Applies a change whose delay has passed. Returns true when `$LATEST` changed.
    pub fn settle(&mut self, now: Instant) -> bool {
        if let Some((_, at)) = &self.pending
            && *at <= now
        {
            let (revision, _) = self.pending.take().expect("checked above");
            self.latest = revision;
            return true;
        }
        false
    }

    /// `State`: `Pending` until the function is ready, then `Active`.
    pub fn state(&self, now: Instant) -> &'static str {
        if now < self.active_at { "Pending" } else { "Active" }
    }

    /// `LastUpdateStatus`.
    pub fn last_update_status(&self) -> &'static str {
        if self.pending.is_some() {
            "InProgress"
        } else {
            "Successful"
        }
    }

    /// The revision a qualifier names (`None`, `$LATEST` or a version number).
    pub fn revision(&self, name: &str, qualifier: Option<&str>) -> Result<(&Revision, String), ApiError> {
        match qualifier {
            None | Some("$LATEST") => Ok((&self.latest, "$LATEST".to_owned())),
            Some(q) => {
                let number: u32 = q.parse().map_err(|_| {
                    ApiError::invalid_parameter(format!(
                        "Qualifier {q:?} is neither $LATEST nor a version number (aliases are not supported by coldfront serve)"
                    ))
                })?;
                self.versions
                    .get(&number)
                    .map(|r| (r, number.to_string()))
                    .ok_or_else(|| ApiError::not_found(format!("Function not found: {name}:{q}")))
            }
        }
    }
}

/// A `LastModified` timestamp as Lambda writes it: `2024-01-31T12:34:56.789+0000`.
pub fn last_modified_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// A fresh `RevisionId` (a UUID, as Lambda's).
pub fn revision_id() -> String {
    let bytes: [u8; 16] = rand_bytes();
    let hex: String = bytes.iter().fold(String::with_capacity(32), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    });
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn rand_bytes() -> [u8; 16] {
    let mut bytes = [0_u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system's random source works");
    bytes
}

/// Which emulator runtime a Lambda `Runtime` identifier runs on.
pub fn runtime_kind(runtime: &str) -> Result<RuntimeKind, ApiError> {
    if runtime.starts_with("python3") {
        Ok(RuntimeKind::Python)
    } else if runtime.starts_with("provided") {
        Ok(RuntimeKind::Provided)
    } else {
        Err(ApiError::invalid_parameter(format!(
            "Runtime {runtime:?} is not supported by coldfront serve: use python3.x (run on this machine's python3) or provided.al2023/provided.al2 (an executable `bootstrap` in the package)"
        )))
    }
}

/// The Lambda `Runtime` name for a preregistered function.
pub fn runtime_name_for(spec: &FunctionSpec) -> String {
    match spec.runtime {
        RuntimeKind::Python | RuntimeKind::PythonAwslambdaric => "python3.11".to_owned(),
        RuntimeKind::Provided => "provided.al2023".to_owned(),
    }
}

/// Renders a revision as Lambda's `FunctionConfiguration`.
pub fn configuration(function: &Function, revision: &Revision, version: &str, arn_prefix: &str, now: Instant) -> Value {
    let spec = &revision.spec;
    let function_arn = if version == "$LATEST" {
        format!("{arn_prefix}{}", spec.name)
    } else {
        format!("{arn_prefix}{}:{version}", spec.name)
    };
    let mut config = json!({
        "FunctionName": spec.name,
        "FunctionArn": function_arn,
        "Runtime": revision.runtime_name,
        "Role": revision.role,
        "Handler": spec.handler,
        "CodeSize": revision.code.size_bytes,
        "Description": spec.description,
        "Timeout": spec.timeout_ms.div_ceil(1000),
        "MemorySize": spec.memory_mb,
        "LastModified": revision.last_modified,
        "CodeSha256": revision.code.sha256_base64,
        "Version": version,
        "Environment": {"Variables": spec.env},
        "TracingConfig": {"Mode": revision.tracing_mode},
        "RevisionId": revision.revision_id,
        "State": function.state(now),
        "LastUpdateStatus": if version == "$LATEST" { function.last_update_status() } else { "Successful" },
        "PackageType": "Zip",
        "Architectures": revision.architectures,
        "EphemeralStorage": {"Size": revision.ephemeral_storage_mb},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", spec.name)},
    });
    // As on Lambda, a function outside a VPC and without file systems has neither field.
    if let Some(vpc) = &revision.vpc_config {
        config["VpcConfig"] = json!(vpc);
    }
    if !revision.file_system_configs.is_empty() {
        config["FileSystemConfigs"] = json!(revision.file_system_configs);
    }
    config
}

/// Fields of `CreateFunction`/`UpdateFunctionConfiguration` that change a spec, read
/// from the request body; each is checked against Lambda's limits.
pub fn apply_configuration(revision: &mut Revision, body: &Value) -> Result<(), ApiError> {
    if let Some(handler) = body.get("Handler") {
        revision.spec.handler = string_field(handler, "Handler")?;
    }
    if let Some(description) = body.get("Description") {
        revision.spec.description = string_field(description, "Description")?;
    }
    if let Some(role) = body.get("Role") {
        revision.role = string_field(role, "Role")?;
    }
    if let Some(memory) = body.get("MemorySize") {
        let mb = memory
            .as_u64()
            .filter(|mb| (128..=10_240).contains(mb))
            .ok_or_else(|| {
                ApiError::invalid_parameter(format!(
                    "MemorySize {memory} is out of range: it must be an integer from 128 to 10240 (MB)"
                ))
            })?;
        revision.spec.memory_mb = mb as u32;
    }
    if let Some(timeout) = body.get("Timeout") {
        let seconds = timeout.as_u64().filter(|s| (1..=900).contains(s)).ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "Timeout {timeout} is out of range: it must be an integer from 1 to 900 (seconds)"
            ))
        })?;
        revision.spec.timeout_ms = seconds * 1000;
    }
    if let Some(environment) = body.get("Environment") {
        let variables = environment.get("Variables").cloned().unwrap_or_else(|| json!({}));
        let variables: BTreeMap<String, String> = serde_json::from_value(variables).map_err(|e| {
            ApiError::invalid_parameter(format!("Environment.Variables must map names to strings: {e}"))
        })?;
        if let Some(reserved) = variables.keys().find(|k| RESERVED_VARIABLES.contains(&k.as_str())) {
            return Err(ApiError::invalid_parameter(format!(
                "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {reserved}"
            )));
        }
        revision.spec.env = variables;
    }
    if let Some(runtime) = body.get("Runtime") {
        let name = string_field(runtime, "Runtime")?;
        revision.spec.runtime = runtime_kind(&name)?;
        revision.runtime_name = name;
    }
    if let Some(mode) = body.get("TracingConfig").and_then(|t| t.get("Mode")) {
        let mode = string_field(mode, "TracingConfig.Mode")?;
        if mode != "Active" && mode != "PassThrough" {
            return Err(ApiError::invalid_parameter(format!(
                "TracingConfig.Mode {mode:?} must be Active or PassThrough"
            )));
        }
        revision.tracing_mode = mode;
    }
    if let Some(size) = body.get("EphemeralStorage").and_then(|e| e.get("Size")) {
        let mb = size.as_u64().filter(|mb| (512..=10_240).contains(mb)).ok_or_else(|| {
            ApiError::invalid_parameter(format!("EphemeralStorage.Size {size} must be from 512 to 10240 (MB)"))
        })?;
        revision.ephemeral_storage_mb = mb as u32;
        // The emulator sizes the sandbox's `/tmp` from the spec.
        revision.spec.ephemeral_storage_mb = mb as u32;
    }
    if let Some(architectures) = body.get("Architectures") {
        let list: Vec<String> = serde_json::from_value(architectures.clone())
            .map_err(|e| ApiError::invalid_parameter(format!("Architectures must be a list of strings: {e}")))?;
        if list.len() != 1 || !matches!(list[0].as_str(), "x86_64" | "arm64") {
            return Err(ApiError::invalid_parameter(
                "Architectures must be exactly one of [\"x86_64\"] or [\"arm64\"]",
            ));
        }
        revision.architectures = list;
    }
    if let Some(vpc) = body.get("VpcConfig") {
        revision.vpc_config = vpc_settings(vpc)?;
    }
    if let Some(list) = body.get("FileSystemConfigs") {
        revision.file_system_configs = file_system_settings(list)?;
    }
    if !revision.file_system_configs.is_empty() && revision.vpc_config.is_none() {
        return Err(ApiError::invalid_parameter(
            "FileSystemConfigs need a VpcConfig: Lambda reaches EFS through the function's VPC (give VpcConfig with SubnetIds and SecurityGroupIds, or FileSystemConfigs [] to remove the file system)",
        ));
    }
    Ok(())
}

/// `VpcConfig`, checked against Lambda's limits; empty lists (how a function leaves its
/// VPC) give `None`.
fn vpc_settings(value: &Value) -> Result<Option<VpcSettings>, ApiError> {
    let vpc: VpcSettings = serde_json::from_value(value.clone()).map_err(|e| {
        ApiError::invalid_parameter(format!(
            "VpcConfig must be {{\"SubnetIds\": [...], \"SecurityGroupIds\": [...], \"Ipv6AllowedForDualStack\": bool}}: {e}"
        ))
    })?;
    if vpc.subnet_ids.len() > 16 || vpc.security_group_ids.len() > 5 {
        return Err(ApiError::invalid_parameter(format!(
            "VpcConfig has {} SubnetIds and {} SecurityGroupIds; Lambda allows at most 16 and 5",
            vpc.subnet_ids.len(),
            vpc.security_group_ids.len()
        )));
    }
    if vpc.subnet_ids.is_empty() != vpc.security_group_ids.is_empty() {
        return Err(ApiError::invalid_parameter(
            "VpcConfig needs both SubnetIds and SecurityGroupIds (or both empty, to leave the VPC)",
        ));
    }
    Ok((!vpc.subnet_ids.is_empty()).then_some(vpc))
}

/// `FileSystemConfigs`, checked as Lambda checks them: at most one, an EFS access point's
/// ARN, mounted under `/mnt/`.
fn file_system_settings(value: &Value) -> Result<Vec<FileSystemSettings>, ApiError> {
    let list: Vec<FileSystemSettings> = serde_json::from_value(value.clone()).map_err(|e| {
        ApiError::invalid_parameter(format!(
            "FileSystemConfigs must be a list of {{\"Arn\": ..., \"LocalMountPath\": ...}}: {e}"
        ))
    })?;
    if list.len() > 1 {
        return Err(ApiError::invalid_parameter(format!(
            "FileSystemConfigs has {} entries; Lambda allows one",
            list.len()
        )));
    }
    for fs in &list {
        if !(fs.arn.starts_with("arn:aws")
            && fs.arn.contains(":elasticfilesystem:")
            && fs.arn.contains(":access-point/fsap-"))
        {
            return Err(ApiError::invalid_parameter(format!(
                "FileSystemConfigs Arn {:?} is not an EFS access point's ARN (arn:aws:elasticfilesystem:REGION:ACCOUNT:access-point/fsap-...)",
                fs.arn
            )));
        }
        let name = fs.local_mount_path.strip_prefix("/mnt/").unwrap_or("");
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(ApiError::invalid_parameter(format!(
                "FileSystemConfigs LocalMountPath {:?} must be /mnt/ followed by letters, digits, '-', '_' or '.'",
                fs.local_mount_path
            )));
        }
    }
    Ok(list)
}

/// Variables Lambda sets itself and refuses from users.
const RESERVED_VARIABLES: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

fn string_field(value: &Value, name: &str) -> Result<String, ApiError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ApiError::invalid_parameter(format!("{name} must be a string, not {value}")))
}
