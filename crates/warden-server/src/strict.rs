//! Request bodies held to the OpenAPI document before serde reads them.
//!
//! The model types stay lenient (stored bodies written by older versions may
//! carry fields they no longer have, and timestamps as milliseconds), so the
//! API's strictness is applied here, once, for every body: the JSON is walked
//! along its schema in the served document. A field the schema does not list,
//! a value of the wrong type (`valid_to: 0` where the schema says string), a
//! value outside an enum, a string against its pattern, a number out of range
//! or a missing required field is a 422 naming the field by its JSON Pointer.
//! A number with a zero fraction (`63.0`) where the schema says integer is an
//! integer in JSON Schema, so it is rewritten to one before serde reads it.
//! So the document is the contract: whatever it refuses, the server refuses.

use crate::problem::ApiError;
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::LazyLock;

/// One thing wrong with a body: where (a JSON Pointer) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issue {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.path.is_empty() { "request body" } else { self.path.as_str() };
        write!(f, "{at}: {}", self.message)
    }
}

/// Every `pattern` of the document, compiled once. The patterns are constants
/// of this crate; a unit test holds that each compiles.
static PATTERNS: LazyLock<HashMap<String, Regex>> = LazyLock::new(|| {
    let mut found = Vec::new();
    collect_patterns(crate::openapi::document_value(), &mut found);
    found.into_iter().filter_map(|p| Regex::new(&p).ok().map(|r| (p, r))).collect()
});

fn collect_patterns(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(p)) = m.get("pattern") {
                out.push(p.clone());
            }
            m.values().for_each(|x| collect_patterns(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_patterns(x, out)),
        _ => {}
    }
}

/// Checks (and normalizes) `value` against the component schema `name`.
pub(crate) fn check(name: &str, value: &mut Value) -> Result<(), ApiError> {
    let doc = crate::openapi::document_value();
    let schema = &doc["components"]["schemas"][name];
    if schema.is_null() {
        return Err(ApiError::internal(format!("no schema {name} in the OpenAPI document")));
    }
    let mut issues = Vec::new();
    walk(doc, schema, value, "", &mut issues);
    if issues.is_empty() {
        return Ok(());
    }
    let detail = match issues.as_slice() {
        [one] => one.to_string(),
        many => format!("{} (and {} more problems)", many[0], many.len() - 1),
    };
    Err(ApiError { errors: issues.iter().map(ToString::to_string).collect(), ..ApiError::unprocessable(detail) })
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut schema = schema;
    // References are one level deep in practice; the bound only guards against a cycle.
    for _ in 0..8 {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => schema = &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
            None => break,
        }
    }
    schema
}

fn pointer(path: &str, key: &str) -> String {
    format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn has_type(t: &str, v: &Value) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "null" => v.is_null(),
        _ => true,
    }
}

/// `63.0` → `63`: JSON Schema's `integer` is any number with a zero fraction.
fn as_integer(v: &Value) -> Option<Value> {
    let f = v.as_f64().filter(|_| v.is_f64())?;
    if f.fract() != 0.0 {
        return None;
    }
    if f >= 0.0 && f < u64::MAX as f64 {
        Some(Value::from(f as u64))
    } else if f < 0.0 && f >= i64::MIN as f64 {
        Some(Value::from(f as i64))
    } else {
        None
    }
}

/// How sure it is that `alternative` is the one the client meant: its
/// single-valued enum properties (serde's tags, `"kind": "duty"`) match.
fn tagged_as(doc: &Value, alternative: &Value, value: &Value) -> bool {
    let alternative = resolve(doc, alternative);
    let (Some(props), Some(obj)) = (alternative.get("properties").and_then(Value::as_object), value.as_object()) else { return false };
    let mut tags = props.iter().filter_map(|(k, p)| match resolve(doc, p).get("enum").and_then(Value::as_array) {
        Some(e) if e.len() == 1 => Some((k, &e[0])),
        _ => None,
    });
    tags.clone().next().is_some() && tags.all(|(k, tag)| obj.get(k) == Some(tag))
}

