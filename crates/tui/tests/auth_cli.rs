//! `coldfront auth ...` end to end: exit codes, JSON, and errors that name what is wrong.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use edge_auth::Algorithm;
use serde_json::{Value, json};

const SECRET: &str = "an-hs256-secret-of-at-least-32-bytes!";
const NOW_S: &str = "1700000000";

fn coldfront(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coldfront"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn edge_auth_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../edge-auth/tests/data")
        .join(name)
}

fn keys_file(dir: &Path) -> PathBuf {
    let path = dir.join("keys.json");
    let keys = json!({"keys": [
        {"kid": "hs-1", "alg": "HS256", "secret": SECRET},
        {"kid": "rs-1", "alg": "RS256", "pem_file": edge_auth_data("rsa2048.pub.pem")},
    ]});
    std::fs::write(&path, keys.to_string()).unwrap();
    path
}

fn token(tenant: &str) -> String {
    let claims = json!({"sub": "ann", "tenant": tenant, "exp": 1_700_000_600});
    edge_auth::sign_hs(Algorithm::HS256, "hs-1", SECRET.as_bytes(), &claims).unwrap()
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn verify_exits_0_on_allow_and_1_on_deny_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys_file(dir.path());
    let keys = keys.to_str().unwrap();
    let allow = coldfront(&[
        "auth",
        "verify",
        "--wiki-domain",
        "wiki.example",
        "--keys",
        keys,
        "--host",
        "acme.wiki.example",
        "--now-s",
        NOW_S,
        "--json",
        &token("acme"),
    ]);
    assert_eq!(
        allow.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&allow.stderr)
    );
    let decision = stdout_json(&allow);
    assert_eq!(decision["decision"], "allow");
    assert_eq!(decision["kid"], "hs-1");
    assert_eq!(decision["claims"]["sub"], "ann");

    let deny = coldfront(&[
        "auth",
        "verify",
        "--wiki-domain",
        "wiki.example",
        "--keys",
        keys,
        "--host",
        "other.wiki.example",
        "--now-s",
        NOW_S,
        "--json",
        &token("acme"),
    ]);
    assert_eq!(deny.status.code(), Some(1));
    assert_eq!(
        stdout_json(&deny),
        json!({"decision": "deny", "reason": "wrong_tenant"})
    );

    let text = coldfront(&[
        "auth",
        "verify",
        "--wiki-domain",
        "wiki.example",
        "--keys",
        keys,
        "--host",
        "acme.wiki.example",
        "--now-s",
        "1800000000",
        &token("acme"),
    ]);
    assert_eq!(text.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&text.stdout).trim(), "deny   expired");
}

