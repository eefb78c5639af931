//! Identifiers: the one rule every id and name meets, the folded form in which
//! look-alike names collide, and the keys that join several names.
//!
//! Ids travel through URL paths, `Location` headers, file names, CSV cells and
//! terminals, and administrators tell users apart by reading them. So an id is
//! short, visible and free of characters that change how the text around it
//! is shown: [`validate_id`] is called at every entrance (API, CLI, CSV, AOT
//! XML), and [`fold`] is how the model compares names, so that `Admin`,
//! `admin` and `аdmin` (Cyrillic `а`) cannot be two users. The names of
//! security objects (roles, duties, privileges, entry points, policies,
//! extensions) are also file names: `export aot` writes each to `<Name>.xml`,
//! so they meet the file-name rule at every entrance, not only at the AOT import.

use crate::model::ObjectKind;
use std::fmt;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Longest id, in UTF-8 bytes. User ids may be email addresses (at most 254
/// characters), D365 AOT names are at most 81; 255 fits both and keeps every
/// URL that names an object, percent-encoded, well under proxies' limits.
pub const MAX_ID_BYTES: usize = 255;

/// Why an id is refused. Messages quote the id escaped (`{:?}`), so that an
/// invisible character shows as `\u{200b}` instead of vanishing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("the {kind} id cannot be empty")]
    Empty { kind: ObjectKind },
    #[error("{kind} id {start:?}… is {bytes} bytes long; ids are at most {MAX_ID_BYTES} bytes")]
    TooLong { kind: ObjectKind, start: String, bytes: usize },
    #[error("{kind} id {id:?} starts or ends with white space")]
    Padded { kind: ObjectKind, id: String },
    #[error("{kind} id {id:?} holds {what} ({}) at character {position}; ids are visible text", Codepoint(*ch))]
    Invisible { kind: ObjectKind, id: String, ch: char, what: &'static str, position: usize },
    #[error("{kind} id {id:?} is not a name: '.' and '..' mean a folder in URL paths and file names")]
    Dots { kind: ObjectKind, id: String },
    #[error("organization id {id:?} contains ';', which separates organizations in assignments.csv")]
    Semicolon { id: String },
    #[error("{kind} name {id:?} holds '{ch}' at character {position}; security object names are AOT file names (<Name>.xml), and file names cannot hold {FILE_NAME_FORBIDDEN}")]
    FileName { kind: ObjectKind, id: String, ch: char, position: usize },
}

struct Codepoint(char);

impl fmt::Display for Codepoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U+{:04X}", u32::from(self.0))
    }
}

/// Characters a file name cannot hold on Windows, where D365 developers keep
/// their AOT folders (`/` separates folders everywhere, `\` on Windows).
pub const FILE_NAME_FORBIDDEN: &str = r#"/ \ : * ? " < > |"#;

/// Checks `id` as the id or name of an object of `kind`: not empty, at most
/// [`MAX_ID_BYTES`], no white space at either end, no control, format
/// (zero-width, bidirectional), private-use, unassigned or otherwise invisible
/// character, no white space but the plain space, not `.` or `..`; for
/// organizations no `;`; and for security objects (`kind.is_deployable()`,
/// whose names are AOT file names) none of [`FILE_NAME_FORBIDDEN`].
pub fn validate_id(kind: ObjectKind, id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if id.len() > MAX_ID_BYTES {
        // Never echo a huge id back: its start is enough to recognise it.
        let start: String = id.chars().take(32).collect();
        return Err(IdError::TooLong { kind, start, bytes: id.len() });
    }
    if id.trim() != id {
        return Err(IdError::Padded { kind, id: id.to_string() });
    }
    // ASCII ids (every D365 name) need only the control-character test.
    for (position, ch) in id.chars().enumerate() {
        if let Some(what) = invisible(ch) {
            return Err(IdError::Invisible { kind, id: id.to_string(), ch, what, position: position + 1 });
        }
    }
    if id == "." || id == ".." {
        return Err(IdError::Dots { kind, id: id.to_string() });
    }
    if kind == ObjectKind::Organization && id.contains(';') {
        return Err(IdError::Semicolon { id: id.to_string() });
    }
    if kind.is_deployable()
        && let Some((position, ch)) = id.chars().enumerate().find(|(_, c)| matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|'))
    {
        return Err(IdError::FileName { kind, id: id.to_string(), ch, position: position + 1 });
    }
    Ok(())
}

/// What makes `ch` unfit for an id, if anything.
fn invisible(ch: char) -> Option<&'static str> {
    if ch.is_ascii() {
        return ch.is_ascii_control().then_some("a control character");
    }
    match ch.general_category() {
        GeneralCategory::Control => Some("a control character"),
        // Zero-width characters, joiners, bidirectional embeddings and
        // overrides (U+200B–U+200F, U+202A–U+202E, U+2066–U+2069), U+FEFF, ...
        GeneralCategory::Format => Some("a format character"),
        GeneralCategory::PrivateUse => Some("a private-use character"),
        GeneralCategory::Unassigned | GeneralCategory::Surrogate => Some("an unassigned code point"),
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => Some("a line break"),
        GeneralCategory::SpaceSeparator => Some("a space other than U+0020"),
        _ if IGNORABLE_VISIBLE_CATEGORY.iter().any(|(lo, hi)| (*lo..=*hi).contains(&ch)) => Some("an invisible character"),
        _ => None,
    }
}

