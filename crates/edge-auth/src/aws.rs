//! The authoritative check: publish the function to CloudFront's DEVELOPMENT stage and run
//! `TestFunction`, which reports `ComputeUtilization` (0–100, the share of the maximum
//! allowed time; 71+ is likely throttled; docs/sources.md, "CloudFront Functions limits").
//!
//! Credentials come only from environment variables or the shared profile files, never
//! from the instance metadata service, and the region is fixed to us-east-1 (CloudFront's
//! control plane), so nothing is contacted unless the user has configured credentials and
//! asked for this path.

use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::types::{FunctionConfig, FunctionRuntime, FunctionStage};
use aws_smithy_types::Blob;
use serde::Serialize;

use crate::Error;

/// What CloudFront said about one test run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestFunctionReport {
    /// The function's name.
    pub function_name: String,
    /// The stage tested (always DEVELOPMENT here).
    pub stage: String,
    /// `ComputeUtilization`, 0–100, when CloudFront reported it.
    pub compute_utilization: Option<u32>,
    /// CloudFront's reading of the figure: fine (≤ 50), optimise (51–70), likely throttled (71+).
    pub utilization_band: Option<String>,
    /// The function's error, if it failed at the edge.
    pub function_error_message: Option<String>,
    /// The function's output (JSON text).
    pub function_output: Option<String>,
    /// The function's log lines.
    pub execution_logs: Vec<String>,
    /// Whether the function was created (true) or updated (false).
    pub created: bool,
}

/// The CloudFront client over the standard credential sources minus instance metadata, or
/// why the AWS path is skipped.
pub async fn client_from_environment() -> Result<Client, String> {
    use aws_config::meta::credentials::CredentialsProviderChain;
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_cloudfront::config::ProvideCredentials as _;
    let chain = CredentialsProviderChain::first_try(
        "environment",
        aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
    )
    .or_else(
        "profile",
        aws_config::profile::ProfileFileCredentialsProvider::builder().build(),
    );
    if let Err(err) = chain.provide_credentials().await {
        return Err(format!(
            "no AWS credentials in the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) or the profile files (AWS_PROFILE, ~/.aws): {err}"
        ));
    }
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(chain)
        .load()
        .await;
    Ok(Client::new(&config))
}

fn aws_error(operation: &'static str, err: impl std::error::Error) -> Error {
    use std::fmt::Write as _;
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let _ = write!(message, ": {cause}");
        source = cause.source();
    }
    Error::Aws { operation, message }
}

/// Creates or updates `name` (DEVELOPMENT stage) with `code`, then runs `TestFunction` on
/// `event` and reads `ComputeUtilization`. The LIVE stage is never touched.
pub async fn publish_and_test(
    client: &Client,
    name: &str,
    code: &str,
    event: &serde_json::Value,
) -> Result<TestFunctionReport, Error> {
    let config = FunctionConfig::builder()
        .comment("coldfront edge-auth: JWT check (generated; DEVELOPMENT stage test)")
        .runtime(FunctionRuntime::CloudfrontJs20)
        .build()
        .map_err(|e| aws_error("FunctionConfig", e))?;
    let existing = client
        .describe_function()
        .name(name)
        .stage(FunctionStage::Development)
        .send()
        .await;
    let (etag, created) = match existing {
        Ok(found) => {
            let etag = found.e_tag().unwrap_or_default().to_owned();
            client
                .update_function()
                .name(name)
                .if_match(etag)
                .function_config(config)
                .function_code(Blob::new(code.as_bytes()))
                .send()
                .await
                .map_err(|e| aws_error("UpdateFunction", e))?;
            // UpdateFunction returns its ETag in a header CloudFront's model spells `ETtag`,
            // which the SDK does not reliably surface; asking again is unambiguous.
            let current = client
                .describe_function()
                .name(name)
                .stage(FunctionStage::Development)
                .send()
                .await
                .map_err(|e| aws_error("DescribeFunction", e))?;
            (current.e_tag().unwrap_or_default().to_owned(), false)
        }
        Err(err)
            if err.as_service_error().is_some_and(
                aws_sdk_cloudfront::operation::describe_function::DescribeFunctionError::is_no_such_function_exists,
            ) =>
        {
            let made = client
                .create_function()
                .name(name)
                .function_config(config)
                .function_code(Blob::new(code.as_bytes()))
                .send()
                .await
                .map_err(|e| aws_error("CreateFunction", e))?;
            (made.e_tag().unwrap_or_default().to_owned(), true)
        }
        Err(err) => return Err(aws_error("DescribeFunction", err)),
    };
    let tested = client
        .test_function()
        .name(name)
        .if_match(etag)
        .stage(FunctionStage::Development)
        .event_object(Blob::new(event.to_string().into_bytes()))
        .send()
        .await
        .map_err(|e| aws_error("TestFunction", e))?;
    let result = tested.test_result();
    let compute_utilization = result
        .and_then(|r| r.compute_utilization())
        .and_then(|u| u.trim().parse::<u32>().ok());
    Ok(TestFunctionReport {
        function_name: name.to_owned(),
        stage: "DEVELOPMENT".to_owned(),
        compute_utilization,
        utilization_band: compute_utilization.map(|u| {
            match u {
                0..=50 => "fine (1-50)",
                51..=70 => "optimise (51-70)",
                _ => "likely throttled (71-100)",
            }
            .to_owned()
        }),
        function_error_message: result.and_then(|r| r.function_error_message()).map(str::to_owned),
        function_output: result.and_then(|r| r.function_output()).map(str::to_owned),
        execution_logs: result.map(|r| r.function_execution_logs().to_vec()).unwrap_or_default(),
        created,
    })
}
