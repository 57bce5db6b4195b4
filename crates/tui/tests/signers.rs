//! Signed cookies and URLs against an implementation we did not write: botocore's
//! `CloudFrontSigner` (policy text) with `cryptography` (signatures), in both directions,
//! for RSA and ECDSA keys, SHA-1 and SHA-256, canned and custom policies. The binary under
//! test is the release build users run, built here: a cargo feature turned on only in the
//! test build (serde_json's `preserve_order`, once) must not hide a difference again.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod support;

const PEERS: &[&str] = &["botocore==1.43.11", "cryptography==48.0.0"];
const EXPIRES_S: u64 = 1_900_000_000;
const START_S: u64 = 1_800_000_000;
const NOW_S: u64 = 1_850_000_000;

fn release_binary() -> PathBuf {
    support::release_binary()
}

/// A venv with botocore and cryptography under target/ (`.ci/run` creates it up front).
fn peer_python() -> PathBuf {
    support::peer_venv("venv-signers", PEERS, "import botocore.signers, cryptography")
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../edge-auth/tests/data")
        .join(name)
}

fn peer(python: &Path, args: &[&str]) -> Output {
    Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/cloudfront_signer.py"))
        .args(args)
        .output()
        .expect("python runs")
}

fn run(binary: &Path, args: &[&str]) -> Output {
    Command::new(binary)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("coldfront runs")
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout {}\nstderr {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn query_param<'a>(url: &'a str, name: &str) -> &'a str {
    url.split_once('?')
        .expect("a query")
        .1
        .split('&')
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

#[test]
fn cookies_and_urls_agree_with_botocore_in_both_directions() {
    let binary = release_binary();
    let python = peer_python();
    let url = "https://acme.wiki.example/Home?lang=en";
    let mut checked = 0;
    for (key, public) in [("rsa2048.key.pem", "rsa2048.pub.pem"), ("p256.key.pem", "p256.pub.pem")] {
        let (key, public) = (data(key), data(public));
        let (key, public) = (key.to_str().unwrap(), public.to_str().unwrap());
        for hash in ["sha1", "sha256"] {
            for canned in [true, false] {
                let what = format!("{key} {hash} {}", if canned { "canned" } else { "custom" });
                let expires = EXPIRES_S.to_string();
                let start = START_S.to_string();
                let now = NOW_S.to_string();
                let resource = if canned { url } else { "https://acme.wiki.example/*" };
                let mut policy_args = vec!["--expires-s", &expires, "--hash", hash, "--json"];
                if !canned {
                    policy_args.extend(["--not-before-s", &start, "--ip", "192.0.2.0/24"]);
                }

                // coldfront signs a URL; botocore's policy text and cryptography agree.
                let mut args = vec![
                    "auth",
                    "url",
                    "sign",
                    "--key",
                    key,
                    "--key-pair-id",
                    "K2JCJMDEHXQW5F",
                    "--url",
                    url,
                ];
                if !canned {
                    args.extend(["--resource", resource]);
                }
                args.extend(&policy_args);
                let signed = run(&binary, &args);
                assert!(signed.status.success(), "{what}: {}", text(&signed));
                let signed: Value = serde_json::from_slice(&signed.stdout).expect("JSON");
                let signed_url = signed["url"].as_str().unwrap();
                let policy = signed["policy_json"].as_str().unwrap();
                if canned {
                    let theirs = peer(&python, &["policy", url, &expires]);
                    assert_eq!(
                        String::from_utf8_lossy(&theirs.stdout).trim_end(),
                        policy,
                        "{what}: canned policy text"
                    );
                    assert!(signed_url.contains(&format!("Expires={expires}")), "{signed_url}");
                }
                assert_eq!(
                    signed_url.contains("Hash-Algorithm=SHA256"),
                    hash == "sha256",
                    "{what}: {signed_url}"
                );
                let verified = peer(
                    &python,
                    &["verify", public, hash, policy, query_param(signed_url, "Signature")],
                );
                assert!(
                    verified.status.success(),
                    "{what}: botocore/cryptography refuse coldfront's URL: {}",
                    text(&verified)
                );

                // coldfront signs cookies; the same checks.
                let mut args = vec![
                    "auth",
                    "cookie",
                    "sign",
                    "--key",
                    key,
                    "--key-pair-id",
                    "K2JCJMDEHXQW5F",
                    "--resource",
                    resource,
                ];
                if !canned {
                    args.push("--custom");
                }
                args.extend(&policy_args);
                let cookies = run(&binary, &args);
                assert!(cookies.status.success(), "{what}: {}", text(&cookies));
                let cookies: Value = serde_json::from_slice(&cookies.stdout).expect("JSON");
                let policy = cookies["policy_json"].as_str().unwrap();
                let signature = cookies["cookies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c[0] == "CloudFront-Signature")
                    .and_then(|c| c[1].as_str())
                    .unwrap();
                if canned {
                    let theirs = peer(&python, &["policy", resource, &expires]);
                    assert_eq!(
                        String::from_utf8_lossy(&theirs.stdout).trim_end(),
                        policy,
                        "{what}: cookie policy"
                    );
                }
                let verified = peer(&python, &["verify", public, hash, policy, signature]);
                assert!(
                    verified.status.success(),
                    "{what}: botocore/cryptography refuse coldfront's cookies: {}",
                    text(&verified)
                );

                // botocore signs; coldfront verifies the URL and the cookies, and refuses a
                // tampered signature.
                let kind = if canned { "canned" } else { "custom" };
                let theirs = peer(
                    &python,
                    &[
                        "sign",
                        key,
                        "K2JCJMDEHXQW5F",
                        url,
                        resource,
                        &expires,
                        if canned { "-" } else { &start },
                        if canned { "-" } else { "192.0.2.0/24" },
                        hash,
                        kind,
                    ],
                );
                assert!(theirs.status.success(), "{what}: {}", text(&theirs));
                let theirs: Value = serde_json::from_slice(&theirs.stdout).expect("JSON");
                let their_url = theirs["url"].as_str().unwrap();
                let check = run(
                    &binary,
                    &[
                        "auth",
                        "url",
                        "verify",
                        "--public-key",
                        public,
                        "--url",
                        their_url,
                        "--now-s",
                        &now,
                        "--ip",
                        "192.0.2.7",
                    ],
                );
                assert_eq!(
                    check.status.code(),
                    Some(0),
                    "{what}: coldfront refuses botocore's URL: {}",
                    text(&check)
                );
                let header: Vec<String> = theirs["cookies"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(n, v)| format!("{n}={}", v.as_str().unwrap()))
                    .collect();
                let check = run(
                    &binary,
                    &[
                        "auth",
                        "cookie",
                        "verify",
                        "--public-key",
                        public,
                        "--url",
                        url,
                        "--cookies",
                        &header.join("; "),
                        "--now-s",
                        &now,
                        "--ip",
                        "192.0.2.7",
                    ],
                );
                assert_eq!(
                    check.status.code(),
                    Some(0),
                    "{what}: coldfront refuses botocore's cookies: {}",
                    text(&check)
                );
                let sig = query_param(their_url, "Signature");
                let flipped = if sig.starts_with('A') {
                    sig.replacen('A', "B", 1)
                } else {
                    format!("A{}", &sig[1..])
                };
                let tampered = their_url.replace(sig, &flipped);
                let check = run(
                    &binary,
                    &[
                        "auth",
                        "url",
                        "verify",
                        "--public-key",
                        public,
                        "--url",
                        &tampered,
                        "--now-s",
                        &now,
                        "--ip",
                        "192.0.2.7",
                    ],
                );
                assert_eq!(
                    check.status.code(),
                    Some(1),
                    "{what}: a tampered signature: {}",
                    text(&check)
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 8);
}
