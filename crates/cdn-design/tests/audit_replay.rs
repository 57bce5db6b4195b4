//! `cloudfront::audit::fetch` against recorded CloudFront responses, through the SDK's
//! own replay client: the real request serialisation and XML parsing, no endpoint.

use aws_sdk_cloudfront::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use cdn_design::Model;
use cdn_design::cloudfront::audit::{AuditError, diff, fetch};
use cdn_design::cloudfront::{CACHING_DISABLED_ID, CACHING_OPTIMIZED_ID, recommend};

fn data(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .expect("recorded response")
}

fn event(uri: &str, status: u16, body: String, etag: &str) -> ReplayEvent {
    ReplayEvent::new(
        http::Request::builder()
            .method("GET")
            .uri(uri)
            .body(SdkBody::empty())
            .unwrap(),
        http::Response::builder()
            .status(status)
            .header("content-type", "text/xml")
            .header("etag", etag)
            .body(SdkBody::from(body))
            .unwrap(),
    )
}

fn client(replay: &StaticReplayClient) -> aws_sdk_cloudfront::Client {
    let config = aws_sdk_cloudfront::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
        .http_client(replay.clone())
        .build();
    aws_sdk_cloudfront::Client::from_conf(config)
}

const BASE: &str = "https://cloudfront.amazonaws.com/2020-05-31";

#[tokio::test]
async fn audit_of_the_seed_distribution_lists_what_to_change() {
    let replay = StaticReplayClient::new(vec![
        event(
            &format!("{BASE}/distribution/E2SEEDTODAY/config"),
            200,
            data("get_distribution_config_seed_today.xml"),
            "E3UN6WX5RRO2AG",
        ),
        event(
            &format!("{BASE}/cache-policy/{CACHING_OPTIMIZED_ID}/config"),
            200,
            data("get_cache_policy_config_caching_optimized.xml"),
            "E23ZP02F085DFQ",
        ),
        event(
            &format!("{BASE}/cache-policy/{CACHING_DISABLED_ID}/config"),
            200,
            data("get_cache_policy_config_caching_disabled.xml"),
            "E23ZP02F085DFR",
        ),
    ]);
    let live = fetch(&client(&replay), "E2SEEDTODAY").await.expect("fetch");
    let uris: Vec<String> = replay.actual_requests().map(|r| r.uri().to_string()).collect();
    assert_eq!(uris.len(), 3, "{uris:?}");
    assert!(
        uris[0].ends_with("/2020-05-31/distribution/E2SEEDTODAY/config"),
        "{uris:?}"
    );
    assert_eq!(live.etag.as_deref(), Some("E3UN6WX5RRO2AG"));
    assert_eq!(live.cache_behaviors.len(), 2);
    assert_eq!(live.cache_behaviors[1].pattern(), "/mcp*");
    assert_eq!(live.default_cache_behavior.cache_policy_id, CACHING_DISABLED_ID);
    assert_eq!(live.cache_policies[CACHING_OPTIMIZED_ID].max_ttl, 31_536_000);

    let model = Model::preset("seed").unwrap();
    let differences = diff(&live, &recommend(&model));
    let has = |scope: &str, field: &str| differences.iter().any(|d| d.scope == scope && d.field == field);
    // Pages are not cached today: the default behaviour and the page probe differ.
    assert!(has("*", "CachePolicy"), "{differences:#?}");
    assert!(has("GET /Main_Page", "effective TTL"), "{differences:#?}");
    // No /api/* or /-/* behaviours, and /mcp* allows plain HTTP redirects differently.
    assert!(has("/api/*", "CacheBehavior"));
    assert!(has("/-/*", "CacheBehavior"));
    assert!(has("/mcp*", "ViewerProtocolPolicy"));
    // The default behaviour needs the edge auth function for private wikis.
    assert!(has("*", "FunctionAssociations"));
    // Static assets are already right.
    assert!(
        !differences
            .iter()
            .any(|d| d.scope == "/assets/*" || d.scope.contains("/assets/app")),
        "{differences:#?}"
    );
}

#[tokio::test]
async fn an_api_error_names_the_operation_and_the_distribution() {
    let replay = StaticReplayClient::new(vec![event(
        &format!("{BASE}/distribution/E2NOPE/config"),
        403,
        data("access_denied.xml"),
        "",
    )]);
    let err = fetch(&client(&replay), "E2NOPE").await.unwrap_err();
    assert!(matches!(
        err,
        AuditError::Api {
            operation: "GetDistributionConfig",
            ..
        }
    ));
    let text = err.to_string();
    assert!(text.contains("E2NOPE") && text.contains("AccessDenied"), "{text}");
}