#[test]
fn verify_bad_usage_exits_2_and_names_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("keys.json");
    std::fs::write(&bad, r#"{"keys": [{"kid": "k", "secret": "x"}]}"#).unwrap();
    let out = coldfront(&[
        "auth",
        "verify",
        "--wiki-domain",
        "wiki.example",
        "--keys",
        bad.to_str().unwrap(),
        "--host",
        "a.b.c",
        "x.y.z",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("keys.json") && stderr.contains("\"alg\"") && stderr.contains("keys[0]"),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no colour codes: {stderr}");

    let missing = coldfront(&[
        "auth",
        "verify",
        "--wiki-domain",
        "wiki.example",
        "--keys",
        "/nonexistent/keys.json",
        "x.y.z",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/keys.json"));
    assert_eq!(
        coldfront(&["auth", "verify", "--wiki-domain", "wiki.example", "x.y.z"])
            .status
            .code(),
        Some(2),
        "--keys is required"
    );
}

#[test]
fn help_has_examples_for_every_command() {
    for command in [
        &["auth", "verify"][..],
        &["auth", "cf-function"],
        &["auth", "run-function"],
        &["auth", "edge-budget"],
        &["auth", "cookie", "sign"],
        &["auth", "cookie", "verify"],
        &["auth", "compare"],
        &["auth", "cwt", "sign"],
        &["auth", "cwt", "cf-function"],
        &["auth", "cwt", "verify"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let out = coldfront(&args);
        assert_eq!(out.status.code(), Some(0));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Examples:"),
            "{command:?}"
        );
    }
}

#[test]
fn generated_function_runs_in_the_local_runner() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys_file(dir.path());
    let function = dir.path().join("auth.js");
    let out = coldfront(&[
        "auth",
        "cf-function",
        "--alg",
        "HS256",
        "--keys",
        keys.to_str().unwrap(),
        "--wiki-domain",
        "wiki.example",
        "--expose-reason",
        "--out",
        function.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(report.contains("bytes of 10240"), "{report}");

    let json_out = coldfront(&[
        "auth",
        "cf-function",
        "--wiki-domain",
        "wiki.example",
        "--alg",
        "RS256",
        "--variant",
        "limbs",
        "--keys",
        keys.to_str().unwrap(),
        "--kvs",
        "--json",
    ]);
    let generated = stdout_json(&json_out);
    assert!(generated["size_bytes"].as_u64().unwrap() <= 10240);
    assert_eq!(generated["kvs_entries"][0]["key"], "jwt-rs256-rs-1");
    assert!(
        generated["code"]
            .as_str()
            .unwrap()
            .starts_with("import cf from 'cloudfront';")
    );

    for (tenant, expect_allowed) in [("acme", true), ("other", false)] {
        let event = dir.path().join("event.json");
        let body = json!({"version": "1.0", "context": {"eventType": "viewer-request"}, "request": {"method": "GET", "uri": "/",
            "headers": {"host": {"value": "acme.wiki.example"}}, "cookies": {"token": {"value": token(tenant)}}}});
        std::fs::write(&event, body.to_string()).unwrap();
        let run = coldfront(&[
            "auth",
            "run-function",
            function.to_str().unwrap(),
            "--event",
            event.to_str().unwrap(),
            "--now-s",
            NOW_S,
            "--json",
        ]);
        assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
        let outcome = stdout_json(&run);
        assert_eq!(outcome["status"].is_null(), expect_allowed, "{outcome}");
        assert!(outcome["duration_us"].as_f64().unwrap() > 0.0);
        if !expect_allowed {
            assert_eq!(outcome["status"], 401);
            assert_eq!(
                outcome["output"]["headers"]["x-edge-auth-reason"]["value"],
                "wrong_tenant"
            );
        }
    }

    let bad_event = dir.path().join("bad.json");
    std::fs::write(&bad_event, "{\"nope\": 1}").unwrap();
    let run = coldfront(&[
        "auth",
        "run-function",
        function.to_str().unwrap(),
        "--event",
        bad_event.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("bad.json"));
}

#[test]
fn cookies_sign_then_verify() {
    let key = edge_auth_data("p256.key.pem");
    let public = edge_auth_data("p256.pub.pem");
    let signed = coldfront(&[
        "auth",
        "cookie",
        "sign",
        "--key",
        key.to_str().unwrap(),
        "--key-pair-id",
        "K2JCJMDEHXQW5F",
        "--resource",
        "https://acme.wiki.example/*",
        "--expires-s",
        "1700003600",
        "--hash",
        "sha1",
        "--json",
    ]);
    assert_eq!(
        signed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let signed = stdout_json(&signed);
    assert_eq!(signed["canned"], false, "a wildcard needs a custom policy");
    let header = signed["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| format!("{}={}", pair[0].as_str().unwrap(), pair[1].as_str().unwrap()))
        .collect::<Vec<_>>()
        .join("; ");
    let verify = |url: &str| {
        coldfront(&[
            "auth",
            "cookie",
            "verify",
            "--public-key",
            public.to_str().unwrap(),
            "--url",
            url,
            "--cookies",
            &header,
            "--now-s",
            NOW_S,
        ])
    };
    assert_eq!(verify("https://acme.wiki.example/Home").status.code(), Some(0));
    let other = verify("https://other.wiki.example/Home");
    assert_eq!(other.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&other.stdout).contains("wrong_resource"));
}

#[test]
fn edge_budget_and_compare_report_with_provenance() {
    let budget = coldfront(&["auth", "edge-budget", "--quick", "--json"]);
    assert_eq!(
        budget.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&budget.stderr)
    );
    let report = stdout_json(&budget);
    let variants = report["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 4);
    // The CWT function: same claims, a smaller token than the HS256 JWT, the MAC native.
    assert_eq!(variants[3]["token_format"], "cwt");
    assert_eq!(variants[0]["token_format"], "jwt");
    assert!(
        variants[3]["token_bytes"].as_u64().unwrap() < variants[0]["token_bytes"].as_u64().unwrap(),
        "{variants:?}"
    );
    assert!(report["budget_provenance"].as_str().unwrap().contains("ASSUMED"));
    assert_eq!(report["aws"]["status"], "skipped");
    assert!(report["hs256_fallback"].as_str().unwrap().contains("HS256"));

    let compare = coldfront(&["auth", "compare", "--quick", "--json"]);
    assert_eq!(
        compare.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&compare.stderr)
    );
    let table = stdout_json(&compare);
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let keys: Vec<&str> = rows.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys[0], "signed-cookies");
    assert!(keys[1].starts_with("cloudfront-function-"), "{keys:?}");
    assert_eq!(keys[2], "lambda-at-edge");
    assert_eq!(keys[3], "cloudfront-function-cwt");
    assert_eq!(rows[3]["latency_provenance"]["kind"], "measured");
    for row in &rows[..2] {
        assert_eq!(row["latency_provenance"]["kind"], "measured");
    }
    for row in rows {
        assert_eq!(row["cost_provenance"]["kind"], "price_table");
    }
    // Lambda@Edge's invocation is not measurable here: the row says it assumes it.
    assert_eq!(rows[2]["latency_provenance"]["kind"], "assumed");
    let lambda_ms = rows[2]["latency_ms"].as_f64().unwrap();
    assert!((5.0..6.0).contains(&lambda_ms), "{lambda_ms}");
    // $0.60 per million requests + 6 billed ms at 128 MB.
    let expected_usd = 0.60 + 1e6 * 0.000_050_01 * 0.125 * lambda_ms.ceil() / 1000.0;
    assert!((rows[2]["cost_usd_per_million"].as_f64().unwrap() - expected_usd).abs() < 1e-9);
    assert_eq!(table["function_limit_bytes"], 10240);
}

#[test]
fn tenant_scoping_needs_the_wiki_domain_and_never_trusts_a_foreign_parent() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys_file(dir.path());
    let keys = keys.to_str().unwrap();
    let token = token("alpha");
    let no_domain = coldfront(&["auth", "verify", "--keys", keys, "--host", "alpha.evil.test", &token]);
    assert_eq!(no_domain.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&no_domain.stderr);
    assert!(
        stderr.contains("--wiki-domain") && stderr.contains("--no-tenant"),
        "{stderr}"
    );
    let foreign = coldfront(&[
        "auth",
        "verify",
        "--keys",
        keys,
        "--wiki-domain",
        "wiki.example",
        "--host",
        "alpha.evil.test",
        "--now-s",
        NOW_S,
        &token,
    ]);
    assert_eq!(foreign.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&foreign.stdout).contains("bad_host"));
}

#[test]
fn generated_keys_verify_tokens_and_imports_extend_the_same_key_set() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for (alg, kid) in [("RS256", "rs-a"), ("ES256", "es-a"), ("HS256", "hs-a")] {
        let made = coldfront(&[
            "auth", "keys", "generate", "--alg", alg, "--kid", kid, "--out", out, "--json",
        ]);
        assert_eq!(made.status.code(), Some(0), "{}", String::from_utf8_lossy(&made.stderr));
    }
    let keys = dir.path().join("keys.json");
    let set: Value = serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    assert_eq!(set["keys"].as_array().unwrap().len(), 3);
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("rs-a.key.pem")), 0o600);
        assert_eq!(mode(&keys), 0o600, "the key set holds an HMAC secret");
    }
    // The same kid again is refused, naming it, and nothing is overwritten.
    let again = coldfront(&[
        "auth", "keys", "generate", "--alg", "RS256", "--kid", "rs-a", "--out", out,
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("rs-a"));

    // A token signed with the generated private key verifies against the key set.
    let private = std::fs::read(dir.path().join("es-a.key.pem")).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("es-a".into());
    let claims = json!({"sub": "ann", "tenant": "acme", "exp": 1_700_000_600});
    let token = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_pem(&private).unwrap(),
    )
    .unwrap();
    let keys_arg = keys.to_str().unwrap();
    let verdict = coldfront(&[
        "auth",
        "verify",
        "--keys",
        keys_arg,
        "--wiki-domain",
        "wiki.example",
        "--host",
        "acme.wiki.example",
        "--now-s",
        NOW_S,
        &token,
    ]);
    assert_eq!(
        verdict.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verdict.stdout)
    );

    // A JWKS from an identity provider, one key without alg: imported with --alg, the
    // encryption key skipped, and the key set still verifies the earlier token.
    let jwks = dir.path().join("jwks.json");
    let public = std::fs::read_to_string(edge_auth_data("rsa2048.pub.pem")).unwrap();
    let _ = public;
    std::fs::write(
        &jwks,
        r#"{"keys": [{"kty": "RSA", "kid": "idp-1", "use": "sig", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"},
                      {"kty": "RSA", "kid": "idp-enc", "use": "enc", "n": "AQAB", "e": "AQAB"}]}"#,
    )
    .unwrap();
    let imported = coldfront(&[
        "auth",
        "keys",
        "import",
        "--jwks",
        jwks.to_str().unwrap(),
        "--keys",
        keys_arg,
    ]);
    assert_eq!(imported.status.code(), Some(2), "no alg and no --alg");
    let err = String::from_utf8_lossy(&imported.stderr);
    assert!(err.contains("idp-1") && err.contains("--alg"), "{err}");
    assert_eq!(
        err.matches("has no \"alg\"").count(),
        1,
        "the cause is said once: {err}"
    );
    let imported = coldfront(&[
        "auth",
        "keys",
        "import",
        "--jwks",
        jwks.to_str().unwrap(),
        "--alg",
        "RS256",
        "--keys",
        keys_arg,
        "--json",
    ]);
    assert_eq!(
        imported.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let report: Value = serde_json::from_slice(&imported.stdout).unwrap();
    assert_eq!(report["imported"], json!(["idp-1"]));
    assert_eq!(report["skipped"].as_array().unwrap().len(), 1);
    let verdict = coldfront(&[
        "auth",
        "verify",
        "--keys",
        keys_arg,
        "--wiki-domain",
        "wiki.example",
        "--host",
        "acme.wiki.example",
        "--now-s",
        NOW_S,
        &token,
    ]);
    assert_eq!(
        verdict.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verdict.stdout)
    );
}

