//! Instants as milliseconds since the Unix epoch: cheap to compare on the check path.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An instant in UTC, in milliseconds since 1970-01-01T00:00:00Z.
///
/// Serializes as an RFC 3339 string, so that stored objects, audit events and
/// JSON output read the same as the command line; deserializes from that or
/// from milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.to_datetime().and_then(|d| d.format(&Rfc3339).ok()) {
            Some(text) => s.serialize_str(&text),
            None => s.serialize_i64(self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Millis(i64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Millis(ms) => Ok(Timestamp(ms)),
            Repr::Text(text) => Timestamp::parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

/// In the API: a string, an RFC 3339 instant or a date, as [`Timestamp::PATTERN`]
/// says. (Stored bodies may also hold milliseconds, which the API refuses.)
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .pattern(Some(Timestamp::PATTERN))
            .description(Some("an RFC 3339 instant (2026-01-31T08:00:00Z) or a date (2026-01-31, midnight UTC)"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Timestamp {}

impl Timestamp {
    pub const MIN: Timestamp = Timestamp(i64::MIN);
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    /// What [`Timestamp::parse`] reads, as a regular expression for schemas: a
    /// date, or an RFC 3339 instant with seconds (months, days, hours and
    /// minutes in range; a 31st of a short month still fails to parse).
    /// Surrounding white space, which `parse` trims, is not part of it.
    pub const PATTERN: &'static str = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$";

    pub fn now() -> Timestamp {
        Timestamp::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_datetime(dt: OffsetDateTime) -> Timestamp {
        Timestamp((dt.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    pub fn to_datetime(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000_000).ok()
    }

    /// Parses RFC 3339 (`2026-01-31T08:00:00Z`, offsets allowed) or a bare date (`2026-01-31`, midnight UTC).
    pub fn parse(s: &str) -> Result<Timestamp, crate::ParseEnumError> {
        let s = s.trim();
        if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
            return Ok(Timestamp::from_datetime(dt));
        }
        let date_fmt = time::macros::format_description!("[year]-[month]-[day]");
        if let Ok(d) = time::Date::parse(s, &date_fmt) {
            return Ok(Timestamp::from_datetime(d.midnight().assume_utc()));
        }
        Err(crate::ParseEnumError::new(
            "time",
            s,
            "an RFC 3339 instant such as 2026-01-31T08:00:00Z, or a date such as 2026-01-31",
        ))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_datetime().and_then(|d| d.format(&Rfc3339).ok()) {
            Some(s) => f.write_str(&s),
            None => write!(f, "@{}ms", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn serializes_as_rfc3339_and_reads_both_forms() {
        let t = Timestamp::parse("2026-03-01T08:30:00.250Z").unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2026-03-01T08:30:00.25Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert_eq!(serde_json::from_str::<Timestamp>(&t.0.to_string()).unwrap(), t);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").unwrap_err().to_string().contains("RFC 3339"));
    }
}
