//! The CSV files administrators keep users, organizations and assignments in.
//!
//! | file | header (any order; only the first column is required) |
//! |---|---|
//! | `users.csv` | `id,name,type,enabled,email` |
//! | `organizations.csv` | `id,name` |
//! | `assignments.csv` | `user,role,organizations,valid_from,valid_to` |
//!
//! Reading is all-or-nothing: every row is checked against the stored model
//! first, every problem is reported as `file:line: field 'x': what is wrong`,
//! and a file with any problem is refused as a whole. Writing produces the same
//! format, deterministically, so that `warden gen` output imports as is.

use crate::names;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use warden_model::{Assignment, Model, ObjectKind, Organization, Timestamp, User, UserKind};

/// Accepted columns of `users.csv`, besides one `attr.NAME` column per user attribute.
pub const USER_COLUMNS: &[&str] = &["id", "name", "type", "enabled", "email"];
/// The prefix of `users.csv` columns that hold user attributes (`attr.department`).
pub const ATTRIBUTE_PREFIX: &str = "attr.";
/// Accepted columns of `organizations.csv`.
pub const ORG_COLUMNS: &[&str] = &["id", "name"];
/// Accepted columns of `assignments.csv`.
pub const ASSIGNMENT_COLUMNS: &[&str] = &["user", "role", "organizations", "valid_from", "valid_to"];

/// More problems than this in one file are summarised, not listed: the first
/// few are enough to see what is wrong.
const MAX_PROBLEMS: usize = 20;

/// One thing wrong in a CSV file, located for the person who has to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CsvProblem {
    pub file: String,
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}:{}: field '{}': {}", self.file, self.line, field, self.message),
            None => write!(f, "{}:{}: {}", self.file, self.line, self.message),
        }
    }
}

/// A parsed file: which accepted column sits at each position, and the rows.
struct Table {
    file: String,
    /// Empty for an attribute column.
    columns: Vec<&'static str>,
    /// Attribute columns: position and attribute name.
    attributes: Vec<(usize, String)>,
    rows: Vec<Row>,
}

struct Row {
    line: u64,
    values: Vec<String>,
}

impl Table {
    /// The value of `column` in `row`: `None` when the file has no such column.
    fn get<'a>(&self, row: &'a Row, column: &str) -> Option<&'a str> {
        let i = self.columns.iter().position(|c| *c == column)?;
        row.values.get(i).map(String::as_str)
    }

    fn problem(&self, line: u64, field: Option<&str>, message: impl Into<String>) -> CsvProblem {
        CsvProblem { file: self.file.clone(), line, field: field.map(str::to_string), message: message.into() }
    }
}

/// Collects problems and stops listing them after [`MAX_PROBLEMS`].
struct Problems(Vec<CsvProblem>);

impl Problems {
    fn push(&mut self, p: CsvProblem) {
        self.0.push(p);
    }
    fn finish<T>(self, value: T) -> Result<T, Vec<CsvProblem>> {
        if self.0.is_empty() { Ok(value) } else { Err(self.0) }
    }
    fn is_full(&self) -> bool {
        self.0.len() >= MAX_PROBLEMS
    }
}