#[test]
fn cwt_sign_verify_and_cf_function_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys_file(dir.path());
    let keys = keys.to_str().unwrap();
    let signed = coldfront(&[
        "auth",
        "cwt",
        "sign",
        "--keys",
        keys,
        "--tenant",
        "acme",
        "--sub",
        "ann",
        "--exp-s",
        "1700000600",
        "--json",
    ]);
    assert_eq!(
        signed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let signed = stdout_json(&signed);
    let token = signed["token"].as_str().unwrap();
    assert!(signed["cbor_bytes"].as_u64().unwrap() <= 1024);
    assert_eq!(signed["kid"], "hs-1");
    let verify = |host: &str| {
        coldfront(&[
            "auth",
            "cwt",
            "verify",
            "--keys",
            keys,
            "--wiki-domain",
            "wiki.example",
            "--host",
            host,
            "--now-s",
            NOW_S,
            token,
        ])
    };
    let allow = verify("acme.wiki.example");
    assert_eq!(
        allow.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&allow.stderr)
    );
    assert!(String::from_utf8_lossy(&allow.stdout).contains("tenant: \"acme\""));
    let deny = verify("other.wiki.example");
    assert_eq!(deny.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&deny.stdout).contains("wrong_tenant"));
    // A JWT is not a CWT; no HS256 key and no exp are usage errors.
    let jwt = coldfront(&[
        "auth",
        "cwt",
        "verify",
        "--keys",
        keys,
        "--wiki-domain",
        "wiki.example",
        "--host",
        "acme.wiki.example",
        "--json",
        &token_for_cwt_test(),
    ]);
    assert_eq!(jwt.status.code(), Some(1));
    assert_eq!(stdout_json(&jwt)["reason"], "bad_base64");
    let rs_only = dir.path().join("rs.json");
    std::fs::write(
        &rs_only,
        json!({"keys": [{"kid": "rs-1", "alg": "RS256", "pem_file": edge_auth_data("rsa2048.pub.pem")}]}).to_string(),
    )
    .unwrap();
    let no_key = coldfront(&[
        "auth",
        "cwt",
        "sign",
        "--keys",
        rs_only.to_str().unwrap(),
        "--ttl-s",
        "60",
    ]);
    assert_eq!(no_key.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("no HS256 key"));
    let no_exp = coldfront(&["auth", "cwt", "sign", "--keys", keys]);
    assert_eq!(no_exp.status.code(), Some(2));
    // The function: cf.cwt, within 10 KB, and it allows the token in the local runner.
    let out = dir.path().join("cwt.js");
    let function = coldfront(&[
        "auth",
        "cwt",
        "cf-function",
        "--keys",
        keys,
        "--wiki-domain",
        "wiki.example",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        function.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&function.stderr)
    );
    let function = stdout_json(&function);
    assert!(function["size_bytes"].as_u64().unwrap() < 10240);
    assert!(std::fs::read_to_string(&out).unwrap().contains("cf.cwt.validateToken"));
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        json!({"version": "1.0", "request": {"method": "GET", "uri": "/", "querystring": {}, "cookies": {},
            "headers": {"host": {"value": "acme.wiki.example"}, "authorization": {"value": format!("Bearer {token}")}}}})
        .to_string(),
    )
    .unwrap();
    let run = coldfront(&[
        "auth",
        "run-function",
        out.to_str().unwrap(),
        "--event",
        event.to_str().unwrap(),
        "--now-s",
        NOW_S,
        "--json",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(stdout_json(&run)["status"], Value::Null, "the request passes on");
    // With --kvs the secret leaves the code for a bound KeyValueStore entry.
    let kvs = coldfront(&[
        "auth",
        "cwt",
        "cf-function",
        "--keys",
        keys,
        "--wiki-domain",
        "wiki.example",
        "--kvs",
        "--json",
    ]);
    assert_eq!(kvs.status.code(), Some(0), "{}", String::from_utf8_lossy(&kvs.stderr));
    let kvs = stdout_json(&kvs);
    assert_eq!(kvs["is_async"], true);
    assert_eq!(kvs["kvs_entries"][0]["key"], "cwt-hs256-hs-1");
    assert!(
        kvs["kvs_entries"][0]["value"]
            .as_str()
            .unwrap()
            .starts_with(r#"{"alg":"HS256","kid":"hs-1","k":"#)
    );
    assert!(
        !kvs["code"]
            .as_str()
            .unwrap()
            .contains(&kvs["kvs_entries"][0]["value"].as_str().unwrap()[30..40])
    );
}

fn token_for_cwt_test() -> String {
    token("acme")
}
