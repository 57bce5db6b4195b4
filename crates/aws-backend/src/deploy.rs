//! Functions coldfront creates for a run and deletes at its end: the bundled control
//! (`--deploy-control`), deployed alike to the subject, so that the difference between
//! the two is the subject's own code; and copies of the subject (`--parallel K` with one
//! function named), made from its own code, so K cold starts can run at once without
//! retiring each other's environments.
//!
//! A run's functions are created together, a few at a time ([`create_together`]). Each
//! creation is journaled (a [`Creation`] in the journal directory) before its
//! `CreateFunction` is sent, with a `Description` unique to the run. The function is
//! deleted by [`Created::delete`], or, when a run drops it undeleted (a panic, an early
//! return), by its `Drop`; a run killed before that leaves the journal, and
//! [`crate::restore_journals`] deletes the function, but only one whose `Description` is
//! still the journaled one, never a function of the user's that happens to have the name.

use std::io::Write as _;
use std::path::Path;

use aws_sdk_lambda::error::ProvideErrorMetadata as _;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, FunctionConfiguration, Runtime, TracingConfig, VpcConfig};

use init_trace::sample::VariantKind;

use crate::journal::{Creation, Journal};
use crate::{ATTEMPTS, AwsError, UPDATE_DEADLINE, api_error, backoff, retryable};

/// The longest function name Lambda accepts.
const MAX_NAME_CHARS: usize = 64;

/// A function's configuration as `GetFunction` gives it: what a created function copies.
#[derive(Debug, Clone)]
pub struct Subject {
    configuration: FunctionConfiguration,
    name: String,
    /// `Code.Location`: where its deployment package can be downloaded.
    code_location: Option<String>,
}

impl Subject {
    /// Reads `function`'s configuration.
    pub async fn describe(client: &aws_sdk_lambda::Client, function: &str) -> Result<Self, AwsError> {
        let output = client
            .get_function()
            .function_name(function)
            .send()
            .await
            .map_err(|e| api_error("GetFunction", function, &e))?;
        let configuration = output
            .configuration()
            .cloned()
            .unwrap_or_else(|| FunctionConfiguration::builder().build());
        let name = configuration.function_name().unwrap_or(function).to_owned();
        let code_location = output.code().and_then(|c| c.location()).map(str::to_owned);
        Ok(Self {
            configuration,
            name,
            code_location,
        })
    }

    /// The function's name (never its ARN).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configuration `GetFunction` gave.
    pub fn configuration(&self) -> &FunctionConfiguration {
        &self.configuration
    }

    /// The bundled control (`init_trace`'s `control` fixture, a minimal Python handler)
    /// as a function deployed like this one: its runtime, architecture, memory size,
    /// timeout, tracing mode, VPC and EFS settings, with `role`. Refused for a subject that
    /// is not on a Python runtime, which the bundled handler cannot stand in for.
    pub fn control(&self, role: &str, run: &RunId) -> Result<Plan, AwsError> {
        let runtime = self.configuration.runtime().map_or("", Runtime::as_str);
        if !runtime.starts_with("python") {
            return Err(AwsError::ControlRuntime {
                function: self.name.clone(),
                runtime: runtime.to_owned(),
            });
        }
        let dir = init_trace::bundled::fixture_dir("control").map_err(|e| AwsError::Package {
            path: "the bundled control".into(),
            reason: e.to_string(),
        })?;
        Ok(Plan {
            name: created_name(&self.name, "cfctl", &run.0),
            purpose: format!("the bundled control for {}", self.name),
            subject: self.name.clone(),
            run: run.clone(),
            base: self.configuration.clone(),
            zip: zip_directory(&dir)?,
            role: role.to_owned(),
            handler: Some("handler.handle".to_owned()),
            copies_environment: false,
            vpc: true,
            file_systems: true,
            variant: None,
        })
    }
}