/// Reads the header and rows. Headers are matched case-insensitively and may
/// come in any order; an unknown or repeated header is refused, because a
/// misspelt column would otherwise be silently ignored.
fn read_table(file: &str, data: &[u8], accepted: &[&'static str], required: &[&str]) -> Result<Table, Vec<CsvProblem>> {
    read_table_with(file, data, accepted, required, None)
}

/// [`read_table`], also taking columns named `PREFIX<attribute>`.
fn read_table_with(
    file: &str,
    data: &[u8],
    accepted: &[&'static str],
    required: &[&str],
    attribute_prefix: Option<&str>,
) -> Result<Table, Vec<CsvProblem>> {
    let problem = |line: u64, message: String| CsvProblem { file: file.to_string(), line, field: None, message };
    let mut reader = csv::ReaderBuilder::new().has_headers(false).trim(csv::Trim::All).from_reader(data);
    let mut records = reader.records();
    let header = match records.next() {
        None => {
            return Err(vec![problem(1, format!("the file is empty; expected a header line: {}", accepted.join(",")))]);
        }
        Some(Err(e)) => return Err(vec![csv_error(file, e)]),
        Some(Ok(h)) => h,
    };
    let mut columns = Vec::with_capacity(header.len());
    let mut attributes: Vec<(usize, String)> = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in header.iter().enumerate() {
        // Spreadsheet programs often start UTF-8 files with a byte-order mark.
        let name = if i == 0 { raw.trim_start_matches('\u{feff}') } else { raw };
        let name = name.trim();
        let attribute = attribute_prefix
            .filter(|p| name.len() > p.len() && name.is_char_boundary(p.len()) && name[..p.len()].eq_ignore_ascii_case(p))
            .map(|p| &name[p.len()..]);
        if let Some(attribute) = attribute {
            if let Err(e) = crate::edit::check_attribute(attribute) {
                problems.push(problem(1, format!("column '{name}': {e}")));
            } else if attributes.iter().any(|(_, a)| a.eq_ignore_ascii_case(attribute)) {
                problems.push(problem(1, format!("column '{name}' appears twice")));
            }
            attributes.push((i, attribute.to_string()));
            columns.push("");
            continue;
        }
        match accepted.iter().find(|a| a.eq_ignore_ascii_case(name)) {
            Some(a) if columns.contains(a) => problems.push(problem(1, format!("column '{name}' appears twice"))),
            Some(a) => columns.push(*a),
            None => problems.push(problem(
                1,
                format!(
                    "unknown column '{name}'; accepted columns are: {}{}",
                    accepted.join(", "),
                    attribute_prefix.map(|p| format!(", and {p}NAME for a user attribute (e.g. {p}department)")).unwrap_or_default()
                ),
            )),
        }
    }
    for r in required {
        if !columns.contains(r) {
            problems.push(problem(
                1,
                format!("missing column '{r}'; the header must include {} (accepted columns: {})", required.join(", "), accepted.join(", ")),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut rows = Vec::new();
    let mut lines = LineCounter::new(data);
    for record in records {
        match record {
            Ok(record) => {
                let line = lines.line_of(record.position());
                if record.iter().all(str::is_empty) {
                    continue; // blank lines are common at the end of hand-edited files
                }
                rows.push(Row { line, values: record.iter().map(str::to_string).collect() });
            }
            Err(e) => {
                let line = lines.line_of(e.position());
                problems.push(CsvProblem { line, ..csv_error(file, e) });
                if problems.len() >= MAX_PROBLEMS {
                    break;
                }
            }
        }
    }
    if problems.is_empty() { Ok(Table { file: file.to_string(), columns, attributes, rows }) } else { Err(problems) }
}

/// The line each record starts on, counted from its byte offset. The csv
/// crate's own `Position::line` puts a record that follows a CRLF on the line
/// before (its position is the `\n` of that CRLF). Records come in order, so
/// the count only moves forward: one pass over the file in all.
pub(crate) struct LineCounter<'a> {
    data: &'a [u8],
    at: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    pub(crate) fn new(data: &'a [u8]) -> LineCounter<'a> {
        LineCounter { data, at: 0, line: 1 }
    }

    /// The 1-based line of the first character of the record at `position`.
    pub(crate) fn line_of(&mut self, position: Option<&csv::Position>) -> u64 {
        let Some(position) = position else { return 0 };
        let mut end = usize::try_from(position.byte()).unwrap_or(usize::MAX).min(self.data.len());
        // Skip the line ends (and blank lines) between the previous record and this one.
        while end < self.data.len() && matches!(self.data[end], b'\r' | b'\n') {
            end += 1;
        }
        if end < self.at {
            (self.at, self.line) = (0, 1);
        }
        self.line += self.data[self.at..end].iter().filter(|&&b| b == b'\n').count() as u64;
        self.at = end;
        self.line
    }
}

pub(crate) fn csv_error(file: &str, e: csv::Error) -> CsvProblem {
    let line = e.position().map_or(0, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("this row has {len} fields but the header has {expected_len}; a value containing ',' must be in double quotes")
        }
        csv::ErrorKind::Utf8 { .. } => "the line is not valid UTF-8; save the file as UTF-8".to_string(),
        _ => e.to_string(),
    };
    CsvProblem { file: file.to_string(), line, field: None, message }
}

/// `Some(value)` for a non-empty value, `None` for an empty one.
fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Remembers the first line each key appeared on, to report duplicates with both lines.
fn first_seen(seen: &mut HashMap<String, u64>, key: &str, line: u64) -> Option<u64> {
    let folded = warden_model::fold(key);
    match seen.get(&folded) {
        Some(first) => Some(*first),
        None => {
            seen.insert(folded, line);
            None
        }
    }
}

/// The problem with a new id in an `id` column: it breaks the identifier
/// rule, or it reads the same as a stored name of another spelling
/// (`look_alikes`: folded stored name → name, built once per file).
fn id_problem(kind: ObjectKind, id: &str, look_alikes: &HashMap<String, &str>) -> Option<String> {
    if let Err(e) = warden_model::validate_id(kind, id) {
        return Some(e.to_string());
    }
    look_alikes
        .get(&warden_model::fold(id))
        .filter(|existing| !existing.eq_ignore_ascii_case(id))
        .map(|existing| format!("{kind} {id:?} looks the same as existing {kind} '{existing}'"))
}

/// Stored names by their fold, for [`id_problem`].
fn folded_names<V: Clone>(map: &warden_model::Map<String, V>) -> HashMap<String, &str> {
    map.keys().map(|k| (warden_model::fold(k), k.as_str())).collect()
}

/// Parses `users.csv` into the users to store, merged with `model`'s users:
/// a row updates the user with that id (matched case-insensitively) or adds
/// one. A column the file does not have keeps the stored value; an empty
/// `name` or `email` clears it; an empty `enabled` means `true` for a new user.
pub fn parse_users(file: &str, data: &[u8], model: &Model) -> Result<Vec<User>, Vec<CsvProblem>> {
    let table = read_table_with(file, data, USER_COLUMNS, &["id"], Some(ATTRIBUTE_PREFIX))?;
    let mut problems = Problems(Vec::new());
    let mut seen = HashMap::new();
    let mut users = Vec::with_capacity(table.rows.len());
    let look_alikes = folded_names(&model.users);
    for row in &table.rows {
        if problems.is_full() {
            break;
        }
        let id = table.get(row, "id").unwrap_or_default();
        if id.is_empty() {
            problems.push(table.problem(row.line, Some("id"), "is empty; every row needs a user id"));
            continue;
        }
        if let Some(message) = id_problem(ObjectKind::User, id, &look_alikes) {
            problems.push(table.problem(row.line, Some("id"), message));
            continue;
        }
        if let Some(first) = first_seen(&mut seen, id, row.line) {
            problems.push(table.problem(row.line, Some("id"), format!("user '{id}' already appears on line {first}")));
            continue;
        }
        let existing = names::find_in(&model.users, id).map(|(_, u)| u);
        let mut user = existing.cloned().unwrap_or_else(|| User::new(id));
        if let Some(name) = table.get(row, "name") {
            user.name = non_empty(name);
        }
        if let Some(kind) = table.get(row, "type") {
            match kind.parse::<UserKind>() {
                Ok(k) => user.kind = k,
                Err(_) => problems.push(table.problem(
                    row.line,
                    Some("type"),
                    format!("'{kind}' is not a user type; use person or service_account"),
                )),
            }
        }
        if let Some(enabled) = table.get(row, "enabled") {
            if enabled.is_empty() {
                if existing.is_none() {
                    user.enabled = true;
                }
            } else {
                match parse_bool(enabled) {
                    Some(b) => user.enabled = b,
                    None => problems.push(table.problem(
                        row.line,
                        Some("enabled"),
                        format!("'{enabled}' is not a yes/no value; use true, false, yes, no, 1 or 0"),
                    )),
                }
            }
        }
        if let Some(email) = table.get(row, "email") {
            if !email.is_empty() && !looks_like_email(email) {
                problems.push(table.problem(row.line, Some("email"), format!("'{email}' is not an email address")));
            }
            user.email = non_empty(email);
        }
        for (i, name) in &table.attributes {
            let value = row.values.get(*i).map(String::as_str).unwrap_or_default();
            // One spelling per attribute: the stored name's case wins.
            let key = user.attributes.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned().unwrap_or_else(|| name.clone());
            if value.is_empty() {
                user.attributes.remove(&key);
            } else {
                user.attributes.insert(key, value.to_string());
            }
        }
        users.push(user);
    }
    problems.finish(users)
}

/// A light check that catches a column mix-up (a name in the email column),
/// not a validation of the address.
pub(crate) fn looks_like_email(s: &str) -> bool {
    s.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !s.contains(char::is_whitespace))
}

/// Parses `organizations.csv`: each row adds an organization or updates the
/// name of the one with that id (matched case-insensitively).
pub fn parse_orgs(file: &str, data: &[u8], model: &Model) -> Result<Vec<Organization>, Vec<CsvProblem>> {
    let table = read_table(file, data, ORG_COLUMNS, &["id"])?;
    let mut problems = Problems(Vec::new());
    let mut seen = HashMap::new();
    let mut orgs = Vec::with_capacity(table.rows.len());
    let look_alikes = folded_names(&model.organizations);
    for row in &table.rows {
        if problems.is_full() {
            break;
        }
        let id = table.get(row, "id").unwrap_or_default();
        if id.is_empty() {
            problems.push(table.problem(row.line, Some("id"), "is empty; every row needs an organization id"));
            continue;
        }
        if let Some(message) = id_problem(ObjectKind::Organization, id, &look_alikes) {
            problems.push(table.problem(row.line, Some("id"), message));
            continue;
        }
        if let Some(first) = first_seen(&mut seen, id, row.line) {
            problems.push(table.problem(row.line, Some("id"), format!("organization '{id}' already appears on line {first}")));
            continue;
        }
        let existing = names::find_in(&model.organizations, id).map(|(_, o)| o);
        let mut org = existing.cloned().unwrap_or_else(|| Organization { id: id.to_string(), name: None });
        if let Some(name) = table.get(row, "name") {
            org.name = non_empty(name);
        }
        orgs.push(org);
    }
    problems.finish(orgs)
}

/// Parses `assignments.csv`. Each row gives `user` the role `role`; users,
/// roles and organizations must exist (names are matched case-insensitively
/// and stored as the model spells them). A row for a user and role that are
/// already assigned replaces that assignment, so re-importing a file updates
/// scopes and windows. `organizations` is a `;`-separated list (empty: global);
/// `valid_from` and `valid_to` are RFC 3339 instants or dates (empty: unbounded).
pub fn parse_assignments(file: &str, data: &[u8], model: &Model) -> Result<Vec<Assignment>, Vec<CsvProblem>> {
    Ok(parse_assignment_rows(file, data, model)?.into_iter().map(|(_, a)| a).collect())
}

/// [`parse_assignments`] with each assignment's line, to name it in later refusals.
pub(crate) fn parse_assignment_rows(file: &str, data: &[u8], model: &Model) -> Result<Vec<(u64, Assignment)>, Vec<CsvProblem>> {
    let table = read_table(file, data, ASSIGNMENT_COLUMNS, &["user", "role"])?;
    let mut problems = Problems(Vec::new());
    let mut seen = HashMap::new();
    let mut out = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        if problems.is_full() {
            break;
        }
        let before = problems.0.len();
        let mut field = |column: &str, resolved: Result<String, String>| match resolved {
            Ok(name) => Some(name),
            Err(message) => {
                problems.push(table.problem(row.line, Some(column), message));
                None
            }
        };
        let user = field("user", resolve(&model.users, ObjectKind::User, table.get(row, "user").unwrap_or_default()));
        let role = field("role", resolve(&model.roles, ObjectKind::Role, table.get(row, "role").unwrap_or_default()));
        let mut organizations = Vec::new();
        for org in table.get(row, "organizations").unwrap_or_default().split(';').map(str::trim).filter(|o| !o.is_empty()) {
            if let Some(o) = field("organizations", resolve(&model.organizations, ObjectKind::Organization, org))
                && !organizations.contains(&o)
            {
                organizations.push(o);
            }
        }
        let mut time = |column: &str| -> Option<Timestamp> {
            let text = table.get(row, column).unwrap_or_default();
            if text.is_empty() {
                return None;
            }
            match Timestamp::parse(text) {
                Ok(t) => Some(t),
                Err(_) => {
                    problems.push(table.problem(
                        row.line,
                        Some(column),
                        format!("'{text}' is not a time; use a date such as 2026-01-31 or an RFC 3339 instant such as 2026-01-31T08:00:00Z"),
                    ));
                    None
                }
            }
        };
        let valid_from = time("valid_from");
        let valid_to = time("valid_to");
        if let (Some(from), Some(to)) = (valid_from, valid_to)
            && from >= to
        {
            problems.push(table.problem(
                row.line,
                Some("valid_to"),
                format!("{to} is not after valid_from {from}; the assignment would never be in effect"),
            ));
        }
        let (Some(user), Some(role)) = (user, role) else { continue };
        if problems.0.len() > before {
            continue;
        }
        if let Some(first) = first_seen(&mut seen, &warden_model::assignment_key(&user, &role), row.line) {
            problems.push(table.problem(
                row.line,
                Some("role"),
                format!("user '{user}' is given role '{role}' already on line {first}; one row per user and role"),
            ));
            continue;
        }
        organizations.sort();
        out.push((row.line, Assignment { user, role, organizations, valid_from, valid_to, rule: None }));
    }
    problems.finish(out)
}

/// The stored spelling of a user, role or organization named in a file, or
/// what to tell the person who wrote the file.
fn resolve<V: Clone>(map: &warden_model::Map<String, V>, kind: ObjectKind, text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err(format!("is empty; every row needs a {kind}"));
    }
    match names::find_in(map, text) {
        Some((name, _)) => Ok(name.clone()),
        None => Err(format!("unknown {kind} '{text}'{}", names::did_you_mean(map.keys().map(String::as_str), text))),
    }
}

/// Writes `users.csv` in the format [`parse_users`] reads.
pub fn write_users<'a, W: Write>(w: W, users: impl IntoIterator<Item = &'a User>) -> csv::Result<()> {
    let users: Vec<&User> = users.into_iter().collect();
    let attributes: std::collections::BTreeSet<&str> = users.iter().flat_map(|u| u.attributes.keys().map(String::as_str)).collect();
    let mut out = csv::Writer::from_writer(w);
    let mut header: Vec<String> = USER_COLUMNS.iter().map(|c| c.to_string()).collect();
    header.extend(attributes.iter().map(|a| format!("{ATTRIBUTE_PREFIX}{a}")));
    out.write_record(&header)?;
    for u in users {
        let enabled = if u.enabled { "true" } else { "false" };
        let mut record = vec![u.id.as_str(), u.name.as_deref().unwrap_or_default(), u.kind.as_str(), enabled, u.email.as_deref().unwrap_or_default()];
        record.extend(attributes.iter().map(|a| u.attributes.get(*a).map_or("", String::as_str)));
        out.write_record(&record)?;
    }
    out.flush()?;
    Ok(())
}

/// Writes `organizations.csv` in the format [`parse_orgs`] reads.
pub fn write_orgs<'a, W: Write>(w: W, orgs: impl IntoIterator<Item = &'a Organization>) -> csv::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(ORG_COLUMNS)?;
    for o in orgs {
        out.write_record([o.id.as_str(), o.name.as_deref().unwrap_or_default()])?;
    }
    out.flush()?;
    Ok(())
}