/// Default-ignorable code points (Unicode's DerivedCoreProperties) that are
/// not format characters: fillers and variation selectors, which render as
/// nothing and so make a second, identical-looking name.
const IGNORABLE_VISIBLE_CATEGORY: &[(char, char)] = &[
    ('\u{034F}', '\u{034F}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180D}'),
    ('\u{180F}', '\u{180F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{E0100}', '\u{E01EF}'),
];

/// The form in which names are compared for uniqueness: two names with the
/// same fold are the same name to a reader, so the model holds one of them.
///
/// NFKC (full-width `Ａ`, ligature `ﬁ`), then lower case (D365 names are
/// case-insensitive), then each non-ASCII character replaced by its UTS #39
/// confusable prototype (Cyrillic `а` → `a`, Greek `ο` → `o`) and invisible
/// ones dropped. ASCII characters are left alone: the prototypes also join
/// `rn`/`m`, `1`/`l` and `0`/`O`, which real D365 names and user ids use side
/// by side; the attack this stops is a non-Latin letter posing as a Latin one.
pub fn fold(name: &str) -> String {
    if name.is_ascii() {
        return name.to_ascii_lowercase();
    }
    let lower = name.nfkc().collect::<String>().to_lowercase();
    let mut out = String::with_capacity(lower.len());
    let mut buf = [0; 4];
    for ch in lower.chars() {
        if ch.is_ascii() {
            out.push(ch);
        } else {
            for p in unicode_security::skeleton(ch.encode_utf8(&mut buf)) {
                out.extend(p.to_lowercase());
            }
        }
    }
    out
}

/// Joins names into one key, `a/b`, escaping `%` as `%25` and `/` as `%2F`
/// inside each part, so that every list of names gives a different key (the
/// names `kx` + `ka/kb` and `kx/ka` + `kb` must not meet). Names without `/`
/// or `%` join exactly as before, so stored keys need no migration. The
/// escape is URL percent-encoding, so a key is also a valid URL path.
pub fn join_key(parts: &[&str]) -> String {
    let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push('/');
        }
        for ch in part.chars() {
            match ch {
                '%' => key.push_str("%25"),
                '/' => key.push_str("%2F"),
                c => key.push(c),
            }
        }
    }
    key
}

/// The inverse of [`join_key`] for keys of `N` parts; `None` when `key` does
/// not have exactly `N` parts or holds an escape [`join_key`] does not make.
pub fn split_key<const N: usize>(key: &str) -> Option<[String; N]> {
    let mut parts = key.split('/');
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for slot in &mut out {
        *slot = unescape(parts.next()?)?;
    }
    parts.next().is_none().then_some(out)
}

