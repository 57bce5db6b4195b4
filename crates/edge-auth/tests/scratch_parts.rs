#[test]
#[ignore]
fn parts() {
    use base64::Engine as _;
    let msg = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImgifQ.eyJleHAiOjIwMDAwMDAwMDAsImlhdCI6MSwic3ViIjoiYW5uIiwidGVuYW50IjoiYWNtZSJ9";
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &[7; 32]);
    let tag = aws_lc_rs::hmac::sign(&key, msg);
    let bench = |name: &str, f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        let mut n = 0u64;
        while start.elapsed().as_millis() < 300 {
            for _ in 0..64 {
                f();
            }
            n += 64;
        }
        println!("{name}: {:.0} ns", start.elapsed().as_nanos() as f64 / n as f64);
    };
    bench("hmac verify", &mut || {
        std::hint::black_box(aws_lc_rs::hmac::verify(&key, std::hint::black_box(msg), tag.as_ref()).is_ok());
    });
    let seg = "eyJleHAiOjIwMDAwMDAwMDAsImlhdCI6MSwic3ViIjoiYW5uIiwidGVuYW50IjoiYWNtZSJ9";
    bench("b64 decode claims", &mut || {
        std::hint::black_box(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(std::hint::black_box(seg))
                .unwrap(),
        );
    });
    let claims =
        br#"{"exp":2000000000,"iat":1,"sub":"ann","tenant":"acme","iss":"https://login.example","aud":"wiki"}"#;
    bench("serde_json Value claims", &mut || {
        std::hint::black_box(serde_json::from_slice::<serde_json::Value>(std::hint::black_box(claims)).unwrap());
    });
    let header = br#"{"alg":"HS256","typ":"JWT","kid":"h"}"#;
    bench("serde_json Value header", &mut || {
        std::hint::black_box(serde_json::from_slice::<serde_json::Value>(std::hint::black_box(header)).unwrap());
    });
}
