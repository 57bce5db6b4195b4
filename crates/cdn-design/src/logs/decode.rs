//! URL-decoding of log fields. CloudFront writes spaces, control characters, bytes of 127
//! and above, and ``< > " # % { } | \ ^ ~ [ ] ` '`` as `%XX` (RFC 1738) in standard logs
//! (docs/sources.md, "CloudFront access logs"), so one decoding gives back the request as
//! the viewer sent it: a `%20` in the URL is logged as `%2520` and decodes to `%20`.

/// Decodes `%XX` escapes once; a `%` not followed by two hex digits is kept as it is.
pub(crate) fn url_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::url_decode;

    #[test]
    fn decodes_once_and_keeps_stray_percents() {
        assert_eq!(url_decode("Mozilla/5.0%20(X11)"), "Mozilla/5.0 (X11)");
        assert_eq!(url_decode("/a%2520b"), "/a%20b", "logged %20 is the viewer's %20");
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("%zz%4"), "%zz%4");
        assert_eq!(url_decode("%C3%A9t%C3%A9"), "été");
        assert_eq!(url_decode("plain"), "plain");
    }
}
