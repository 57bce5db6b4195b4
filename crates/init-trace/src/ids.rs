//! Identifiers in the shapes Lambda and X-Ray use.

use rand::Rng;

fn hex(rng: &mut impl Rng, digits: usize) -> String {
    (0..digits)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// A request id in Lambda's UUID form (`8-4-4-4-12` lowercase hex, version 4).
pub fn request_id() -> String {
    let mut rng = rand::rng();
    format!(
        "{}-{}-4{}-{}{}-{}",
        hex(&mut rng, 8),
        hex(&mut rng, 4),
        hex(&mut rng, 3),
        ['8', '9', 'a', 'b'][rng.random_range(0..4)],
        hex(&mut rng, 3),
        hex(&mut rng, 12)
    )
}

/// An X-Ray trace id root: `1-<8 hex epoch seconds>-<24 hex>`.
pub fn trace_root(epoch_s: i64) -> String {
    format!("1-{:08x}-{}", epoch_s, hex(&mut rand::rng(), 24))
}

/// A 16-hex-digit X-Ray segment id.
pub fn segment_id() -> String {
    hex(&mut rand::rng(), 16)
}

/// The `Lambda-Runtime-Trace-Id` header value Lambda sends with a sampled invocation.
pub fn trace_header(root: &str, parent: &str) -> String {
    format!("Root={root};Parent={parent};Sampled=1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_is_a_version_4_uuid() {
        let id = request_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(parts[2].starts_with('4'));
        assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn trace_header_has_lambda_shape() {
        let root = trace_root(0x5e34_a614);
        assert!(root.starts_with("1-5e34a614-"));
        assert_eq!(root.len(), 2 + 8 + 1 + 24);
        let header = trace_header(&root, &segment_id());
        assert!(header.ends_with(";Sampled=1"));
        assert_eq!(header.split(';').nth(1).map(str::len), Some("Parent=".len() + 16));
    }
}
