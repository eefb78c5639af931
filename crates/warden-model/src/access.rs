//! Access levels and grants: the six permissions D365 names on an entry point.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One permission on an entry point. The discriminant is the bit used in [`AccessSet`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Access {
    Read = 0,
    Update = 1,
    Create = 2,
    Correct = 3,
    Delete = 4,
    Invoke = 5,
}

impl Access {
    pub const ALL: [Access; 6] = [
        Access::Read,
        Access::Update,
        Access::Create,
        Access::Correct,
        Access::Delete,
        Access::Invoke,
    ];

    pub const fn bit(self) -> u8 {
        1 << (self as u8)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Access::Read => "Read",
            Access::Update => "Update",
            Access::Create => "Create",
            Access::Correct => "Correct",
            Access::Delete => "Delete",
            Access::Invoke => "Invoke",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Access {
    type Err = crate::ParseEnumError;
    /// Case-insensitive, so that `--access read` works on the command line.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Access::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| crate::ParseEnumError::new("access", s, "Read, Update, Create, Correct, Delete, Invoke"))
    }
}

/// A set of [`Access`] values packed in one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AccessSet(pub u8);

/// Only the six access bits: a value above 63 names no access, and would be
/// silently dropped by the engine.
/// An integral number written with a fraction (`49.0`, which JSON Schema
/// counts as an integer) is read as that integer.
impl<'de> Deserialize<'de> for AccessSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AccessSet, D::Error> {
        struct Bits;
        impl serde::de::Visitor<'_> for Bits {
            type Value = AccessSet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a set of accesses: an integer from 0 to 63 (Read 1, Update 2, Create 4, Correct 8, Delete 16, Invoke 32)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<AccessSet, E> {
                if v > u64::from(AccessSet::ALL.0) {
                    return Err(E::custom(format!("{v} is not a set of accesses (at most 63: Read 1, Update 2, Create 4, Correct 8, Delete 16, Invoke 32)")));
                }
                Ok(AccessSet(v as u8))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<AccessSet, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::invalid_value(serde::de::Unexpected::Signed(v), &self)),
                }
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<AccessSet, E> {
                if v.fract() == 0.0 && (0.0..=255.0).contains(&v) {
                    self.visit_u64(v as u64)
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
                }
            }
        }
        d.deserialize_any(Bits)
    }
}

/// In JSON: the bit mask, bit n set for the access with discriminant n
/// (Read 1, Update 2, Create 4, Correct 8, Delete 16, Invoke 32).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for AccessSet {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Integer))
            .minimum(Some(0))
            .maximum(Some(AccessSet::ALL.0 as u32))
            .description(Some("a bit mask of accesses: Read 1, Update 2, Create 4, Correct 8, Delete 16, Invoke 32"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for AccessSet {}

impl AccessSet {
    pub const EMPTY: AccessSet = AccessSet(0);
    pub const ALL: AccessSet = AccessSet(0b11_1111);

    pub const fn contains(self, access: Access) -> bool {
        self.0 & access.bit() != 0
    }
    pub fn insert(&mut self, access: Access) {
        self.0 |= access.bit();
    }
    pub fn remove(&mut self, access: Access) {
        self.0 &= !access.bit();
    }
    pub const fn union(self, other: AccessSet) -> AccessSet {
        AccessSet(self.0 | other.0)
    }
    pub const fn difference(self, other: AccessSet) -> AccessSet {
        AccessSet(self.0 & !other.0)
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = Access> {
        Access::ALL.into_iter().filter(move |a| self.contains(*a))
    }
}

impl fmt::Display for AccessSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for a in self.iter() {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            f.write_str(a.as_str())?;
        }
        Ok(())
    }
}

/// What a grant says about one access: D365's `Allow` / `Deny`, or absent (unset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    Allow,
    Deny,
}

/// A grant on one entry point: each access is Allow, Deny or unset.
///
/// Kept as two disjoint bit sets because that is what the engine evaluates: the
/// union of allows minus the union of denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grant {
    pub allow: AccessSet,
    pub deny: AccessSet,
}

impl Grant {
    pub fn get(&self, access: Access) -> Option<Permission> {
        if self.deny.contains(access) {
            Some(Permission::Deny)
        } else if self.allow.contains(access) {
            Some(Permission::Allow)
        } else {
            None
        }
    }

    /// Sets one access; setting keeps the two sets disjoint.
    pub fn set(&mut self, access: Access, permission: Option<Permission>) {
        self.allow.remove(access);
        self.deny.remove(access);
        match permission {
            Some(Permission::Allow) => self.allow.insert(access),
            Some(Permission::Deny) => self.deny.insert(access),
            None => {}
        }
    }

    pub fn allow_all() -> Grant {
        Grant { allow: AccessSet::ALL, deny: AccessSet::EMPTY }
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for a in Access::ALL {
            match self.get(a) {
                Some(Permission::Allow) => parts.push(format!("{a}:Allow")),
                Some(Permission::Deny) => parts.push(format!("{a}:Deny")),
                None => {}
            }
        }
        if parts.is_empty() {
            f.write_str("(no permissions)")
        } else {
            f.write_str(&parts.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_sets_read_only_the_six_access_bits() {
        let g: Grant = serde_json::from_str(r#"{"allow": 63, "deny": 0}"#).unwrap();
        assert_eq!(g.allow, AccessSet::ALL);
        assert_eq!(serde_json::to_string(&g).unwrap(), r#"{"allow":63,"deny":0}"#);
        let g: Grant = serde_json::from_str(r#"{"allow": 49.0, "deny": 2}"#).unwrap();
        assert_eq!(g.allow, AccessSet(49));
        for bad in [r#"{"allow": 64, "deny": 0}"#, r#"{"allow": 1, "deny": 200}"#, r#"{"allow": 256, "deny": 0}"#, r#"{"allow": -1, "deny": 0}"#, r#"{"allow": 1.5, "deny": 0}"#, r#"{"allow": "1", "deny": 0}"#] {
            let e = serde_json::from_str::<Grant>(bad).expect_err(bad).to_string();
            assert!(e.contains("set of accesses"), "{bad}: {e}");
        }
    }
}