fn unescape(part: &str) -> Option<String> {
    let mut out = String::with_capacity(part.len());
    let mut rest = part;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 3)?;
        out.push(match code {
            "25" => '%',
            "2F" | "2f" => '/',
            _ => return None,
        });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ObjectKind::{Organization, Role, User};

    #[test]
    fn keys_are_unambiguous_and_unchanged_for_plain_names() {
        assert_eq!(join_key(&["alice", "Clerk"]), "alice/Clerk");
        let a = join_key(&["kx", "ka/kb"]);
        let b = join_key(&["kx/ka", "kb"]);
        assert_ne!(a, b);
        assert_eq!(a, "kx/ka%2Fkb");
        assert_eq!(split_key::<2>(&a), Some(["kx".to_string(), "ka/kb".to_string()]));
        assert_eq!(split_key::<2>(&b), Some(["kx/ka".to_string(), "kb".to_string()]));
        let odd = ["50%/x", "%2F"];
        assert_eq!(split_key::<2>(&join_key(&odd)), Some(odd.map(String::from)));
        assert_eq!(split_key::<2>("a/b/c"), None);
        assert_eq!(split_key::<2>("a%zz/b"), None);
        assert_eq!(split_key::<2>("a"), None);
    }

    #[test]
    fn ids_are_short_visible_and_unpadded() {
        assert!(validate_id(User, "alice@contoso.com").is_ok());
        assert!(validate_id(User, "José Müller").is_ok());
        assert!(validate_id(User, "ops/team").is_ok(), "user ids are not file names");
        assert!(validate_id(ObjectKind::SodRule, "ka/kb").is_ok(), "nor are rule names");
        for (kind, bad) in [(Role, "ka/kb"), (ObjectKind::Duty, "a\\b"), (ObjectKind::Privilege, "a:b"), (ObjectKind::EntryPoint, "x|y"), (ObjectKind::Policy, "p?")] {
            assert!(matches!(validate_id(kind, bad), Err(IdError::FileName { .. })), "{kind} {bad:?}");
        }
        let e = validate_id(Role, "ka/kb").unwrap_err();
        assert_eq!(e.to_string(), r#"role name "ka/kb" holds '/' at character 3; security object names are AOT file names (<Name>.xml), and file names cannot hold / \ : * ? " < > |"#);
        let long = "r".repeat(100_000);
        let e = validate_id(Role, &long).unwrap_err();
        assert!(e.to_string().contains("100000 bytes long; ids are at most 255 bytes"), "{e}");
        assert!(e.to_string().len() < 200, "the message does not echo the id");
        assert!(validate_id(Role, &"r".repeat(MAX_ID_BYTES)).is_ok());
        for bad in ["ad\u{200B}min", "\u{202E}nimda", "admin\u{FEFF}", "a\u{2066}b", "a\u{FE0F}", "a\u{3164}b", "a\u{00A0}b", "a\u{2028}b", "a\tb", "a\u{E000}"] {
            assert!(matches!(validate_id(User, bad), Err(IdError::Invisible { .. })), "{bad:?}");
        }
        let e = validate_id(User, "ad\u{200B}min").unwrap_err();
        assert_eq!(e.to_string(), "user id \"ad\\u{200b}min\" holds a format character (U+200B) at character 3; ids are visible text");
        assert!(matches!(validate_id(User, " alice"), Err(IdError::Padded { .. })));
        assert!(matches!(validate_id(User, ""), Err(IdError::Empty { .. })));
        assert!(matches!(validate_id(User, ".."), Err(IdError::Dots { .. })));
        assert!(matches!(validate_id(Organization, "US;MF"), Err(IdError::Semicolon { .. })));
        assert!(validate_id(User, "US;MF").is_ok());
    }

    #[test]
    fn look_alikes_fold_together() {
        assert_eq!(fold("Admin"), "admin");
        assert_eq!(fold("\u{0430}dmin"), "admin", "Cyrillic а");
        assert_eq!(fold("Admin\u{200B}"), "admin", "zero-width space");
        assert_eq!(fold("ＡＤＭＩＮ"), "admin", "full width");
        assert_eq!(fold("\u{0391}DMIN"), "admin", "Greek capital alpha");
        // ASCII look-alikes stay apart: real names hold both.
        assert_ne!(fold("rn"), fold("m"));
        assert_ne!(fold("User1"), fold("Userl"));
    }
}
