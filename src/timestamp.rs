//! The timestamp text forms of the public protocol, shared by both services.
//!
//! Clients and demo-data files write times either the way the original
//! service printed them (`2025-05-04 04:45:50+00:00`) or as RFC 3339
//! (`2025-05-04T04:45:50Z`); servers always write RFC 3339 in UTC with
//! microseconds.

use chrono::{DateTime, SecondsFormat, Utc};

/// Parses a timestamp in either accepted form; `None` if it is neither.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// Formats a time the way servers send it.
pub fn format(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Converts a protobuf timestamp to a UTC time (`None` if out of range).
pub fn from_proto(time: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.seconds, u32::try_from(time.nanos).ok()?)
}

/// Converts a UTC time to a protobuf timestamp.
pub fn to_proto(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_original_form_and_rfc3339() {
        let original = parse("2025-05-04 04:45:50+00:00").unwrap();
        let rfc = parse("2025-05-04T04:45:50Z").unwrap();
        assert_eq!(original, rfc);
        assert_eq!(format(original), "2025-05-04T04:45:50.000000Z");
    }

    #[test]
    fn accepts_offsets_and_fractions() {
        let time = parse("2025-05-04 06:45:50.5+02:00").unwrap();
        assert_eq!(format(time), "2025-05-04T04:45:50.500000Z");
    }

    #[test]
    fn refuses_garbage_and_missing_offsets() {
        assert!(parse("yesterday").is_none());
        assert!(parse("2025-05-04 04:45:50").is_none());
        assert!(parse("").is_none());
    }

    #[test]
    fn proto_round_trip_keeps_microseconds() {
        let time = parse("2025-05-04T04:45:50.123456Z").unwrap();
        assert_eq!(from_proto(&to_proto(time)), Some(time));
    }
}
