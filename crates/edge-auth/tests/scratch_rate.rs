#[test]
#[ignore]
fn rate() {
    use edge_auth::*;
    let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rsa2048.pub.pem")).unwrap();
    let key = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rsa2048.key.pem")).unwrap();
    let keys = KeySet::new()
        .with(Key::from_pem("r", Algorithm::RS256, &pem).unwrap())
        .unwrap()
        .with(Key::hmac("h", Algorithm::HS256, &[7; 32]).unwrap())
        .unwrap();
    let v = Validator::new(
        keys,
        Policy {
            tenant_claim: None,
            ..Policy::default()
        },
    );
    let claims = serde_json::json!({"sub":"ann","tenant":"acme","exp":2_000_000_000u64,"iat":1});
    let hs = sign_hs(Algorithm::HS256, "h", &[7; 32], &claims).unwrap();
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    h.kid = Some("r".into());
    let rs = jsonwebtoken::encode(
        &h,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(key.as_bytes()).unwrap(),
    )
    .unwrap();
    for (name, t) in [("hs", &hs), ("rs", &rs)] {
        assert!(v.validate(t, None, 1e9).is_allow());
        let start = std::time::Instant::now();
        let mut n = 0u64;
        while start.elapsed().as_millis() < 700 {
            for _ in 0..64 {
                std::hint::black_box(v.validate(t, None, 1e9));
            }
            n += 64;
        }
        println!("{name}: {:.0}/s", n as f64 / start.elapsed().as_secs_f64());
        let start = std::time::Instant::now();
        let mut n = 0u64;
        while start.elapsed().as_millis() < 700 {
            for _ in 0..64 {
                let _ = std::hint::black_box(v.verify_jws(t));
            }
            n += 64;
        }
        println!("{name} jws only: {:.0}/s", n as f64 / start.elapsed().as_secs_f64());
    }
}
