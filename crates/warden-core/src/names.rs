//! Finding objects by the name a person typed.
//!
//! D365 names are case-insensitive, and the model refuses two names that differ
//! only in case, so a unique case-insensitive match is the object meant. When
//! nothing matches, a short "did you mean" list saves a trip to a listing.


/// The stored name that `text` means: the exact spelling, else the one name
/// equal to it ignoring case.
pub(crate) fn find<'a, I, S>(names: I, text: &str) -> Option<&'a S>
where
    I: IntoIterator<Item = &'a S>,
    S: AsRef<str> + ?Sized + 'a,
{
    let mut folded = None;
    let mut folded_count = 0;
    for name in names {
        let n = name.as_ref();
        if n == text {
            return Some(name);
        }
        if n.eq_ignore_ascii_case(text) {
            folded = Some(name);
            folded_count += 1;
        }
    }
    if folded_count == 1 { folded } else { None }
}

/// [`find`] over a map's keys: the exact key in O(log n), and only on a miss
/// the scan for a case-insensitive match, so bulk imports stay fast.
pub(crate) fn find_in<'a, V: Clone>(map: &'a warden_model::Map<String, V>, text: &str) -> Option<(&'a String, &'a V)> {
    map.get_key_value(text).or_else(|| find(map.keys(), text).and_then(|k| map.get_key_value(k)))
}

/// `"; did you mean 'a', 'b' or 'c'?"`, or nothing when no name is close.
pub(crate) fn did_you_mean<'a>(names: impl IntoIterator<Item = &'a str>, text: &str) -> String {
    suggestion(&closest(names, text, 3))
}

/// `"; did you mean 'a' or 'b'?"` for a list of candidates, nothing for none.
pub(crate) fn suggestion<S: AsRef<str>>(close: &[S]) -> String {
    let close: Vec<&str> = close.iter().map(AsRef::as_ref).collect();
    match close.as_slice() {
        [] => String::new(),
        [one] => format!("; did you mean '{one}'?"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|n| format!("'{n}'")).collect();
            format!("; did you mean {} or '{last}'?", init.join(", "))
        }
    }
}

/// Up to `limit` names close to `text`: names containing it (or contained in
/// it) ignoring case, then names within a small edit distance, nearest first.
pub(crate) fn closest<'a>(names: impl IntoIterator<Item = &'a str>, text: &str, limit: usize) -> Vec<&'a str> {
    let needle = text.to_lowercase();
    if needle.is_empty() {
        return Vec::new();
    }
    let budget = (needle.chars().count() / 3).clamp(1, 4);
    let mut scored: Vec<(usize, &str)> = names
        .into_iter()
        .filter_map(|name| {
            let hay = name.to_lowercase();
            if hay.contains(&needle) || (needle.len() >= 4 && needle.contains(&hay) && hay.len() >= 4) {
                return Some((hay.len().abs_diff(needle.len()) / 8, name));
            }
            let d = levenshtein(&hay, &needle, budget)?;
            Some((d, name))
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.len().cmp(&b.1.len())).then(a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(limit).map(|(_, n)| n).collect()
}

/// Edit distance between `a` and `b` if it is at most `max`.
fn levenshtein(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exact_then_folded() {
        let names = ["Alice".to_string(), "bob".to_string()];
        assert_eq!(find(&names, "Alice").map(String::as_str), Some("Alice"));
        assert_eq!(find(&names, "BOB").map(String::as_str), Some("bob"));
        assert_eq!(find(&names, "carol"), None);
    }

    #[test]
    fn suggests_close_names() {
        let names = ["DEVSQLQueryExecute", "DEVSQLQueryExecuteView", "DEVSysTableBrowser", "CustTable"];
        assert_eq!(closest(names, "SQLQuery", 3), vec!["DEVSQLQueryExecute", "DEVSQLQueryExecuteView"]);
        assert_eq!(closest(names, "CustTabel", 3), vec!["CustTable"]);
        assert_eq!(did_you_mean(names, "zzz"), "");
        assert_eq!(did_you_mean(names, "custtable"), "; did you mean 'CustTable'?");
    }
}

/// Finding users, organizations and roles in a model, with the error a person
/// should see when the name is wrong.
pub(crate) mod lookup {
    use super::{did_you_mean, find_in};
    use crate::error::CoreError;
    use warden_model::{Model, ObjectKind, Organization, Role, User};

    /// The stored name and object that `text` means in one map of named objects.
    pub(crate) fn named<'a, V: Clone>(map: &'a warden_model::Map<String, V>, kind: ObjectKind, text: &str) -> Result<(&'a String, &'a V), CoreError> {
        find_in(map, text).ok_or_else(|| CoreError::unknown(kind, text, map.keys().map(String::as_str)))
    }

    pub(crate) fn user<'a>(model: &'a Model, text: &str) -> Result<&'a User, CoreError> {
        named(&model.users, ObjectKind::User, text).map(|(_, u)| u)
    }

    pub(crate) fn org<'a>(model: &'a Model, text: &str) -> Result<&'a Organization, CoreError> {
        named(&model.organizations, ObjectKind::Organization, text).map(|(_, o)| o)
    }

    /// The stored ids of the organizations `texts` name, each once, sorted (an assignment's or a session's scope).
    pub(crate) fn orgs(model: &Model, texts: &[String]) -> Result<Vec<String>, CoreError> {
        let mut ids = Vec::new();
        for text in texts {
            let id = &org(model, text)?.id;
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids.sort();
        Ok(ids)
    }

    pub(crate) fn role<'a>(model: &'a Model, text: &str) -> Result<&'a Role, CoreError> {
        let roles = &model.roles;
        find_in(roles, text).map(|(_, r)| r).ok_or_else(|| {
            // Labels are what people see in D365's UI, so a label is a likely mistake.
            let by_label = roles.values().find(|r| r.label.as_deref().is_some_and(|l| l.eq_ignore_ascii_case(text)));
            let hint = match by_label {
                Some(r) => format!("; '{text}' is the label of role '{}'", r.name),
                None => did_you_mean(roles.keys().map(String::as_str), text),
            };
            CoreError::Unknown { kind: ObjectKind::Role, name: text.to_string(), hint }
        })
    }
}