impl Subject {
    /// `count` copies of this function, numbered from 1: its own code and configuration
    /// (environment, layers, ephemeral storage, VPC and EFS settings included), with its
    /// own execution role unless `role` is given.
    pub async fn copies(&self, count: usize, role: Option<&str>, run: &RunId) -> Result<Vec<Plan>, AwsError> {
        let zip = self.code().await?;
        let role = role.or(self.configuration.role()).unwrap_or_default();
        Ok((1..=count)
            .map(|i| Plan {
                name: created_name(&self.name, &format!("cfcopy{i}"), &run.0),
                purpose: format!("copy {i} of {}", self.name),
                subject: self.name.clone(),
                run: run.clone(),
                base: self.configuration.clone(),
                zip: zip.clone(),
                role: role.to_owned(),
                handler: self.configuration.handler().map(str::to_owned),
                copies_environment: true,
                vpc: true,
                file_systems: true,
                variant: None,
            })
            .collect())
    }

    /// Whether it is attached to a VPC (has subnets).
    pub fn in_vpc(&self) -> bool {
        self.configuration
            .vpc_config()
            .is_some_and(|v| !v.subnet_ids().is_empty())
    }

    /// Whether it mounts a file system (EFS).
    pub fn mounts_file_systems(&self) -> bool {
        !self.configuration.file_system_configs().is_empty()
    }

    /// The differential variants of this function (item 4 of the AWS backend's issue): a
    /// copy without its file systems (still in its VPC), when it has any, and a copy
    /// without its VPC (and so without file systems, which need one); those of the kinds
    /// in `named` (functions the user named instead) are left out. Their INIT against
    /// the subject's gives what the EFS mount and the VPC's network set-up add. Refused,
    /// naming why, for a function in no VPC.
    pub async fn variants(
        &self,
        role: Option<&str>,
        run: &RunId,
        named: &[VariantKind],
    ) -> Result<Vec<Plan>, AwsError> {
        if !self.in_vpc() {
            return Err(AwsError::NoVariants {
                function: self.name.clone(),
            });
        }
        let wanted = |kind| !named.contains(&kind);
        let mut plans = Vec::new();
        let without_efs = self.mounts_file_systems() && wanted(VariantKind::WithoutEfs);
        if !without_efs && !wanted(VariantKind::WithoutVpc) {
            return Ok(plans);
        }
        let base = self.copies(1, role, run).await?.remove(0);
        if without_efs {
            plans.push(Plan {
                name: created_name(&self.name, "cfnoefs", &run.0),
                purpose: format!("{} {}", self.name, VariantKind::WithoutEfs.describe()),
                file_systems: false,
                variant: Some(VariantKind::WithoutEfs),
                ..base.clone()
            });
        }
        if !wanted(VariantKind::WithoutVpc) {
            return Ok(plans);
        }
        plans.push(Plan {
            name: created_name(&self.name, "cfnovpc", &run.0),
            purpose: format!("{} {}", self.name, VariantKind::WithoutVpc.describe()),
            vpc: false,
            file_systems: false,
            variant: Some(VariantKind::WithoutVpc),
            ..base
        });
        Ok(plans)
    }