/// Writes `assignments.csv` in the format [`parse_assignments`] reads.
pub fn write_assignments<'a, W: Write>(w: W, assignments: impl IntoIterator<Item = &'a Assignment>) -> csv::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(ASSIGNMENT_COLUMNS)?;
    for a in assignments {
        let from = a.valid_from.map(|t| t.to_string()).unwrap_or_default();
        let to = a.valid_to.map(|t| t.to_string()).unwrap_or_default();
        out.write_record([a.user.as_str(), a.role.as_str(), &a.organizations.join(";"), &from, &to])?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_model::Role;

    fn model() -> Model {
        let mut m = Model::default();
        m.users.insert("alice".into(), User { email: Some("a@x.org".into()), ..User::new("alice") });
        m.roles.insert("Clerk".into(), Role::new("Clerk"));
        m.organizations.insert("USMF".into(), Organization { id: "USMF".into(), name: None });
        m
    }

    fn messages(r: Result<impl std::fmt::Debug, Vec<CsvProblem>>) -> Vec<String> {
        r.expect_err("expected problems").iter().map(ToString::to_string).collect()
    }

    #[test]
    fn users_merge_and_keep_absent_columns() {
        let data = b"ID,enabled\nALICE,no\nbob,\n";
        let users = parse_users("users.csv", data, &model()).expect("valid");
        assert_eq!(users[0].id, "alice", "matched case-insensitively, stored spelling kept");
        assert!(!users[0].enabled);
        assert_eq!(users[0].email.as_deref(), Some("a@x.org"), "no email column: email kept");
        assert_eq!(users[1], User::new("bob"));
    }

    #[test]
    fn user_problems_name_line_and_field() {
        let data = "\u{feff}id,type,enabled,email\nbob,robot,maybe,nope\n,person,yes,\nbob,person,yes,\n".as_bytes();
        let text = messages(parse_users("users.csv", data, &model()));
        assert_eq!(
            text,
            vec![
                "users.csv:2: field 'type': 'robot' is not a user type; use person or service_account",
                "users.csv:2: field 'enabled': 'maybe' is not a yes/no value; use true, false, yes, no, 1 or 0",
                "users.csv:2: field 'email': 'nope' is not an email address",
                "users.csv:3: field 'id': is empty; every row needs a user id",
                "users.csv:4: field 'id': user 'bob' already appears on line 2",
            ]
        );
    }

    #[test]
    fn unknown_and_missing_headers() {
        let text = messages(parse_users("u.csv", b"id,mail\n", &model()));
        assert_eq!(text, vec!["u.csv:1: unknown column 'mail'; accepted columns are: id, name, type, enabled, email, and attr.NAME for a user attribute (e.g. attr.department)"]);
        let text = messages(parse_orgs("o.csv", b"name\nX\n", &model()));
        assert_eq!(text, vec!["o.csv:1: missing column 'id'; the header must include id (accepted columns: id, name)"]);
        let text = messages(parse_orgs("o.csv", b"", &model()));
        assert_eq!(text, vec!["o.csv:1: the file is empty; expected a header line: id,name"]);
    }

    #[test]
    fn assignments_are_checked_against_the_model() {
        let data = b"user,role,organizations,valid_from,valid_to\n\
                     alice,clerk,usmf;USMF,2026-01-01,2026-02-01\n\
                     bob,Clerk,,,\n\
                     alice,Clerk,DEMF,later,2020-01-01\n\
                     alice,Clerk,,2026-02-01,2026-01-01\n";
        let text = messages(parse_assignments("a.csv", data, &model()));
        assert_eq!(
            text,
            vec![
                "a.csv:3: field 'user': unknown user 'bob'",
                "a.csv:4: field 'organizations': unknown organization 'DEMF'",
                "a.csv:4: field 'valid_from': 'later' is not a time; use a date such as 2026-01-31 or an RFC 3339 instant such as 2026-01-31T08:00:00Z",
                "a.csv:5: field 'valid_to': 2026-01-01T00:00:00Z is not after valid_from 2026-02-01T00:00:00Z; the assignment would never be in effect",
            ]
        );
        let ok = parse_assignments("a.csv", b"user,role,organizations\nalice,clerk,usmf;USMF\n", &model()).expect("valid");
        assert_eq!(ok[0].role, "Clerk");
        assert_eq!(ok[0].organizations, vec!["USMF".to_string()]);
    }

    #[test]
    fn unequal_rows_are_located() {
        let text = messages(parse_orgs("o.csv", b"id,name\nUSMF,Contoso, USA\n", &model()));
        assert_eq!(text, vec!["o.csv:2: this row has 3 fields but the header has 2; a value containing ',' must be in double quotes"]);
    }

    #[test]
    fn lines_are_counted_after_crlf() {
        let text = messages(parse_orgs("o.csv", b"id,name\r\nUSMF,Contoso\r\nDEMF,Contoso, Germany\r\n", &model()));
        assert_eq!(text, vec!["o.csv:3: this row has 3 fields but the header has 2; a value containing ',' must be in double quotes"]);
        let data = b"user,role\r\nalice,Clerk\r\n\r\nbob,Clerk\r\n";
        let text = messages(parse_assignments("a.csv", data, &model()));
        assert_eq!(text, vec!["a.csv:4: field 'user': unknown user 'bob'"], "a blank line counts");
        let text = messages(parse_assignments("a.csv", b"user,role\nalice,Clerk\nbob,Clerk\n", &model()));
        assert_eq!(text, vec!["a.csv:3: field 'user': unknown user 'bob'"], "LF files as before");
    }

    #[test]
    fn written_files_read_back() {
        let m = {
            let mut m = model();
            let mut svc = User { kind: UserKind::ServiceAccount, enabled: false, name: Some("Batch, nightly".into()), ..User::new("svc") };
            svc.attributes.insert("department".into(), "IT, batch".into());
            m.users.insert("svc".into(), svc);
            m.assignments.push(Assignment {
                organizations: vec!["USMF".into()],
                valid_from: Some(Timestamp(1_767_225_600_000)),
                ..Assignment::global("alice", "Clerk")
            });
            m
        };
        let mut buf = Vec::new();
        write_users(&mut buf, m.users.values()).expect("write");
        assert!(String::from_utf8_lossy(&buf).starts_with("id,name,type,enabled,email,attr.department\n"));
        assert_eq!(parse_users("u", &buf, &Model::default()).expect("read"), m.users.values().cloned().collect::<Vec<_>>());
        let mut buf = Vec::new();
        write_assignments(&mut buf, &m.assignments).expect("write");
        assert_eq!(String::from_utf8_lossy(&buf), "user,role,organizations,valid_from,valid_to\nalice,Clerk,USMF,2026-01-01T00:00:00Z,\n");
        assert_eq!(m.assignments, parse_assignments("a", &buf, &m).expect("read"));
    }

    #[test]
    fn attribute_columns_set_clear_and_are_checked() {
        let mut m = Model::default();
        let mut alice = User::new("alice");
        alice.attributes.insert("Department".into(), "Sales".into());
        alice.attributes.insert("title".into(), "Rep".into());
        m.users.insert("alice".into(), alice);
        let users = parse_users("u.csv", b"id,ATTR.department,attr.title\nalice,Finance,\n", &m).expect("read");
        assert_eq!(users[0].attributes.len(), 1, "an empty cell clears the attribute");
        assert_eq!(users[0].attributes.get("Department").map(String::as_str), Some("Finance"), "stored spelling kept");
        let e = parse_users("u.csv", b"id,attr.email\nalice,x\n", &m).expect_err("a user field");
        assert_eq!(e[0].to_string(), "u.csv:1: column 'attr.email': 'email' is a user field, not an attribute; set it with its own option");
        let e = parse_users("u.csv", b"id,attr.dept,Attr.Dept\nalice,x,y\n", &m).expect_err("twice");
        assert_eq!(e[0].to_string(), "u.csv:1: column 'Attr.Dept' appears twice");
        let e = parse_users("u.csv", b"id,department\nalice,x\n", &m).expect_err("unknown");
        assert!(e[0].message.contains("attr.NAME for a user attribute"), "{}", e[0]);
    }
}