fn walk(doc: &Value, schema: &Value, value: &mut Value, path: &str, out: &mut Vec<Issue>) {
    let schema = resolve(doc, schema);
    let issue = |message: String| Issue { path: path.to_string(), message };
    if let Some(alternatives) = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array) {
        let mut best: Option<((bool, usize), Vec<Issue>)> = None;
        let mut matched = false;
        for alternative in alternatives {
            let mut candidate = value.clone();
            let mut issues = Vec::new();
            walk(doc, alternative, &mut candidate, path, &mut issues);
            if issues.is_empty() {
                *value = candidate;
                matched = true;
                break;
            }
            // Report the alternative the client evidently meant: tagged so, else the one it got furthest into.
            let score = (tagged_as(doc, alternative, value), issues.iter().map(|i| i.path.len()).max().unwrap_or(0));
            if best.as_ref().is_none_or(|(s, _)| score >= *s) {
                best = Some((score, issues));
            }
        }
        if !matched {
            out.extend(best.map(|(_, issues)| issues).unwrap_or_default());
            return;
        }
    }
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        walk(doc, part, value, path, out);
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        if types.contains(&"integer") && let Some(i) = as_integer(value) {
            *value = i;
        }
        if !types.iter().any(|t| has_type(t, value)) {
            let wanted = match schema.get("format").and_then(Value::as_str) {
                Some(format) => format!("{} ({format})", types.join(" or ")),
                None => types.join(" or "),
            };
            out.push(issue(format!("expected {wanted}, not {} ({value})", json_kind(value))));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let names: Vec<String> = allowed.iter().map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_string)).collect();
        out.push(issue(format!("{value} is not one of {}", names.join(", "))));
        return;
    }
    match value {
        Value::Object(map) => walk_object(doc, schema, map, path, out),
        Value::Array(items) => {
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                out.push(issue(format!("needs at least {min} items, has {}", items.len())));
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                out.push(issue(format!("takes at most {max} items, has {}", items.len())));
            }
            if let Some(each) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(doc, each, item, &format!("{path}/{i}"), out);
                }
            }
        }
        Value::String(s) => {
            if let Some(p) = schema.get("pattern").and_then(Value::as_str)
                && PATTERNS.get(p).is_some_and(|re| !re.is_match(s))
            {
                out.push(issue(format!("{s:?} does not match the pattern {p}")));
            }
            let chars = s.chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && chars < min
            {
                out.push(issue(format!("needs at least {min} characters")));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && chars > max
            {
                out.push(issue(format!("takes at most {max} characters")));
            }
        }
        Value::Number(n) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                && n < min
            {
                out.push(issue(format!("{n} is less than the minimum {min}")));
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                && n > max
            {
                out.push(issue(format!("{n} is more than the maximum {max}")));
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

fn walk_object(doc: &Value, schema: &Value, map: &mut Map<String, Value>, path: &str, out: &mut Vec<Issue>) {
    let empty = Map::new();
    let properties = schema.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    let additional = schema.get("additionalProperties");
    for (key, item) in map.iter_mut() {
        let at = pointer(path, key);
        match (properties.get(key), additional) {
            (Some(p), _) => walk(doc, p, item, &at, out),
            (None, Some(each @ Value::Object(_))) => walk(doc, each, item, &at, out),
            (None, Some(Value::Bool(true))) => {}
            // An object schema without properties is free-form (`detail`, `attributes` maps say so with additionalProperties).
            (None, None) if properties.is_empty() => {}
            (None, _) => {
                let mut known: Vec<&str> = properties.keys().map(String::as_str).collect();
                known.sort_unstable();
                out.push(Issue { path: at, message: format!("unknown field '{key}'; the fields are {}", known.join(", ")) });
            }
        }
    }
    // After the unknown fields: a misspelt field is also a missing one, and the misspelling says more.
    for required in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if !map.contains_key(required) {
            out.push(Issue { path: path.to_string(), message: format!("missing field '{required}'") });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_value(name: &str, mut v: Value) -> Result<Value, String> {
        check(name, &mut v).map(|()| v).map_err(|e| e.detail)
    }

    #[test]
    fn every_pattern_of_the_document_compiles() {
        let mut found = Vec::new();
        collect_patterns(crate::openapi::document_value(), &mut found);
        assert!(!found.is_empty());
        for p in found {
            assert!(PATTERNS.contains_key(&p), "pattern {p} does not compile");
        }
    }

    #[test]
    fn unknown_fields_are_named_with_their_path() {
        let e = check_value("SodSettings", json!({"check_similarity": true, "similarity_level": 80, "refuse_similar": false, "similarityy": 1})).unwrap_err();
        assert!(e.starts_with("/similarityy: unknown field 'similarityy'"), "{e}");
        // Inside a tagged enum (SoD rule sides), the alternative the tag names is the one reported.
        let rule = json!({"name": "R", "first": {"kind": "duty", "duty": "A", "dutyy": "B"}, "second": {"kind": "duty", "duty": "C"}});
        let e = check_value("SodRule", rule).unwrap_err();
        assert!(e.starts_with("/first/dutyy: unknown field 'dutyy'"), "{e}");
    }

    #[test]
    fn integers_with_a_zero_fraction_are_integers() {
        let v = check_value("SodSettings", json!({"check_similarity": true, "similarity_level": 63.0, "refuse_similar": false})).unwrap();
        assert_eq!(v["similarity_level"], json!(63));
        assert!(v["similarity_level"].is_u64());
        let e = check_value("SodSettings", json!({"check_similarity": true, "similarity_level": 63.5, "refuse_similar": false})).unwrap_err();
        assert!(e.starts_with("/similarity_level: expected integer"), "{e}");
    }

    #[test]
    fn timestamps_are_strings() {
        let a = json!({"user": "u", "role": "r", "valid_to": 0});
        let e = check_value("Assignment", a).unwrap_err();
        assert!(e.starts_with("/valid_to: expected string"), "{e}");
        let a = json!({"user": "u", "role": "r", "valid_to": "2027-01-01T00:00:00Z"});
        check_value("Assignment", a).unwrap();
    }
}