    /// Checks that `variant`, a function the user named, can stand as this function's
    /// variant `kind`: deployed from the same code (`CodeSha256`) with the same handler,
    /// runtime, architecture and memory size, and lacking exactly the part `kind` names.
    /// The error names the field that differs, with both values.
    pub fn check_variant(&self, variant: &Subject, kind: VariantKind) -> Result<(), AwsError> {
        if !self.in_vpc() {
            return Err(AwsError::NoVariants {
                function: self.name.clone(),
            });
        }
        let (a, b) = (&self.configuration, &variant.configuration);
        let text = |value: Option<&str>| value.unwrap_or("(none)").to_owned();
        let fields: [(&'static str, String, String); 5] = [
            ("CodeSha256", text(a.code_sha256()), text(b.code_sha256())),
            ("Handler", text(a.handler()), text(b.handler())),
            (
                "Runtime",
                text(a.runtime().map(Runtime::as_str)),
                text(b.runtime().map(Runtime::as_str)),
            ),
            (
                "Architectures",
                format!(
                    "{:?}",
                    a.architectures()
                        .iter()
                        .map(aws_sdk_lambda::types::Architecture::as_str)
                        .collect::<Vec<_>>()
                ),
                format!(
                    "{:?}",
                    b.architectures()
                        .iter()
                        .map(aws_sdk_lambda::types::Architecture::as_str)
                        .collect::<Vec<_>>()
                ),
            ),
            (
                "MemorySize",
                a.memory_size()
                    .map_or_else(|| "(none)".to_owned(), |m| format!("{m} MB")),
                b.memory_size()
                    .map_or_else(|| "(none)".to_owned(), |m| format!("{m} MB")),
            ),
        ];
        if let Some((field, subject_value, variant_value)) = fields.into_iter().find(|(_, a, b)| a != b) {
            return Err(AwsError::VariantMismatch {
                variant: variant.name.clone(),
                subject: self.name.clone(),
                kind,
                field,
                subject_value,
                variant_value,
            });
        }
        let shape = |reason: String| AwsError::VariantShape {
            variant: variant.name.clone(),
            subject: self.name.clone(),
            kind,
            reason,
        };
        match kind {
            VariantKind::WithoutEfs if !self.mounts_file_systems() => Err(shape(format!(
                "{} mounts no EFS file system, so there is no storage mount to measure",
                self.name
            ))),
            VariantKind::WithoutEfs if variant.mounts_file_systems() => {
                Err(shape("it mounts a file system (FileSystemConfigs)".to_owned()))
            }
            VariantKind::WithoutEfs if !variant.in_vpc() => Err(shape(
                "it is in no VPC, so its difference would hold the network set-up too".to_owned(),
            )),
            VariantKind::WithoutVpc if variant.in_vpc() => Err(shape(format!(
                "it is in a VPC (subnets {})",
                b.vpc_config().map(|v| v.subnet_ids().join(", ")).unwrap_or_default()
            ))),
            _ => Ok(()),
        }
    }

    /// The function's deployment package, from GetFunction's `Code.Location`: a
    /// presigned URL on Lambda (downloaded through the SDK's own HTTPS connector), or a
    /// `file://` directory on this machine, which is how `coldfront serve` answers (zipped
    /// here).
    pub async fn code(&self) -> Result<Vec<u8>, AwsError> {
        let failed = |location: &str, reason: String| AwsError::CodeDownload {
            function: self.name.clone(),
            // The query string is the presigned URL's signature: never printed.
            location: location.split('?').next().unwrap_or_default().to_owned(),
            reason,
        };
        if self.configuration.package_type().is_some_and(|p| p.as_str() == "Image") {
            return Err(failed(
                "(a container image)",
                "it is a container image; copy it with your own deployment and name the copies".to_owned(),
            ));
        }
        let location = self
            .code_location
            .as_deref()
            .ok_or_else(|| failed("(none)", "GetFunction gave no Code.Location".to_owned()))?;
        if let Some(dir) = location.strip_prefix("file://") {
            return zip_directory(Path::new(dir));
        }
        if !(location.starts_with("https://") || location.starts_with("http://")) {
            return Err(failed(
                location,
                "only https://, http:// and file:// locations can be read".to_owned(),
            ));
        }
        download(location).await.map_err(|reason| failed(location, reason))
    }
}

/// The body of a GET of `url`, through the SDK's HTTPS connector (rustls on aws-lc, the
/// same stack the Lambda client uses).
async fn download(url: &str) -> Result<Vec<u8>, String> {
    use aws_smithy_runtime_api::client::http::HttpConnector as _;
    use aws_smithy_types::body::SdkBody;
    let connector = aws_smithy_http_client::Connector::builder()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build();
    let request = http::Request::get(url)
        .body(SdkBody::empty())
        .map_err(|e| e.to_string())?;
    let request = aws_smithy_runtime_api::http::Request::try_from(request).map_err(|e| e.to_string())?;
    let response = connector.call(request).await.map_err(|e| {
        use std::error::Error as _;
        e.source()
            .map_or_else(|| e.to_string(), |source| format!("{e}: {source}"))
    })?;
    let status = response.status();
    let body = aws_smithy_types::byte_stream::ByteStream::new(response.into_body())
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .into_bytes()
        .to_vec();
    if !status.is_success() {
        let preview = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        return Err(format!("HTTP {}: {preview}", status.as_u16()));
    }
    Ok(body)
}

/// What makes one run's created functions its own: a short random suffix in their names
/// and descriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunId(String);

impl RunId {
    /// A fresh one: 8 hex digits from the clock and the process id.
    pub fn new() -> Self {
        let micros = chrono::Utc::now().timestamp_micros() as u64;
        let mixed = (micros ^ u64::from(std::process::id()).rotate_left(40)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Self(format!("{:08x}", mixed >> 32))
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

/// A function to create: a subject's configuration with what coldfront chooses replaced.
#[derive(Debug, Clone)]
pub struct Plan {
    name: String,
    purpose: String,
    subject: String,
    run: RunId,
    base: FunctionConfiguration,
    zip: Vec<u8>,
    role: String,
    handler: Option<String>,
    /// Whether the subject's environment variables come along (a copy) or not (the control).
    copies_environment: bool,
    /// Whether the subject's `VpcConfig` comes along.
    vpc: bool,
    /// Whether the subject's `FileSystemConfigs` come along.
    file_systems: bool,
    /// Which differential variant of the subject it is, if one.
    variant: Option<VariantKind>,
}

impl Plan {
    /// The name the function will have.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it is for, e.g. `the bundled control for wiki`.
    pub fn purpose(&self) -> &str {
        &self.purpose
    }

    /// Which differential variant of the subject it is; none for the control and copies.
    pub fn variant(&self) -> Option<VariantKind> {
        self.variant
    }

    /// The `Description` it is created with, by which a left-behind one is recognised.
    fn description(&self) -> String {
        format!(
            "Created by coldfront for one run ({}) [{}]; deleted when the run ends, or by `coldfront aws restore`",
            self.purpose, self.run.0
        )
    }

    fn request(
        &self,
        client: &aws_sdk_lambda::Client,
    ) -> aws_sdk_lambda::operation::create_function::builders::CreateFunctionFluentBuilder {
        let base = &self.base;
        let mut request = client
            .create_function()
            .function_name(&self.name)
            .description(self.description())
            .role(&self.role)
            .set_handler(self.handler.clone())
            .code(FunctionCode::builder().zip_file(Blob::new(self.zip.clone())).build())
            .set_runtime(base.runtime().cloned())
            .set_memory_size(base.memory_size())
            .set_timeout(base.timeout())
            .set_architectures(Some(base.architectures().to_vec()).filter(|a| !a.is_empty()))
            .set_tracing_config(
                base.tracing_config()
                    .and_then(|t| t.mode().cloned())
                    .map(|mode| TracingConfig::builder().mode(mode).build()),
            );
        if self.copies_environment {
            request = request
                .set_environment(
                    base.environment()
                        .and_then(|e| e.variables())
                        .map(|variables| Environment::builder().set_variables(Some(variables.clone())).build()),
                )
                .set_layers(Some(
                    base.layers()
                        .iter()
                        .filter_map(|l| l.arn().map(str::to_owned))
                        .collect(),
                ))
                .set_ephemeral_storage(base.ephemeral_storage().cloned());
        }
        if self.vpc
            && let Some(vpc) = base.vpc_config().filter(|v| !v.subnet_ids().is_empty())
        {
            request = request.vpc_config(
                VpcConfig::builder()
                    .set_subnet_ids(Some(vpc.subnet_ids().to_vec()))
                    .set_security_group_ids(Some(vpc.security_group_ids().to_vec()))
                    .set_ipv6_allowed_for_dual_stack(vpc.ipv6_allowed_for_dual_stack())
                    .build(),
            );
        }
        if self.file_systems && !base.file_system_configs().is_empty() {
            request = request.set_file_system_configs(Some(base.file_system_configs().to_vec()));
        }
        request
    }
}

/// `{subject}-{tag}-{run}`, the subject's name shortened so that the whole fits Lambda's
/// 64 characters.
fn created_name(subject: &str, tag: &str, run: &str) -> String {
    let room = MAX_NAME_CHARS - tag.len() - run.len() - 2;
    // Function names are ASCII, so any byte index is a character boundary.
    let prefix = &subject[..subject.len().min(room)];
    format!("{prefix}-{tag}-{run}")
}

/// A zip of every file under `dir` (paths relative to it, in a stable order, with their
/// Unix permissions, so an executable `bootstrap` stays executable).
pub fn zip_directory(dir: &Path) -> Result<Vec<u8>, AwsError> {
    use std::os::unix::fs::PermissionsExt as _;
    let bad = |path: &Path, reason: String| AwsError::Package {
        path: path.to_owned(),
        reason,
    };
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current).map_err(|e| bad(&current, e.to_string()))?;
        for entry in entries {
            let path = entry.map_err(|e| bad(&current, e.to_string()))?.path();
            let metadata = std::fs::metadata(&path).map_err(|e| bad(&path, e.to_string()))?;
            if metadata.is_dir() {
                pending.push(path);
            } else {
                files.push((path, metadata.permissions().mode()));
            }
        }
    }
    files.sort();
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, mode) in files {
        let relative = path
            .strip_prefix(dir)
            .expect("found under dir")
            .to_string_lossy()
            .into_owned();
        // The bundle's marker file is the cache's, not the function's.
        if relative == ".complete" {
            continue;
        }
        let contents = std::fs::read(&path).map_err(|e| bad(&path, e.to_string()))?;
        writer
            .start_file(
                relative,
                zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    // Levels above 9 would pick zopfli, far slower for little gain.
                    .compression_level(Some(6))
                    .unix_permissions(mode & 0o777),
            )
            .and_then(|()| writer.write_all(&contents).map_err(zip::result::ZipError::from))
            .map_err(|e| bad(&path, e.to_string()))?;
    }
    let cursor = writer.finish().map_err(|e| bad(dir, e.to_string()))?;
    Ok(cursor.into_inner())
}

/// A function coldfront created, and the duty to delete it.
#[derive(Debug)]
pub struct Created {
    client: aws_sdk_lambda::Client,
    creation: Creation,
    journal: Journal,
    /// Whether it was deleted or handed to the user (`--keep`): the drop has nothing to do.
    settled: bool,
}

impl Created {
    /// Journals `plan` in `journal_dir`, creates the function, and waits with the SDK's
    /// `function_active_v2` waiter until it is `Active`. If it does not get there, it is
    /// deleted before the error returns.
    pub async fn create(client: aws_sdk_lambda::Client, plan: &Plan, journal_dir: &Path) -> Result<Self, AwsError> {
        use aws_sdk_lambda::client::Waiters as _;
        let creation = Creation {
            function: plan.name.clone(),
            description: plan.description(),
            purpose: plan.purpose.clone(),
            subject: plan.subject.clone(),
        };
        let journal = Journal::for_creation(journal_dir, &plan.name);
        journal.write_creation(&creation)?;
        let mut created = Self {
            client,
            creation,
            journal,
            settled: false,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match plan.request(&created.client).send().await {
                Ok(_) => break,
                // A role made moments ago is not yet assumable by Lambda; that settles too.
                Err(err)
                    if attempt < ATTEMPTS
                        && (retryable(&err)
                            || (err.code() == Some("InvalidParameterValueException")
                                && err.message().is_some_and(|m| m.contains("cannot be assumed")))) =>
                {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(err) => {
                    let error = api_error("CreateFunction", &plan.name, &err);
                    // Sent but unanswered, it may exist; the description check deletes it
                    // only if it is this one. A function by that name that is not this one
                    // (the conflict) is the user's: its journal goes, it stays.
                    created.settled = true;
                    match created.delete_now().await {
                        Ok(()) => {}
                        Err(AwsError::NotCreatedByColdfront { .. }) => created.journal.remove()?,
                        Err(cleanup) => eprintln!("warning: {cleanup}"),
                    }
                    return Err(error);
                }
            }
        }
        let waited = created
            .client
            .wait_until_function_active_v2()
            .function_name(&plan.name)
            .wait(UPDATE_DEADLINE)
            .await;
        if let Err(err) = waited {
            let reason = created
                .client
                .get_function_configuration()
                .function_name(&plan.name)
                .send()
                .await
                .ok()
                .and_then(|c| c.state_reason().map(str::to_owned))
                .unwrap_or_else(|| format!("waited {} s: {err}", UPDATE_DEADLINE.as_secs()));
            created.delete().await?;
            return Err(AwsError::NotActive {
                function: plan.name.clone(),
                reason,
            });
        }
        Ok(created)
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.creation.function
    }

    /// What it was created for.
    pub fn purpose(&self) -> &str {
        &self.creation.purpose
    }

    /// Deletes the function and its journal. On an error the journal stays for
    /// `coldfront aws restore`.
    pub async fn delete(mut self) -> Result<(), AwsError> {
        self.settled = true;
        self.delete_now().await
    }

    async fn delete_now(&self) -> Result<(), AwsError> {
        delete_created(&self.client, &self.creation, &self.journal).await?;
        self.journal.remove()
    }

    /// Leaves the function in place (`--keep`): forgets its journal, so neither this run
    /// nor `coldfront aws restore` deletes it. Returns its name.
    pub fn keep(mut self) -> Result<String, AwsError> {
        self.settled = true;
        self.journal.remove()?;
        Ok(self.creation.function.clone())
    }
}

impl Drop for Created {
    /// A run that ends without [`Created::delete`] or [`Created::keep`] (a panic unwinding
    /// through it, an early return) still deletes the function, through
    /// `block_on_detached`. If that fails too, the journal stays and the message
    /// names it.
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let function = self.creation.function.clone();
        eprintln!("coldfront: {function} was not deleted by the run; deleting it now");
        let creation = self.creation.clone();
        let journal = self.journal.clone();
        let deleted = crate::block_on_detached(&self.client, move |client| async move {
            delete_created(&client, &creation, &journal).await?;
            journal.remove()
        });
        match deleted {
            Ok(()) => eprintln!("coldfront: {function} deleted"),
            Err(err) => eprintln!(
                "coldfront: {function} was left behind ({err}); it is journaled in {} — run `coldfront aws restore`",
                self.journal.path().display()
            ),
        }
    }
}

/// How many functions [`create_together`] creates at once: enough that K copies take
/// about one creation's time for small K, few enough to stay under Lambda's control-plane
/// rate limits (which are retried with backoff anyway).
pub const CREATE_CONCURRENCY: usize = 4;

/// Creates every plan with [`Created::create`], at most `concurrency` (at least 1) at a
/// time; each is journaled before its own `CreateFunction` is sent, so a run killed
/// while some are being created leaves a journal for every one that may exist. Returns
/// the outcomes in the plans' order. A panic in one creation is resumed here once the
/// others have finished; those created are then deleted by their drop.
pub async fn create_together(
    client: &aws_sdk_lambda::Client,
    plans: &[Plan],
    journal_dir: &Path,
    concurrency: usize,
) -> Vec<Result<Created, AwsError>> {
    let works = plans.iter().map(|plan| {
        let (client, plan, journal_dir) = (client.clone(), plan.clone(), journal_dir.to_owned());
        async move { Created::create(client, &plan, &journal_dir).await }
    });
    crate::together(works, concurrency).await
}

/// Deletes what an earlier run created from `subject` and left behind (killed before it
/// could delete them), as the next run with that subject starts: returns their names.
pub async fn delete_left_behind(
    client: &aws_sdk_lambda::Client,
    journal_dir: &Path,
    subject: &str,
) -> Result<Vec<String>, AwsError> {
    let mut deleted = Vec::new();
    for journal in Journal::creations_in(journal_dir)? {
        let Some(creation) = journal.read_creation()? else {
            continue;
        };
        if creation.subject != subject {
            continue;
        }
        tracing::warn!(
            "{}: left behind by an interrupted run; deleting it first",
            creation.function
        );
        // Its configuration journal, if a cold start had changed it, has nothing to restore.
        for original in Journal::all_in(journal_dir)? {
            if original.read()?.is_some_and(|o| o.function == creation.function) {
                original.remove()?;
            }
        }
        if delete_created(client, &creation, &journal).await? {
            deleted.push(creation.function.clone());
        }
        journal.remove()?;
    }
    Ok(deleted)
}

/// Deletes the function `creation` names if it is still the one coldfront created (its
/// `Description` is the journaled one). Returns whether there was one to delete.
pub(crate) async fn delete_created(
    client: &aws_sdk_lambda::Client,
    creation: &Creation,
    journal: &Journal,
) -> Result<bool, AwsError> {
    let function = &creation.function;
    let found = match client.get_function_configuration().function_name(function).send().await {
        Ok(config) => config,
        Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(false),
        Err(err) => return Err(api_error("GetFunctionConfiguration", function, &err)),
    };
    let description = found.description().unwrap_or("");
    if description != creation.description {
        return Err(AwsError::NotCreatedByColdfront {
            function: function.clone(),
            journal: journal.path().to_owned(),
            expected: creation.description.clone(),
            found: description.to_owned(),
        });
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client.delete_function().function_name(function).send().await {
            Ok(_) => return Ok(true),
            Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(false),
            Err(err) if retryable(&err) && attempt < ATTEMPTS => tokio::time::sleep(backoff(attempt)).await,
            Err(err) => return Err(api_error("DeleteFunction", function, &err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_names_fit_lambdas_limit_and_keep_the_run_id() {
        assert_eq!(created_name("wiki", "cfctl", "0a1b2c3d"), "wiki-cfctl-0a1b2c3d");
        let long = "f".repeat(64);
        let name = created_name(&long, "cfctl", "0a1b2c3d");
        assert_eq!(name.len(), 64);
        assert!(name.ends_with("-cfctl-0a1b2c3d"), "{name}");
        assert_eq!(RunId::new().0.len(), 8);
    }

    /// On a current-thread runtime tasks run in turn: each here counts itself in, then
    /// yields, so every task started beside it runs before it counts itself out. Without
    /// the bound all 5 would be counted in together.
    #[tokio::test(flavor = "current_thread")]
    async fn together_runs_at_most_the_bound_at_once_and_keeps_the_order() {
        use std::sync::{Arc, Mutex};
        for (bound, expected) in [(2, 2), (1, 1), (0, 1), (9, 5)] {
            let counts = Arc::new(Mutex::new((0_usize, 0_usize)));
            let works = (0..5).map(|i| {
                let counts = counts.clone();
                async move {
                    {
                        let mut c = counts.lock().unwrap();
                        c.0 += 1;
                        c.1 = c.1.max(c.0);
                    }
                    for _ in 0..3 {
                        tokio::task::yield_now().await;
                    }
                    counts.lock().unwrap().0 -= 1;
                    i * 10
                }
            });
            let outputs = crate::together(works, bound).await;
            assert_eq!(outputs, [0, 10, 20, 30, 40]);
            assert_eq!(counts.lock().unwrap().1, expected, "bound {bound}");
        }
    }

    #[test]
    fn a_named_variant_must_match_the_subject_field_by_field() {
        use aws_sdk_lambda::types::{Architecture, FileSystemConfig};
        let function = |name: &str, sha: &str, runtime: Runtime, arch: Architecture, vpc: bool, efs: bool| {
            let mut config = FunctionConfiguration::builder()
                .function_name(name)
                .code_sha256(sha)
                .handler("app.handle")
                .runtime(runtime)
                .architectures(arch)
                .memory_size(512);
            if vpc {
                config = config.vpc_config(
                    aws_sdk_lambda::types::VpcConfigResponse::builder()
                        .subnet_ids("subnet-0a1b")
                        .build(),
                );
            }
            if efs {
                config = config.file_system_configs(
                    FileSystemConfig::builder()
                        .arn("arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0")
                        .local_mount_path("/mnt/data")
                        .build()
                        .unwrap(),
                );
            }
            Subject {
                configuration: config.build(),
                name: name.to_owned(),
                code_location: None,
            }
        };
        let (py, x86) = (Runtime::Python312, Architecture::X8664);
        let subject = function("api", "c2hh", py.clone(), x86.clone(), true, true);
        let no_vpc = function("api-novpc", "c2hh", py.clone(), x86.clone(), false, false);
        let no_efs = function("api-noefs", "c2hh", py.clone(), x86.clone(), true, false);
        subject.check_variant(&no_vpc, VariantKind::WithoutVpc).unwrap();
        subject.check_variant(&no_efs, VariantKind::WithoutEfs).unwrap();
        let err = |variant: &Subject, kind| subject.check_variant(variant, kind).unwrap_err().to_string();
        let other_code = function("api-novpc", "b3RoZXI=", py.clone(), x86.clone(), false, false);
        assert!(
            err(&other_code, VariantKind::WithoutVpc).starts_with(
                "api-novpc cannot stand for api without its VPC: its CodeSha256 is b3RoZXI=, api's is c2hh;"
            ),
            "{}",
            err(&other_code, VariantKind::WithoutVpc)
        );
        let other_runtime = function("api-novpc", "c2hh", Runtime::Nodejs22x, x86.clone(), false, false);
        assert!(
            err(&other_runtime, VariantKind::WithoutVpc).contains("its Runtime is nodejs22.x, api's is python3.12")
        );
        let arm = function("api-novpc", "c2hh", py.clone(), Architecture::Arm64, false, false);
        assert!(err(&arm, VariantKind::WithoutVpc).contains("its Architectures is [\"arm64\"], api's is [\"x86_64\"]"));
        assert!(err(&no_efs, VariantKind::WithoutVpc).contains("it is in a VPC (subnets subnet-0a1b)"));
        assert!(err(&subject, VariantKind::WithoutEfs).contains("it mounts a file system"));
        // A subject without EFS has no storage mount to measure; one in no VPC, nothing.
        let plain = function("api", "c2hh", py.clone(), x86.clone(), true, false);
        let e = plain
            .check_variant(&no_efs, VariantKind::WithoutEfs)
            .unwrap_err()
            .to_string();
        assert!(e.contains("api mounts no EFS file system"), "{e}");
        let nowhere = function("api", "c2hh", py, x86, false, false);
        let e = nowhere
            .check_variant(&no_vpc, VariantKind::WithoutVpc)
            .unwrap_err()
            .to_string();
        assert!(e.contains("api is in no VPC"), "{e}");
    }

    #[test]
    fn a_directory_zips_with_its_paths_and_permissions() {
        use std::io::Read as _;
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("handler.py"), "def handle(e, c):\n    return 1\n").unwrap();
        std::fs::write(dir.path().join("pkg/bootstrap"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(dir.path().join("pkg/bootstrap"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let zip = zip_directory(dir.path()).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        let names: Vec<String> = archive.file_names().map(|n| n.unwrap().into_owned()).collect();
        assert_eq!(names, ["handler.py", "pkg/bootstrap"]);
        let mut bootstrap = archive.by_name("pkg/bootstrap").unwrap();
        assert_eq!(bootstrap.unix_mode().map(|m| m & 0o777), Some(0o755));
        let mut text = String::new();
        bootstrap.read_to_string(&mut text).unwrap();
        assert_eq!(text, "#!/bin/sh\n");
        let err = zip_directory(&dir.path().join("missing")).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
    }

    #[tokio::test]
    async fn a_package_is_downloaded_over_http_and_a_refusal_is_named() {
        use axum::routing::get;
        let router = axum::Router::new()
            .route("/pkg.zip", get(|| async { b"PK-the-bytes".to_vec() }))
            .route(
                "/denied",
                get(|| async {
                    (
                        axum::http::StatusCode::FORBIDDEN,
                        "<Error><Code>AccessDenied</Code></Error>",
                    )
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        assert_eq!(download(&format!("{url}/pkg.zip")).await.unwrap(), b"PK-the-bytes");
        let err = download(&format!("{url}/denied?X-Amz-Signature=secret"))
            .await
            .unwrap_err();
        assert!(err.contains("HTTP 403") && err.contains("AccessDenied"), "{err}");

        // Where it cannot be read, the error names the function and the location without
        // the presigned query.
        let subject = Subject {
            configuration: FunctionConfiguration::builder().function_name("wiki").build(),
            name: "wiki".into(),
            code_location: Some(format!("{url}/denied?X-Amz-Signature=secret")),
        };
        let err = subject.code().await.unwrap_err().to_string();
        assert!(err.starts_with("wiki: cannot download its code from http://"), "{err}");
        assert!(
            err.contains("/denied to copy it: HTTP 403") && !err.contains("secret"),
            "{err}"
        );
    }
}
