//! The two logs' time formats, read exactly: a standard log's UTC `date` and `time`, a
//! real-time log's `timestamp` in seconds with milliseconds (docs/sources.md, "CloudFront
//! access logs").

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian).
pub(super) fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Seconds since midnight of `HH:MM:SS`.
pub(super) fn parse_time(text: &str) -> Option<i64> {
    let mut parts = text.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.len() != 2 || m.len() != 2 || s.len() != 2 {
        return None;
    }
    let (h, m, s): (i64, i64, i64) = (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m) && (0..61).contains(&s)).then_some(h * 3600 + m * 60 + s)
}

/// Milliseconds since the epoch of `1580246471.178`, exactly (no floating point); digits
/// past the millisecond are dropped.
pub(super) fn parse_timestamp_ms(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: i64 = whole.parse().ok()?;
    let mut ms = 0i64;
    for (i, digit) in fraction.bytes().take(3).enumerate() {
        ms += i64::from(digit - b'0') * 10i64.pow(2 - i as u32);
    }
    seconds.checked_mul(1000)?.checked_add(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_times_and_timestamps_are_exact() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2019-12-04"), Some(18_234));
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2019-13-01"), None);
        assert_eq!(parse_time("21:02:31"), Some(75_751));
        assert_eq!(parse_time("24:00:00"), None);
        assert_eq!(parse_timestamp_ms("1580246471.178"), Some(1_580_246_471_178));
        assert_eq!(parse_timestamp_ms("1580246471.1"), Some(1_580_246_471_100));
        assert_eq!(parse_timestamp_ms("1580246471"), Some(1_580_246_471_000));
        assert_eq!(parse_timestamp_ms("1580246471.1789"), Some(1_580_246_471_178));
        assert_eq!(parse_timestamp_ms("-1"), None);
        assert_eq!(parse_timestamp_ms("2020-01-01"), None);
    }
}
