//! Turning what a person types (`NAME` or `TYPE/NAME`) into an entry point key.

use warden_model::{EntryPointKey, Model};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("unknown entry point '{0}'")]
    Unknown(String),
    #[error("entry point name '{name}' is ambiguous; use one of: {}", candidates.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", "))]
    Ambiguous { name: String, candidates: Vec<EntryPointKey> },
    #[error(transparent)]
    BadType(#[from] warden_model::ParseEnumError),
}

/// Resolves `TYPE/NAME` exactly, or a bare `NAME` when one type has it. Exact
/// spelling wins; otherwise a case-insensitive match is accepted when unique,
/// because D365 names are case-insensitive.
pub fn resolve_entry_point(model: &Model, text: &str) -> Result<EntryPointKey, ResolveError> {
    let text = text.trim();
    let known = |k: &EntryPointKey| model.entry_points.contains_key(k);
    if let Some((kind, name)) = text.split_once('/') {
        let key = EntryPointKey::new(kind.parse()?, name);
        if known(&key) {
            return Ok(key);
        }
        let folded: Vec<&EntryPointKey> =
            model.entry_points.keys().filter(|k| k.kind == key.kind && k.name.eq_ignore_ascii_case(name)).collect();
        return match folded.as_slice() {
            [one] => Ok((*one).clone()),
            _ => Err(ResolveError::Unknown(text.to_string())),
        };
    }
    let exact: Vec<&EntryPointKey> = model.entry_points.keys().filter(|k| k.name == text).collect();
    let candidates = if exact.is_empty() {
        model.entry_points.keys().filter(|k| k.name.eq_ignore_ascii_case(text)).collect()
    } else {
        exact
    };
    match candidates.as_slice() {
        [] => Err(ResolveError::Unknown(text.to_string())),
        [one] => Ok((*one).clone()),
        many => Err(ResolveError::Ambiguous { name: text.to_string(), candidates: many.iter().map(|k| (*k).clone()).collect() }),
    }
}
