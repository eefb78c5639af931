//! D365's data-management (DMF) entities for users and role assignments,
//! read and written as the Data management framework writes them, so that a
//! customer brings users, role assignments and their organization scopes from
//! D365 in one step and sends them back.
//!
//! | entity (XML record element) | what it holds | Warden |
//! |---|---|---|
//! | `SystemUserEntity` ("User information", OData `SystemUsers`; `SYSTEMUSERENTITY`) | one row per user | [`User`]: `USERID` → id, `USERNAME` → name, `EMAIL`, `ENABLED` (Yes/No); every other column kept as the attribute `d365.COLUMN` |
//! | `SystemSecurityUserRoleEntity` ("Security user role association"; `SYSTEMSECURITYUSERROLEENTITY`, also `SYSTEMSECURITYUSERROLEASSOCIATIONENTITY`) | one row per user and role | [`Assignment`]: `USERID`, `SECURITYROLEIDENTIFIER` (the role's AOT name); `ASSIGNMENTSTATUS`, `ASSIGNMENTMODE` |
//! | `SystemSecurityUserRoleOrganizationEntity` (`SYSTEMSECURITYUSERROLEORGANIZATIONENTITY`) | one row per organization an assignment is limited to | the assignment's `organizations`: `ORGANIZATIONID` of `ORGANIZATIONTYPE` `LegalEntity` |
//!
//! The shapes: field names from Microsoft's Common Data Model definitions of
//! the three entities (github.com/microsoft/CDM, `schemaDocuments/core/
//! operationsCommon/Entities/System/SystemAdministration/*.cdm.json`, and
//! `.../Common/GAB/SystemSecurityUserRoleOrganizationEntity`); DMF writes them
//! upper-case, as CSV headers or as one element per field under one element
//! per record (`<Document><SYSTEMSECURITYUSERROLEENTITY><USERID>..`), as seen
//! in public tools that read D365 DMF exports.
//!
//! Nothing in a file is dropped silently. Each column is used, kept (user
//! columns Warden has no field for become `d365.*` attributes and are written
//! back on export), or named in a warning (columns D365 computes, such as
//! `SECURITYROLENAME` and `USERLICENSETYPE`; columns of no known field); values
//! Warden cannot represent are refused (an operating-unit scope) or warned
//! about row by row (a Disabled assignment, which Warden does not store).
//! Reading is all-or-nothing like every import: every problem is reported as
//! `file:line:column`, and a file with any problem imports nothing.

use crate::csv_io::looks_like_email;
use crate::error::CoreError;
use crate::service::{Plan, Tally, Validation};
use crate::Warden;
use quick_xml::events::Event;
use quick_xml::Reader;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use warden_model::{Assignment, Model, Object, ObjectKind, Organization, Timestamp, User};
use warden_store::{Change, Revision};

/// The prefix of the user attributes that hold `SystemUserEntity` columns
/// Warden has no field for (`d365.NETWORKDOMAIN`).
pub const D365_ATTRIBUTE_PREFIX: &str = "d365.";

/// More problems than this are not listed: the first ones show the mistake.
const MAX_PROBLEMS: usize = 50;

/// Files of a data package that are not entity data.
const PACKAGE_FILES: [&str; 2] = ["manifest.xml", "packageheader.xml"];

/// One of the data-management entities Warden reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DmfEntity {
    /// `SystemUserEntity`, "User information".
    Users,
    /// `SystemSecurityUserRoleEntity`, "Security user role association".
    UserRoles,
    /// `SystemSecurityUserRoleOrganizationEntity`.
    UserRoleOrganizations,
}

impl DmfEntity {
    pub const ALL: [DmfEntity; 3] = [DmfEntity::Users, DmfEntity::UserRoles, DmfEntity::UserRoleOrganizations];

    /// The name the command line and the API use.
    pub const fn as_str(self) -> &'static str {
        match self {
            DmfEntity::Users => "users",
            DmfEntity::UserRoles => "user-roles",
            DmfEntity::UserRoleOrganizations => "user-role-organizations",
        }
    }

    /// The data entity's AOT name.
    pub const fn entity_name(self) -> &'static str {
        match self {
            DmfEntity::Users => "SystemUserEntity",
            DmfEntity::UserRoles => "SystemSecurityUserRoleEntity",
            DmfEntity::UserRoleOrganizations => "SystemSecurityUserRoleOrganizationEntity",
        }
    }

    /// The element DMF's XML wraps each record in.
    pub const fn record_element(self) -> &'static str {
        match self {
            DmfEntity::Users => "SYSTEMUSERENTITY",
            DmfEntity::UserRoles => "SYSTEMSECURITYUSERROLEENTITY",
            DmfEntity::UserRoleOrganizations => "SYSTEMSECURITYUSERROLEORGANIZATIONENTITY",
        }
    }

    /// The file name (without extension) a data package gives the entity's data.
    pub const fn file_stem(self) -> &'static str {
        match self {
            DmfEntity::Users => "User information",
            DmfEntity::UserRoles => "Security user role association",
            DmfEntity::UserRoleOrganizations => "SystemSecurityUserRoleOrganizationEntity",
        }
    }

    /// The entity whose records an XML element holds.
    fn of_record_element(name: &str) -> Option<DmfEntity> {
        match name.to_ascii_uppercase().as_str() {
            "SYSTEMUSERENTITY" => Some(DmfEntity::Users),
            // The association entity is the same table under the name of its OData collection.
            "SYSTEMSECURITYUSERROLEENTITY" | "SYSTEMSECURITYUSERROLEASSOCIATIONENTITY" => Some(DmfEntity::UserRoles),
            "SYSTEMSECURITYUSERROLEORGANIZATIONENTITY" => Some(DmfEntity::UserRoleOrganizations),
            _ => None,
        }
    }

    /// The entity a CSV header belongs to, by the key columns only it has
    /// (other security entities, such as roles, have no `USERID`).
    fn of_header(columns: &[String]) -> Option<DmfEntity> {
        let has = |c: &str| columns.iter().any(|x| x == c);
        match (has("USERID"), has("SECURITYROLEIDENTIFIER"), has("ORGANIZATIONID")) {
            (true, true, true) => Some(DmfEntity::UserRoleOrganizations),
            (true, true, false) => Some(DmfEntity::UserRoles),
            (true, false, false) => Some(DmfEntity::Users),
            _ => None,
        }
    }

    /// The entity a file is named for in a data package (`User information.xml`,
    /// `SystemSecurityUserRoleEntity.csv`, ...), ignoring case.
    fn of_file_name(path: &Path) -> Option<DmfEntity> {
        let stem = path.file_stem()?.to_string_lossy().to_ascii_lowercase();
        DmfEntity::ALL.into_iter().find(|e| {
            [e.file_stem(), e.entity_name(), e.record_element()].iter().any(|n| n.eq_ignore_ascii_case(&stem))
                || (*e == DmfEntity::UserRoles && stem == "systemsecurityuserroleassociationentity")
                || (*e == DmfEntity::Users && stem == "systemusers")
        })
    }

    /// Columns that must be present.
    fn required(self) -> &'static [&'static str] {
        match self {
            DmfEntity::Users => &["USERID"],
            DmfEntity::UserRoles => &["USERID", "SECURITYROLEIDENTIFIER"],
            DmfEntity::UserRoleOrganizations => &["USERID", "SECURITYROLEIDENTIFIER", "ORGANIZATIONID"],
        }
    }

    /// Columns Warden reads into a field; for users every other column is kept.
    fn used(self) -> &'static [&'static str] {
        match self {
            DmfEntity::Users => &["USERID", "USERNAME", "EMAIL", "ENABLED"],
            DmfEntity::UserRoles => &["USERID", "SECURITYROLEIDENTIFIER", "ASSIGNMENTSTATUS", "ASSIGNMENTMODE"],
            DmfEntity::UserRoleOrganizations => {
                &["USERID", "SECURITYROLEIDENTIFIER", "ORGANIZATIONID", "ORGANIZATIONTYPE", "OPERATINGUNITTYPE", "HIERARCHYTYPE"]
            }
        }
    }

    /// Columns of the entity that D365 computes from others, with why Warden
    /// does not store them: read, named in one warning, not imported.
    fn derived(self) -> &'static [(&'static str, &'static str)] {
        match self {
            DmfEntity::Users => &[],
            DmfEntity::UserRoles => &[
                ("SECURITYROLENAME", "D365 shows the role's name from the role; export writes the role's label"),
                ("USERLICENSETYPE", "D365 computes the licence from the role's entry points"),
                ("SECURITYROLE", "a D365 record id, meaningless outside that database"),
            ],
            DmfEntity::UserRoleOrganizations => &[
                ("SECURITYROLENAME", "D365 shows the role's name from the role"),
                ("SECURITYROLEREFERENCE", "a D365 record id, meaningless outside that database"),
                ("INTERNALORGANIZATIONREFERENCE", "a D365 record id, meaningless outside that database"),
                ("HIERARCHYTYPEREFERENCE", "a D365 record id, meaningless outside that database"),
            ],
        }
    }
}

impl fmt::Display for DmfEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DmfEntity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let folded = s.trim().to_ascii_lowercase();
        DmfEntity::ALL
            .into_iter()
            .find(|e| e.as_str() == folded || e.entity_name().eq_ignore_ascii_case(&folded) || e.record_element().eq_ignore_ascii_case(&folded))
            .or(match folded.as_str() {
                "user-information" | "systemusers" | "user information" => Some(DmfEntity::Users),
                "security-user-role-association" | "systemsecurityuserroleassociationentity" => Some(DmfEntity::UserRoles),
                _ => None,
            })
            .ok_or_else(|| format!("'{s}' is not a DMF entity Warden reads; use users, user-roles or user-role-organizations"))
    }
}

/// How DMF writes an entity's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DmfFormat {
    Csv,
    Xml,
}

impl DmfFormat {
    pub const fn extension(self) -> &'static str {
        match self {
            DmfFormat::Csv => "csv",
            DmfFormat::Xml => "xml",
        }
    }
}

impl std::str::FromStr for DmfFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(DmfFormat::Csv),
            "xml" => Ok(DmfFormat::Xml),
            _ => Err(format!("'{s}' is not a DMF format; use csv or xml")),
        }
    }
}

/// One thing wrong in an entity file, located for whoever fixes it: in a CSV
/// file the line and the column's number and name, in an XML file the line
/// and character column of the element and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DmfProblem {
    pub file: String,
    pub line: u64,
    /// CSV: the column's number (1 for the first); XML: the character column. 0: the whole line.
    pub column: u64,
    /// The column (field element) the problem is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    #[serde(skip)]
    format: Option<DmfFormat>,
}

impl fmt::Display for DmfProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (file, line, column) = (&self.file, self.line, self.column);
        match (self.format, &self.field) {
            (Some(DmfFormat::Csv), Some(field)) if column > 0 => write!(f, "{file}:{line}: column {column} ({field}): {}", self.message),
            (Some(DmfFormat::Csv), Some(field)) => write!(f, "{file}:{line}: column {field}: {}", self.message),
            (Some(DmfFormat::Csv), None) => write!(f, "{file}:{line}: {}", self.message),
            (_, field) => {
                let place = if column > 0 { format!("{file}:{line}:{column}") } else { format!("{file}:{line}") };
                match field {
                    Some(field) => write!(f, "{place}: <{field}>: {}", self.message),
                    None => write!(f, "{place}: {}", self.message),
                }
            }
        }
    }
}

/// One value of a record and where it stands in the file.
#[derive(Debug, Clone)]
struct Cell {
    value: String,
    line: u64,
    column: u64,
}

#[derive(Debug, Clone)]
struct Record {
    line: u64,
    /// By upper-case column name.
    cells: BTreeMap<String, Cell>,
}

impl Record {
    fn get(&self, column: &str) -> Option<&Cell> {
        self.cells.get(column)
    }

    fn value(&self, column: &str) -> &str {
        self.cells.get(column).map_or("", |c| c.value.as_str())
    }
}

/// An entity file as read: its columns and records, before any value is judged.
#[derive(Debug, Clone)]
pub struct EntityFile {
    pub file: String,
    pub entity: DmfEntity,
    pub format: DmfFormat,
    /// Upper-case, in the file's order.
    columns: Vec<String>,
    records: Vec<Record>,
}

impl EntityFile {
    pub fn records(&self) -> usize {
        self.records.len()
    }

    /// Each record's `(column, value)` pairs, by column name: the file's content
    /// without its layout, for comparing files.
    pub fn rows(&self) -> Vec<Vec<(String, String)>> {
        self.records.iter().map(|r| r.cells.iter().map(|(c, cell)| (c.clone(), cell.value.clone())).collect()).collect()
    }

    fn problem(&self, line: u64, column: u64, field: Option<&str>, message: impl Into<String>) -> DmfProblem {
        DmfProblem { file: self.file.clone(), line, column, field: field.map(str::to_string), message: message.into(), format: Some(self.format) }
    }

    /// A problem with the value of `column` in `record`.
    fn at(&self, record: &Record, column: &str, message: impl Into<String>) -> DmfProblem {
        match record.get(column) {
            Some(cell) => self.problem(cell.line, cell.column, Some(column), message),
            None => self.problem(record.line, 0, Some(column), message),
        }
    }
}

/// Text of a file in any encoding DMF writes: UTF-8 (with or without a
/// byte-order mark) or UTF-16 with its mark ("CSV-Unicode").
fn decode(file: &str, data: &[u8]) -> Result<String, DmfProblem> {
    let problem = |line: u64, message: String| DmfProblem { file: file.to_string(), line, column: 0, field: None, message, format: None };
    let utf16 = |bytes: &[u8], little: bool| -> Result<String, DmfProblem> {
        if bytes.len() % 2 != 0 {
            return Err(problem(0, "the file starts with a UTF-16 byte-order mark but has an odd number of bytes".into()));
        }
        let units = bytes.chunks_exact(2).map(|p| if little { u16::from_le_bytes([p[0], p[1]]) } else { u16::from_be_bytes([p[0], p[1]]) });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|_| problem(0, "the file is not valid UTF-16 (an unpaired surrogate)".into()))
    };
    match data {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        _ => {
            let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
            match std::str::from_utf8(data) {
                Ok(text) => Ok(text.to_string()),
                Err(e) => {
                    let line = data[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                    Err(problem(line, "the line is not valid UTF-8; export the entity again as UTF-8 or Unicode".into()))
                }
            }
        }
    }
}

/// Reads one entity file, CSV or XML (told apart by its first character),
/// whose entity is `forced` or found from the file: the XML record element,
/// or the CSV header's columns.
pub fn read_entity_file(file: &str, data: &[u8], forced: Option<DmfEntity>) -> Result<EntityFile, Vec<DmfProblem>> {
    let text = decode(file, data).map_err(|p| vec![p])?;
    let parsed = if text.trim_start().starts_with('<') { read_xml(file, &text)? } else { read_csv(file, &text)? };
    let (format, columns, records, found) = parsed;
    let header_problem = |message: String| {
        vec![DmfProblem { file: file.to_string(), line: 1, column: 0, field: None, message, format: Some(format) }]
    };
    let entity = match (forced, found) {
        (Some(f), Some(found)) if f != found && format == DmfFormat::Xml => {
            return Err(header_problem(format!(
                "the file holds {} records, not {} (--entity {f})",
                found.entity_name(),
                f.entity_name()
            )));
        }
        (Some(f), _) => f,
        (None, Some(found)) => found,
        (None, None) if records.is_empty() && format == DmfFormat::Xml => {
            return Err(header_problem("the file holds no records, so which entity it is cannot be told; pass --entity".into()));
        }
        (None, None) => {
            return Err(header_problem(format!(
                "cannot tell which entity this is; expected {} records (users, user-roles or user-role-organizations), or pass --entity",
                DmfEntity::ALL.map(DmfEntity::entity_name).join(", ")
            )));
        }
    };
    let entity_file = EntityFile { file: file.to_string(), entity, format, columns, records };
    let mut problems = Vec::new();
    match format {
        DmfFormat::Csv => {
            for required in entity.required().iter().filter(|r| !entity_file.columns.iter().any(|c| c == *r)) {
                let message = format!("missing column {required}; {} needs {}", entity.entity_name(), entity.required().join(", "));
                problems.push(entity_file.problem(1, 0, None, message));
            }
        }
        DmfFormat::Xml => {
            for record in &entity_file.records {
                for required in entity.required().iter().filter(|r| record.get(r).is_none()) {
                    if problems.len() < MAX_PROBLEMS {
                        problems.push(entity_file.problem(record.line, 0, None, format!("the record has no <{required}> element")));
                    }
                }
            }
        }
    }
    if problems.is_empty() { Ok(entity_file) } else { Err(problems) }
}

type Parsed = (DmfFormat, Vec<String>, Vec<Record>, Option<DmfEntity>);

fn read_csv(file: &str, text: &str) -> Result<Parsed, Vec<DmfProblem>> {
    let problem = |line: u64, column: u64, field: Option<String>, message: String| DmfProblem {
        file: file.to_string(),
        line,
        column,
        field,
        message,
        format: Some(DmfFormat::Csv),
    };
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        None => return Err(vec![problem(1, 0, None, "the file is empty; expected a header line such as USERID,SECURITYROLEIDENTIFIER".into())]),
        Some(Err(e)) => return Err(vec![csv_problem(file, text, e)]),
        Some(Ok(h)) => h,
    };
    let mut columns: Vec<String> = Vec::with_capacity(header.len());
    let mut problems = Vec::new();
    for (i, raw) in header.iter().enumerate() {
        let name = raw.trim().to_ascii_uppercase();
        let n = i as u64 + 1;
        if name.is_empty() {
            problems.push(problem(1, n, None, format!("column {n} has no name")));
        } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            problems.push(problem(1, n, Some(raw.trim().to_string()), "is not a D365 field name (letters, digits and '_')".into()));
        } else if columns.contains(&name) {
            problems.push(problem(1, n, Some(name.clone()), "appears twice in the header".into()));
        }
        columns.push(name);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut out = Vec::new();
    for record in records {
        match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| record_line(text, p.byte()));
                if record.iter().all(str::is_empty) {
                    continue;
                }
                let cells = columns
                    .iter()
                    .zip(record.iter())
                    .enumerate()
                    .map(|(i, (c, v))| (c.clone(), Cell { value: v.to_string(), line, column: i as u64 + 1 }))
                    .collect();
                out.push(Record { line, cells });
            }
            Err(e) => {
                problems.push(csv_problem(file, text, e));
                if problems.len() >= MAX_PROBLEMS {
                    break;
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let entity = DmfEntity::of_header(&columns);
    Ok((DmfFormat::Csv, columns, out, entity))
}

/// The line a record starts on. The csv crate's own line count places a record
/// after a CRLF on the line before (its position is the `\n` of that CRLF), and
/// DMF writes CRLF: so the line is counted here from the record's byte offset.
fn record_line(text: &str, byte: u64) -> u64 {
    let bytes = text.as_bytes();
    let mut at = usize::try_from(byte).unwrap_or(bytes.len()).min(bytes.len());
    while at < bytes.len() && (bytes[at] == b'\n' || bytes[at] == b'\r') {
        at += 1;
    }
    bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

fn csv_problem(file: &str, text: &str, e: csv::Error) -> DmfProblem {
    let line = e.position().map_or(0, |p| record_line(text, p.byte()));
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("this row has {len} fields but the header has {expected_len}; a value containing ',' must be in double quotes")
        }
        _ => e.to_string(),
    };
    DmfProblem { file: file.to_string(), line, column: 0, field: None, message, format: Some(DmfFormat::Csv) }
}

/// 1-based line and character column of a byte offset.
fn line_col(src: &str, offset: usize) -> (u64, u64) {
    let before = &src.as_bytes()[..offset.min(src.len())];
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let column = before[line_start..].iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64 + 1;
    (line, column)
}

/// Whether the element event just read was `<Name/>`.
enum ElementKind {
    Empty,
    Other,
}

/// DMF's XML: `<Document>`, one element per record, one element per field
/// holding its value as text. Nothing deeper, no DTD, only the predefined
/// entities and character references.
fn read_xml(file: &str, text: &str) -> Result<Parsed, Vec<DmfProblem>> {
    let err = |offset: usize, message: String| {
        let (line, column) = line_col(text, offset);
        vec![DmfProblem { file: file.to_string(), line, column, field: None, message, format: Some(DmfFormat::Xml) }]
    };
    let mut reader = Reader::from_str(text);
    let mut depth = 0usize;
    let mut record_element: Option<String> = None;
    let mut columns: Vec<String> = Vec::new();
    let mut records: Vec<Record> = Vec::new();
    // The record being read and the field being read (name, start offset, text).
    let mut record: Option<Record> = None;
    let mut field: Option<(String, usize, String)> = None;
    let mut seen_root = false;
    loop {
        let pos = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let at = usize::try_from(reader.error_position()).unwrap_or(pos);
                return Err(err(at, format!("malformed XML: {e}")));
            }
        };
        let event_kind = if matches!(event, Event::Empty(_)) { ElementKind::Empty } else { ElementKind::Other };
        match event {
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::DocType(_) => return Err(err(pos, "DTDs are not allowed: DMF files never declare a <!DOCTYPE>".into())),
            Event::Start(start) | Event::Empty(start) if depth > 2 => {
                let name = String::from_utf8_lossy(start.name().into_inner()).into_owned();
                let inside = field.as_ref().map_or_else(String::new, |f| f.0.clone());
                return Err(err(pos, format!("unexpected element <{name}> inside <{inside}>, which holds a value")));
            }
            Event::Start(start) | Event::Empty(start) => {
                let is_empty = matches!(event_kind, ElementKind::Empty);
                let name = String::from_utf8_lossy(start.local_name().into_inner()).into_owned();
                match depth {
                    0 => {
                        if seen_root {
                            return Err(err(pos, format!("a second root element <{name}>; a DMF file has one <Document>")));
                        }
                        seen_root = true;
                    }
                    1 => {
                        let upper = name.to_ascii_uppercase();
                        match &record_element {
                            None => record_element = Some(upper),
                            Some(r) if *r != upper => {
                                return Err(err(pos, format!("record <{name}> among <{r}> records; one file holds one entity")));
                            }
                            Some(_) => {}
                        }
                        let (line, _) = line_col(text, pos);
                        if is_empty {
                            records.push(Record { line, cells: BTreeMap::new() });
                        } else {
                            record = Some(Record { line, cells: BTreeMap::new() });
                        }
                    }
                    _ => {
                        let upper = name.to_ascii_uppercase();
                        if !upper.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                            return Err(err(pos, format!("<{name}> is not a D365 field name (letters, digits and '_')")));
                        }
                        if record.as_ref().is_some_and(|r| r.cells.contains_key(&upper)) {
                            return Err(err(pos, format!("<{name}> appears twice in one record")));
                        }
                        if !columns.contains(&upper) {
                            columns.push(upper.clone());
                        }
                        if is_empty {
                            let (line, column) = line_col(text, pos);
                            if let Some(r) = record.as_mut() {
                                r.cells.insert(upper, Cell { value: String::new(), line, column });
                            }
                        } else {
                            field = Some((upper, pos, String::new()));
                        }
                    }
                }
                if !is_empty {
                    depth += 1;
                }
            }
            Event::Text(t) => {
                let raw = std::str::from_utf8(&t.into_inner()).map(str::to_string).map_err(|_| err(pos, "invalid UTF-8".into()))?;
                match field.as_mut() {
                    Some(f) => f.2.push_str(&raw),
                    None if raw.trim().is_empty() => {}
                    None => return Err(err(pos, format!("text {:?} outside a field element", raw.trim()))),
                }
            }
            Event::CData(t) => {
                let raw = std::str::from_utf8(&t.into_inner()).map(str::to_string).map_err(|_| err(pos, "invalid UTF-8".into()))?;
                match field.as_mut() {
                    Some(f) => f.2.push_str(&raw),
                    None => return Err(err(pos, "CDATA outside a field element".into())),
                }
            }
            Event::GeneralRef(r) => {
                let name = String::from_utf8_lossy(&r).into_owned();
                let c = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        _ => return Err(err(pos, format!("invalid character reference &{name};"))),
                    }
                } else {
                    match name.as_str() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        _ => return Err(err(pos, format!("unknown entity reference &{name};"))),
                    }
                };
                match field.as_mut() {
                    Some(f) => f.2.push(c),
                    None => return Err(err(pos, format!("&{name}; outside a field element"))),
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                match depth {
                    2 => {
                        if let (Some((name, start, value)), Some(r)) = (field.take(), record.as_mut()) {
                            let (line, column) = line_col(text, start);
                            r.cells.insert(name, Cell { value, line, column });
                        }
                    }
                    1 => {
                        if let Some(r) = record.take() {
                            records.push(r);
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => {
                if depth > 0 {
                    return Err(err(text.len(), "the file ends before its elements are closed; is it truncated?".into()));
                }
                if !seen_root {
                    return Err(err(0, "no XML element in the file".into()));
                }
                break;
            }
        }
    }
    let entity = match &record_element {
        Some(name) => match DmfEntity::of_record_element(name) {
            Some(e) => Some(e),
            None => {
                return Err(err(
                    0,
                    format!(
                        "the records are <{name}>, an entity Warden does not read; expected {}",
                        DmfEntity::ALL.map(DmfEntity::record_element).join(", ")
                    ),
                ));
            }
        },
        None => None,
    };
    Ok((DmfFormat::Xml, columns, records, entity))
}

/// What an import will write, and what it noticed.
#[derive(Debug, Clone, Default)]
pub struct Planned {
    pub organizations: Vec<Organization>,
    pub users: Vec<User>,
    pub assignments: Vec<Assignment>,
    pub warnings: Vec<String>,
}

/// Collects problems up to [`MAX_PROBLEMS`].
struct Problems(Vec<DmfProblem>);

impl Problems {
    fn push(&mut self, p: DmfProblem) {
        if self.0.len() < MAX_PROBLEMS {
            self.0.push(p);
        }
    }
}

/// Stored and imported names of one kind by their ASCII-folded form (D365
/// names are case-insensitive), built once per import.
struct Names(HashMap<String, String>);

impl Names {
    fn of<'a>(names: impl IntoIterator<Item = &'a String>) -> Names {
        Names(names.into_iter().map(|n| (n.to_ascii_lowercase(), n.clone())).collect())
    }
    fn get(&self, text: &str) -> Option<&String> {
        self.0.get(&text.to_ascii_lowercase())
    }
    fn insert(&mut self, name: &str) {
        self.0.insert(name.to_ascii_lowercase(), name.to_string());
    }
}

/// Judges the files against `model` and works out the users, organizations
/// and assignments to store. All problems of all files, or the plan.
pub fn plan_import(files: &[EntityFile], model: &Model) -> Result<Planned, Vec<DmfProblem>> {
    let mut problems = Problems(Vec::new());
    let mut planned = Planned::default();
    for file in files {
        column_warnings(file, model, &mut planned.warnings);
    }
    for (i, file) in files.iter().enumerate() {
        if let Some(j) = files[..i].iter().position(|f| f.entity == file.entity) {
            problems.push(file.problem(1, 0, None, format!("{} is also in {}; give each entity once", file.entity.entity_name(), files[j].file)));
        }
    }
    // Users first: the assignment files may name users the user file brings.
    let mut user_names = Names::of(model.users.keys());
    for file in files.iter().filter(|f| f.entity == DmfEntity::Users) {
        plan_users(file, model, &mut planned, &mut problems);
    }
    for u in &planned.users {
        user_names.insert(&u.id);
    }
    let role_names = Names::of(model.roles.keys());
    // (user, role) → the enabled assignment the role file brings, by line.
    let mut assigned: BTreeMap<(String, String), (Assignment, u64)> = BTreeMap::new();
    let mut disabled: BTreeMap<(String, String), u64> = BTreeMap::new();
    let role_file = files.iter().find(|f| f.entity == DmfEntity::UserRoles);
    if let Some(file) = role_file {
        let mut automatic = 0usize;
        for record in &file.records {
            let before = problems.0.len();
            let user = resolve(file, record, "USERID", ObjectKind::User, &user_names, model.users.keys(), &mut problems);
            let role = resolve(file, record, "SECURITYROLEIDENTIFIER", ObjectKind::Role, &role_names, model.roles.keys(), &mut problems);
            let status = record.value("ASSIGNMENTSTATUS");
            let enabled = match status.to_ascii_lowercase().as_str() {
                "" | "enabled" => true,
                "disabled" => false,
                _ => {
                    problems.push(file.at(record, "ASSIGNMENTSTATUS", format!("'{status}' is not an assignment status; D365 writes Enabled or Disabled")));
                    true
                }
            };
            let mode = record.value("ASSIGNMENTMODE");
            let by_rule = match mode.to_ascii_lowercase().as_str() {
                "" | "manual" => false,
                "automatic" => true,
                _ => {
                    problems.push(file.at(record, "ASSIGNMENTMODE", format!("'{mode}' is not an assignment mode; D365 writes Manual or Automatic")));
                    false
                }
            };
            let (Some(user), Some(role)) = (user, role) else { continue };
            if problems.0.len() > before {
                continue;
            }
            let key = (user.clone(), role.clone());
            if let Some(first) = assigned.get(&key).map(|(_, l)| *l).or_else(|| disabled.get(&key).copied()) {
                problems.push(file.at(record, "SECURITYROLEIDENTIFIER", format!("user '{user}' is given role '{role}' already on line {first}; one row per user and role")));
                continue;
            }
            if !enabled {
                let stays = if model.assignments_of(&user).iter().any(|a| a.role == role) {
                    "; the stored assignment stays (revoke it with `warden user revoke` if D365 is right)"
                } else {
                    ""
                };
                planned.warnings.push(format!(
                    "{}:{}: role '{role}' of user '{user}' is Disabled in D365: not imported, Warden keeps no disabled assignments{stays}",
                    file.file, record.line
                ));
                disabled.insert(key, record.line);
                continue;
            }
            let assignment = match model.assignments_of(&user).iter().find(|a| a.role == role) {
                // D365 knows no validity windows: a stored window (and rule) stays.
                Some(stored) => stored.clone(),
                None => Assignment::global(&user, &role),
            };
            // Made by a D365 rule, stored as manual (a stored rule-made one stays rule-made).
            if by_rule && assignment.rule.is_none() {
                automatic += 1;
            }
            assigned.insert(key, (assignment, record.line));
        }
        if automatic > 0 {
            planned.warnings.push(format!(
                "{}: {automatic} assignment{} made by D365's assignment rules (ASSIGNMENTMODE Automatic) {} imported as manual assignments; Warden's own assignment rules are separate",
                file.file,
                if automatic == 1 { "" } else { "s" },
                if automatic == 1 { "was" } else { "were" }
            ));
        }
    }
    // Organization scopes.
    let scope_file = files.iter().find(|f| f.entity == DmfEntity::UserRoleOrganizations);
    let mut org_names = Names::of(model.organizations.keys());
    let look_alikes: HashMap<String, &str> = model.organizations.keys().map(|k| (warden_model::fold(k), k.as_str())).collect();
    let mut scopes: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut scope_lines: HashMap<(String, String, String), u64> = HashMap::new();
    if let Some(file) = scope_file {
        for record in &file.records {
            let before = problems.0.len();
            let user = resolve(file, record, "USERID", ObjectKind::User, &user_names, model.users.keys(), &mut problems);
            let role = resolve(file, record, "SECURITYROLEIDENTIFIER", ObjectKind::Role, &role_names, model.roles.keys(), &mut problems);
            let kind = record.value("ORGANIZATIONTYPE");
            if !(kind.is_empty() || kind.eq_ignore_ascii_case("LegalEntity")) {
                problems.push(file.at(
                    record,
                    "ORGANIZATIONTYPE",
                    format!("'{kind}': Warden scopes assignments to legal entities only; remove the row or scope the role to legal entities in D365"),
                ));
            }
            for column in ["OPERATINGUNITTYPE", "HIERARCHYTYPE"] {
                let v = record.value(column);
                if !(v.is_empty() || v.eq_ignore_ascii_case("None")) {
                    problems.push(file.at(record, column, format!("'{v}': Warden scopes assignments to legal entities only, not to operating units of a hierarchy")));
                }
            }
            let org_text = record.value("ORGANIZATIONID");
            let org = if org_text.is_empty() {
                problems.push(file.at(record, "ORGANIZATIONID", "is empty; every row names the organization the assignment is limited to"));
                None
            } else if let Err(e) = warden_model::validate_id(ObjectKind::Organization, org_text) {
                problems.push(file.at(record, "ORGANIZATIONID", e.to_string()));
                None
            } else if let Some(stored) = org_names.get(org_text) {
                Some(stored.clone())
            } else if let Some(existing) = look_alikes.get(&warden_model::fold(org_text)).filter(|e| !e.eq_ignore_ascii_case(org_text)) {
                problems.push(file.at(record, "ORGANIZATIONID", format!("organization {org_text:?} looks the same as existing organization '{existing}'")));
                None
            } else {
                org_names.insert(org_text);
                planned.organizations.push(Organization { id: org_text.to_string(), name: None });
                Some(org_text.to_string())
            };
            let (Some(user), Some(role), Some(org)) = (user, role, org) else { continue };
            if problems.0.len() > before {
                continue;
            }
            let key = (user.clone(), role.clone());
            if disabled.contains_key(&key) {
                continue; // the Disabled row's warning covers its scopes
            }
            let in_store = model.assignments_of(&user).iter().any(|a| a.role == role);
            if !assigned.contains_key(&key) && !in_store {
                let place = role_file.map_or_else(|| "the store".to_string(), |f| format!("{} or the store", f.file));
                problems.push(file.at(record, "SECURITYROLEIDENTIFIER", format!("user '{user}' has no role '{role}' in {place}, so it cannot be limited to '{org}'")));
                continue;
            }
            if let Some(first) = scope_lines.insert((user.clone(), role.clone(), org.to_ascii_lowercase()), record.line) {
                problems.push(file.at(record, "ORGANIZATIONID", format!("'{org}' is given to role '{role}' of user '{user}' already on line {first}")));
                continue;
            }
            scopes.entry(key).or_default().push(org);
        }
    }
    if !problems.0.is_empty() {
        return Err(problems.0);
    }
    // Put scopes onto assignments: with a scope file, an assignment's organizations are
    // exactly its rows there (none: global); without one, stored scopes stay.
    let mut new_global = 0usize;
    let mut out: BTreeMap<(String, String), Assignment> = assigned.into_iter().map(|(k, (a, _))| (k, a)).collect();
    if scope_file.is_some() {
        for (key, a) in out.iter_mut() {
            a.organizations = scopes.remove(key).unwrap_or_default();
            a.organizations.sort();
        }
        for (key, mut orgs) in scopes {
            if let Some(stored) = model.assignments_of(&key.0).iter().find(|a| a.role == key.1) {
                orgs.sort();
                out.insert(key, Assignment { organizations: orgs, ..stored.clone() });
            }
        }
    } else {
        new_global = out.iter().filter(|((u, r), _)| !model.assignments_of(u).iter().any(|a| a.role == *r)).count();
    }
    if new_global > 0 {
        planned.warnings.push(format!(
            "no {} file in this import: {new_global} new assignment{} global (every organization); stored assignments keep their organizations",
            DmfEntity::UserRoleOrganizations.entity_name(),
            if new_global == 1 { " is" } else { "s are" }
        ));
    }
    planned.assignments = out.into_values().collect();
    Ok(planned)
}

/// The stored spelling of the user or role a record names, or a problem.
fn resolve<'a>(
    file: &EntityFile,
    record: &Record,
    column: &str,
    kind: ObjectKind,
    names: &Names,
    known: impl Iterator<Item = &'a String>,
    problems: &mut Problems,
) -> Option<String> {
    let text = record.value(column);
    if text.is_empty() {
        problems.push(file.at(record, column, format!("is empty; every row names a {kind}")));
        return None;
    }
    if let Err(e) = warden_model::validate_id(kind, text) {
        problems.push(file.at(record, column, e.to_string()));
        return None;
    }
    match names.get(text) {
        Some(name) => Some(name.clone()),
        None => {
            let hint = crate::names::did_you_mean(known.map(String::as_str), text);
            let what = match kind {
                ObjectKind::Role => "; import the role's AOT model first (warden import aot)",
                _ => "; import the users with the user information entity in the same command",
            };
            problems.push(file.at(record, column, format!("unknown {kind} '{text}'{hint}{what}")));
            None
        }
    }
}

/// Warnings for columns that are read but not imported, once per column.
/// `SECURITYROLENAME` is named only where it differs from what export writes
/// back (the role's label), so a file D365 wrote from the same roles reads quietly.
fn column_warnings(file: &EntityFile, model: &Model, warnings: &mut Vec<String>) {
    let entity = file.entity;
    if entity == DmfEntity::Users {
        return; // every user column is used or kept
    }
    let roles = Names::of(model.roles.keys());
    for column in &file.columns {
        if entity.used().contains(&column.as_str()) {
            continue;
        }
        let (filled, what) = if column == "SECURITYROLENAME" {
            let differing = file
                .records
                .iter()
                .filter(|r| {
                    let v = r.value(column);
                    let role = roles.get(r.value("SECURITYROLEIDENTIFIER")).and_then(|n| model.roles.get(n));
                    !v.is_empty() && role.is_some_and(|role| v != role.label.as_deref().unwrap_or(&role.name))
                })
                .count();
            (differing, "unlike the role's label")
        } else {
            (file.records.iter().filter(|r| !r.value(column).is_empty()).count(), "")
        };
        if filled == 0 {
            continue;
        }
        let why = match entity.derived().iter().find(|(c, _)| c == column) {
            Some((_, why)) => format!("not stored: {why}"),
            None => format!("not a field of {} that Warden knows; its values are not imported", entity.entity_name()),
        };
        let what = if what.is_empty() { String::new() } else { format!(" {what}") };
        warnings.push(format!("{}: column {column} ({filled} value{}{what}): {why}", file.file, if filled == 1 { "" } else { "s" }));
    }
}

fn plan_users(file: &EntityFile, model: &Model, planned: &mut Planned, problems: &mut Problems) {
    let look_alikes: HashMap<String, &str> = model.users.keys().map(|k| (warden_model::fold(k), k.as_str())).collect();
    let stored = Names::of(model.users.keys());
    let mut seen: HashMap<String, u64> = HashMap::new();
    let kept: Vec<&String> = file.columns.iter().filter(|c| !DmfEntity::Users.used().contains(&c.as_str())).collect();
    for record in &file.records {
        let id = record.value("USERID");
        if id.is_empty() {
            problems.push(file.at(record, "USERID", "is empty; every row needs a user id"));
            continue;
        }
        if let Err(e) = warden_model::validate_id(ObjectKind::User, id) {
            problems.push(file.at(record, "USERID", e.to_string()));
            continue;
        }
        if let Some(existing) = look_alikes.get(&warden_model::fold(id)).filter(|e| !e.eq_ignore_ascii_case(id)) {
            problems.push(file.at(record, "USERID", format!("user {id:?} looks the same as existing user '{existing}'")));
            continue;
        }
        if let Some(first) = seen.insert(warden_model::fold(id), record.line) {
            problems.push(file.at(record, "USERID", format!("user '{id}' already appears on line {first}")));
            continue;
        }
        let existing = stored.get(id).and_then(|k| model.users.get(k));
        let mut user = existing.cloned().unwrap_or_else(|| User::new(id));
        if let Some(cell) = record.get("USERNAME") {
            user.name = (!cell.value.is_empty()).then(|| cell.value.clone());
        }
        if let Some(cell) = record.get("EMAIL") {
            if !cell.value.is_empty() && !looks_like_email(&cell.value) {
                problems.push(file.at(record, "EMAIL", format!("'{}' is not an email address", cell.value)));
            }
            user.email = (!cell.value.is_empty()).then(|| cell.value.clone());
        }
        if let Some(cell) = record.get("ENABLED") {
            match cell.value.to_ascii_lowercase().as_str() {
                "" => {}
                "yes" | "1" | "true" => user.enabled = true,
                "no" | "0" | "false" => user.enabled = false,
                other => problems.push(file.at(record, "ENABLED", format!("'{other}' is not Yes or No"))),
            }
        }
        for column in &kept {
            let value = record.value(column);
            let key = format!("{D365_ATTRIBUTE_PREFIX}{column}");
            // One spelling per attribute: a stored spelling of the same name is replaced.
            user.attributes.retain(|k, _| !k.eq_ignore_ascii_case(&key));
            if !value.is_empty() {
                user.attributes.insert(key, value.to_string());
            }
        }
        planned.users.push(user);
    }
}

/// One entity file's content, as the command line read it or the API received it.
#[derive(Debug, Clone)]
pub struct DmfInput {
    /// How problems name the file.
    pub name: String,
    pub data: Vec<u8>,
    /// A file that may be something else (another entity of a data package):
    /// passed over with a warning when it is not one of ours.
    pub optional: bool,
}

/// What `import dmf` read and changed.
#[derive(Debug, Clone, Serialize)]
pub struct DmfImportOutcome {
    pub files: Vec<DmfFileRead>,
    pub organizations: Counts,
    pub users: Counts,
    pub assignments: Counts,
    /// What was read but not imported, and why (never silently).
    pub warnings: Vec<String>,
    /// Whether anything was committed: an import that finds everything as
    /// stored writes nothing (no revision, no audit event).
    pub changed: bool,
    pub revision: Revision,
}

#[derive(Debug, Clone, Serialize)]
pub struct DmfFileRead {
    pub file: String,
    pub entity: DmfEntity,
    pub format: DmfFormat,
    pub records: usize,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl From<&Tally> for Counts {
    fn from(t: &Tally) -> Counts {
        Counts { added: t.added, updated: t.updated, unchanged: t.unchanged }
    }
}

/// What `export dmf` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct DmfExportOutcome {
    pub files: Vec<DmfFileWritten>,
    /// What D365's entities cannot hold (validity windows), and what was left out.
    pub warnings: Vec<String>,
    pub revision: Revision,
}

#[derive(Debug, Clone, Serialize)]
pub struct DmfFileWritten {
    pub path: PathBuf,
    pub entity: DmfEntity,
    pub format: DmfFormat,
    pub records: usize,
}

/// The files `paths` name: files as given, folders (an unpacked data package)
/// by their `.csv` and `.xml` files. Special files are refused.
fn entity_paths(paths: &[PathBuf]) -> Result<Vec<(PathBuf, bool)>, CoreError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| CoreError::Read { path: path.clone(), source })?;
        if meta.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|source| CoreError::Read { path: path.clone(), source })?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
                    (name.ends_with(".csv") || name.ends_with(".xml")) && !PACKAGE_FILES.contains(&name.as_str())
                })
                .collect();
            found.sort();
            out.extend(found.into_iter().map(|p| (p, true)));
        } else if meta.is_file() {
            out.push((path.clone(), false));
        } else {
            return Err(CoreError::InvalidInput(format!("{} is not a regular file or folder; give the entity files D365 exported", path.display())));
        }
    }
    Ok(out)
}

fn dmf_refused(problems: Vec<DmfProblem>) -> CoreError {
    CoreError::Dmf(problems)
}

impl Warden {
    /// `import dmf PATH...`: users, role assignments and their organization
    /// scopes from D365's data-management entity files (CSV or XML), in one
    /// audited commit, checked as `user assign` is: a new segregation-of-duties
    /// conflict refuses the import naming the rule, unless `override_reason`
    /// allows it (recorded per conflict). Stored users and assignments the
    /// files do not mention stay. `entity` says what a single file holds when
    /// its content cannot.
    pub async fn import_dmf(&self, paths: &[PathBuf], entity: Option<DmfEntity>, override_reason: Option<&str>) -> Result<DmfImportOutcome, CoreError> {
        let listed = entity_paths(paths)?;
        if listed.is_empty() {
            return Err(CoreError::InvalidInput(format!(
                "no .csv or .xml file in {}; give the entity files D365 exported",
                paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            )));
        }
        let mut inputs = Vec::with_capacity(listed.len());
        for (path, from_folder) in listed {
            let data = std::fs::read(&path).map_err(|source| CoreError::Read { path: path.clone(), source })?;
            // In a folder (a data package), a file not named for one of ours may be another entity.
            let optional = from_folder && DmfEntity::of_file_name(&path).is_none();
            inputs.push(DmfInput { name: path.display().to_string(), data, optional });
        }
        self.import_dmf_data(inputs, entity, override_reason).await
    }

    /// [`Warden::import_dmf`] on file contents (the API's request body).
    pub async fn import_dmf_data(&self, inputs: Vec<DmfInput>, entity: Option<DmfEntity>, override_reason: Option<&str>) -> Result<DmfImportOutcome, CoreError> {
        if override_reason.is_some_and(|r| r.trim().is_empty()) {
            return Err(CoreError::InvalidInput("--override-reason is empty; say why the conflicts are allowed".into()));
        }
        if inputs.is_empty() {
            return Err(CoreError::InvalidInput("no entity file given".into()));
        }
        if entity.is_some() && inputs.len() > 1 {
            return Err(CoreError::InvalidInput("--entity says what one file holds; give one file with it".into()));
        }
        let mut files = Vec::new();
        let mut problems = Vec::new();
        let mut skipped = Vec::new();
        for input in &inputs {
            match read_entity_file(&input.name, &input.data, entity) {
                Ok(f) => files.push(f),
                Err(p) if input.optional => {
                    let why = p.first().map(|p| p.message.as_str()).unwrap_or_default();
                    skipped.push(format!("{}: skipped, not an entity file Warden reads: {why}", input.name));
                }
                Err(p) => problems.extend(p),
            }
        }
        if !problems.is_empty() {
            return Err(dmf_refused(problems));
        }
        if files.is_empty() {
            return Err(CoreError::InvalidInput(format!("none of the files is an entity file Warden reads:\n  {}", skipped.join("\n  "))));
        }
        let read: Vec<DmfFileRead> =
            files.iter().map(|f| DmfFileRead { file: f.file.clone(), entity: f.entity, format: f.format, records: f.records() }).collect();
        let mut target = crate::sod::refusing(override_reason.map(|r| r.trim().to_string()));
        target.nothing_if_unchanged = true;
        let (outcome, revision, _) = self
            .run_to(target, Validation::AllowDangling, |model| {
                let planned = plan_import(&files, model).map_err(dmf_refused)?;
                let (mut orgs, mut users, mut assignments) = (Tally::default(), Tally::default(), Tally::default());
                let mut changes = Vec::new();
                let objects = planned
                    .organizations
                    .iter()
                    .cloned()
                    .map(|o| (Object::Organization(o), 0))
                    .chain(planned.users.iter().cloned().map(|u| (Object::User(u), 1)))
                    .chain(planned.assignments.iter().cloned().map(|a| (Object::Assignment(a), 2)));
                for (object, which) in objects {
                    let tally = [&mut orgs, &mut users, &mut assignments][which].count(model, &object);
                    if tally {
                        changes.push(Change::Put(object));
                    }
                }
                let summary = json!({
                    "files": files.iter().map(|f| json!({"file": f.file, "entity": f.entity, "records": f.records()})).collect::<Vec<_>>(),
                    "organizations": Counts::from(&orgs), "users": Counts::from(&users), "assignments": Counts::from(&assignments),
                    "override_reason": override_reason,
                });
                let outcome = (Counts::from(&orgs), Counts::from(&users), Counts::from(&assignments), planned.warnings, !changes.is_empty());
                Ok(Plan { action: "import dmf", summary, changes, outcome })
            })
            .await?;
        let (organizations, users, assignments, mut warnings, changed) = outcome;
        warnings.extend(skipped);
        Ok(DmfImportOutcome { files: read, organizations, users, assignments, warnings, changed, revision })
    }

    /// One entity as D365's file content (the API's export): the bytes, how
    /// many records, the warnings of [`Warden::export_dmf`], and the revision read.
    pub async fn dmf_entity(&self, entity: DmfEntity, format: DmfFormat) -> Result<(Vec<u8>, usize, Vec<String>, Revision), CoreError> {
        let (model, revision) = self.loaded().await?;
        let mut warnings = Vec::new();
        let (bytes, records) = write_entity(&model, entity, format, self.now(), &mut warnings)?;
        Ok((bytes, records, warnings, revision))
    }

    /// `export dmf --out PATH`: the stored users, role assignments and their
    /// organization scopes as D365's entity files, CSV or XML. With `entity`,
    /// `out` is that entity's file; without, a folder that receives all three
    /// under the names a data package gives them. Every file is written to a
    /// temporary file beside it and renamed into place, never through a link;
    /// an existing file is replaced only with `overwrite`.
    pub async fn export_dmf(&self, out: &Path, entity: Option<DmfEntity>, format: DmfFormat, overwrite: bool) -> Result<DmfExportOutcome, CoreError> {
        let (model, revision) = self.loaded().await?;
        let now = self.now();
        let targets: Vec<(DmfEntity, PathBuf)> = match entity {
            Some(e) => vec![(e, out.to_path_buf())],
            None => {
                match std::fs::symlink_metadata(out) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => return Err(CoreError::InvalidInput(format!("{} is not a folder; without --entity, --out names the folder for the three entity files", out.display()))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        std::fs::create_dir_all(out).map_err(|source| CoreError::Write { path: out.to_path_buf(), source })?;
                    }
                    Err(source) => return Err(CoreError::Read { path: out.to_path_buf(), source }),
                }
                DmfEntity::ALL.iter().map(|e| (*e, out.join(format!("{}.{}", e.file_stem(), format.extension())))).collect()
            }
        };
        for (_, path) in &targets {
            match std::fs::symlink_metadata(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(CoreError::Read { path: path.clone(), source }),
                Ok(m) if m.file_type().is_symlink() || !m.is_file() => {
                    return Err(CoreError::InvalidInput(format!("{} is a link or not a regular file; Warden does not write through it", path.display())));
                }
                Ok(_) if !overwrite => {
                    return Err(CoreError::InvalidInput(format!("{} exists; choose another name, or pass --force to replace it", path.display())));
                }
                Ok(_) => {}
            }
        }
        let mut warnings = Vec::new();
        let mut written = Vec::new();
        for (e, path) in &targets {
            let (bytes, records) = write_entity(&model, *e, format, now, &mut warnings)?;
            written.push((path.clone(), bytes, *e, records));
        }
        // Everything is rendered before the first file is touched; then each file is replaced atomically.
        let mut staged = Vec::new();
        for (path, bytes, _, _) in &written {
            staged.push(Staged::write(path, bytes)?);
        }
        for s in &mut staged {
            s.commit()?;
        }
        let files = written.into_iter().map(|(path, _, entity, records)| DmfFileWritten { path, entity, format, records }).collect();
        Ok(DmfExportOutcome { files, warnings, revision })
    }
}

/// A file written beside its target under a temporary name, renamed over it
/// on [`Staged::commit`] and removed if dropped before.
struct Staged {
    temp: PathBuf,
    target: PathBuf,
    done: bool,
}

impl Staged {
    fn write(target: &Path, bytes: &[u8]) -> Result<Staged, CoreError> {
        use std::io::Write;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target.file_name().map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned());
        let pid = std::process::id();
        for n in 0..1000 {
            let temp = parent.join(format!(".{name}.warden-{pid}-{n}"));
            // create_new never follows a link and never reuses a file.
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(mut f) => {
                    let staged = Staged { temp: temp.clone(), target: target.to_path_buf(), done: false };
                    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|source| CoreError::Write { path: temp.clone(), source })?;
                    return Ok(staged);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(CoreError::Write { path: temp, source }),
            }
        }
        Err(CoreError::Write { path: parent, source: std::io::Error::other("no free name for a temporary file") })
    }

    fn commit(&mut self) -> Result<(), CoreError> {
        std::fs::rename(&self.temp, &self.target).map_err(|source| CoreError::Write { path: self.target.clone(), source })?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// A table to write: columns and rows of values.
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Whether `role` is one of Warden's own (its built-in model), which D365 does not have.
fn is_builtin(model: &Model, role: &str) -> bool {
    model.roles.get(role).is_some_and(|r| r.model.as_deref() == Some(crate::builtin::MODEL))
}

/// The assignments D365 should receive: all but those of Warden's built-in roles.
fn exported_assignments(model: &Model) -> impl Iterator<Item = &Assignment> + '_ {
    model.assignments.iter().filter(|a| !is_builtin(model, &a.role))
}

/// The rows of one entity, in D365's column names.
fn table(model: &Model, entity: DmfEntity, now: Timestamp, warnings: &mut Vec<String>) -> Table {
    match entity {
        DmfEntity::Users => {
            // Users D365 has (d365.* attributes) or should get (a D365 role); Warden's own administrators stay.
            let d365_role: std::collections::HashSet<&str> = exported_assignments(model).map(|a| a.user.as_str()).collect();
            let users: Vec<&User> = model
                .users
                .values()
                .filter(|u| d365_role.contains(u.id.as_str()) || u.attributes.keys().any(|k| is_d365_attribute(k)))
                .collect();
            let left_out = model.users.len() - users.len();
            if left_out > 0 {
                warnings.push(format!(
                    "{left_out} user{} with neither a D365 role nor d365.* attributes (Warden's own accounts) left out of {}",
                    if left_out == 1 { "" } else { "s" },
                    entity.entity_name()
                ));
            }
            let mut kept: Vec<String> = users
                .iter()
                .flat_map(|u| u.attributes.keys())
                .filter(|k| is_d365_attribute(k))
                .map(|k| k[D365_ATTRIBUTE_PREFIX.len()..].to_ascii_uppercase())
                .filter(|c| !DmfEntity::Users.used().contains(&c.as_str()))
                .collect();
            // D365 cannot create a user without a network domain (the identity provider).
            kept.push("NETWORKDOMAIN".into());
            kept.sort();
            kept.dedup();
            let mut columns: Vec<String> = DmfEntity::Users.used().iter().map(|c| c.to_string()).collect();
            columns.extend(kept.iter().cloned());
            let mut missing_domain = Vec::new();
            let mut unnamed = Vec::new();
            let rows = users
                .iter()
                .map(|u| {
                    let mut row = vec![
                        u.id.clone(),
                        u.name.clone().unwrap_or_else(|| {
                            unnamed.push(u.id.clone());
                            String::new()
                        }),
                        u.email.clone().unwrap_or_default(),
                        if u.enabled { "Yes" } else { "No" }.to_string(),
                    ];
                    for column in &kept {
                        let key = format!("{D365_ATTRIBUTE_PREFIX}{column}");
                        let value = u.attributes.iter().find(|(k, _)| k.eq_ignore_ascii_case(&key)).map(|(_, v)| v.clone()).unwrap_or_default();
                        if column == "NETWORKDOMAIN" && value.is_empty() {
                            missing_domain.push(u.id.clone());
                        }
                        row.push(value);
                    }
                    row
                })
                .collect();
            let some = |ids: &[String]| {
                let shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
                format!("{} user{} ({}{})", ids.len(), if ids.len() == 1 { "" } else { "s" }, shown.join(", "), if ids.len() > 5 { ", ..." } else { "" })
            };
            if !missing_domain.is_empty() {
                warnings.push(format!(
                    "{} without d365.NETWORKDOMAIN: D365 needs it to create a user (e.g. https://sts.windows.net/); set it with `warden user edit ID --attr d365.NETWORKDOMAIN=...`",
                    some(&missing_domain)
                ));
            }
            if !unnamed.is_empty() {
                warnings.push(format!("{} without a name: D365 needs USERNAME to create a user; set it with `warden user edit ID --name ...`", some(&unnamed)));
            }
            Table { columns, rows }
        }
        DmfEntity::UserRoles => {
            let columns = ["USERID", "SECURITYROLEIDENTIFIER", "SECURITYROLENAME", "ASSIGNMENTSTATUS", "ASSIGNMENTMODE"];
            let mut rows = Vec::new();
            let mut windows = 0usize;
            for a in exported_assignments(model) {
                let label = model.roles.get(&a.role).and_then(|r| r.label.clone()).unwrap_or_else(|| a.role.clone());
                let in_force = a.is_valid_at(now);
                if a.valid_from.is_some() || a.valid_to.is_some() {
                    windows += 1;
                    if windows <= 5 {
                        let window = format!(
                            "[{}, {})",
                            a.valid_from.map_or_else(|| "-".to_string(), |t| t.to_string()),
                            a.valid_to.map_or_else(|| "-".to_string(), |t| t.to_string())
                        );
                        warnings.push(format!(
                            "role '{}' of user '{}' is valid {window}; D365's entity has no validity window: written {}",
                            a.role,
                            a.user,
                            if in_force { "Enabled (in force now)" } else { "Disabled (not in force now)" }
                        ));
                    }
                }
                let status = if in_force { "Enabled" } else { "Disabled" };
                let mode = if a.rule.is_some() { "Automatic" } else { "Manual" };
                rows.push(vec![a.user.clone(), a.role.clone(), label, status.to_string(), mode.to_string()]);
            }
            if windows > 5 {
                warnings.push(format!("... and {} more assignments with validity windows", windows - 5));
            }
            let builtin = model.assignments.iter().count() - rows.len();
            if builtin > 0 {
                warnings.push(format!(
                    "{builtin} assignment{} of Warden's built-in roles left out: D365 has no such roles",
                    if builtin == 1 { "" } else { "s" }
                ));
            }
            Table { columns: columns.map(str::to_string).to_vec(), rows }
        }
        DmfEntity::UserRoleOrganizations => {
            let columns = ["USERID", "SECURITYROLEIDENTIFIER", "ORGANIZATIONTYPE", "ORGANIZATIONID"];
            let rows = exported_assignments(model)
                .flat_map(|a| a.organizations.iter().map(move |o| vec![a.user.clone(), a.role.clone(), "LegalEntity".to_string(), o.clone()]))
                .collect();
            Table { columns: columns.map(str::to_string).to_vec(), rows }
        }
    }
}

fn is_d365_attribute(key: &str) -> bool {
    key.len() > D365_ATTRIBUTE_PREFIX.len()
        && key.is_char_boundary(D365_ATTRIBUTE_PREFIX.len())
        && key[..D365_ATTRIBUTE_PREFIX.len()].eq_ignore_ascii_case(D365_ATTRIBUTE_PREFIX)
}

/// One entity's file content and how many records it holds.
pub fn write_entity(model: &Model, entity: DmfEntity, format: DmfFormat, now: Timestamp, warnings: &mut Vec<String>) -> Result<(Vec<u8>, usize), CoreError> {
    let table = table(model, entity, now, warnings);
    let records = table.rows.len();
    let bytes = match format {
        DmfFormat::Csv => {
            // A byte-order mark, as D365's Unicode CSV format and spreadsheet programs expect.
            let mut out = b"\xEF\xBB\xBF".to_vec();
            let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(&mut out);
            let write = |w: &mut csv::Writer<&mut Vec<u8>>| -> csv::Result<()> {
                w.write_record(&table.columns)?;
                for row in &table.rows {
                    w.write_record(row)?;
                }
                w.flush()?;
                Ok(())
            };
            write(&mut w).map_err(|e| CoreError::InvalidInput(format!("cannot write CSV: {e}")))?;
            drop(w);
            out
        }
        DmfFormat::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Document>\r\n");
            for row in &table.rows {
                out.push_str("  <");
                out.push_str(entity.record_element());
                out.push_str(">\r\n");
                for (column, value) in table.columns.iter().zip(row) {
                    if let Some(c) = value.chars().find(|c| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || *c == '\u{FFFE}' || *c == '\u{FFFF}') {
                        return Err(CoreError::InvalidInput(format!(
                            "{} of {} '{}' holds U+{:04X}, which XML cannot hold; change the value, or export as CSV",
                            column,
                            entity.entity_name(),
                            row[0],
                            u32::from(c)
                        )));
                    }
                    out.push_str("    <");
                    out.push_str(column);
                    out.push('>');
                    out.push_str(&quick_xml::escape::escape(value.as_str()));
                    out.push_str("</");
                    out.push_str(column);
                    out.push_str(">\r\n");
                }
                out.push_str("  </");
                out.push_str(entity.record_element());
                out.push_str(">\r\n");
            }
            out.push_str("</Document>\r\n");
            out.into_bytes()
        }
    };
    Ok((bytes, records))
}


#[cfg(test)]
mod tests {
    use super::*;

    fn read(data: &[u8]) -> Result<EntityFile, Vec<String>> {
        read_entity_file("f", data, None).map_err(|p| p.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn xml_values_resolve_references_and_keep_their_text() {
        let f = read(
            b"<?xml version=\"1.0\"?>\n<Document><SYSTEMUSERENTITY><USERID>a&amp;b</USERID><USERNAME><![CDATA[<Ann>]]> &#x4E;</USERNAME><EMAIL/></SYSTEMUSERENTITY></Document>",
        )
        .expect("reads");
        assert_eq!(f.entity, DmfEntity::Users);
        assert_eq!(f.rows(), vec![vec![("EMAIL".into(), String::new()), ("USERID".into(), "a&b".into()), ("USERNAME".into(), "<Ann> N".into())]]);
    }

    #[test]
    fn xml_that_is_not_dmf_is_refused_with_its_place() {
        let e = read(b"<!DOCTYPE x [<!ENTITY a \"b\">]><Document/>").expect_err("dtd");
        assert!(e[0].contains("DTDs are not allowed"), "{e:?}");
        let e = read(b"<Document>\n <SYSTEMUSERENTITY><USERID><b>x</b></USERID></SYSTEMUSERENTITY></Document>").expect_err("nested");
        assert!(e[0].starts_with("f:2:") && e[0].contains("unexpected element <b> inside <USERID>"), "{e:?}");
        let e = read(b"<Document><SYSTEMUSERENTITY><USERID>&bogus;</USERID></SYSTEMUSERENTITY></Document>").expect_err("entity");
        assert!(e[0].contains("unknown entity reference &bogus;"), "{e:?}");
        let e = read(b"<Document><SYSTEMSECURITYROLEENTITY><X>1</X></SYSTEMSECURITYROLEENTITY></Document>").expect_err("other entity");
        assert!(e[0].contains("<SYSTEMSECURITYROLEENTITY>, an entity Warden does not read"), "{e:?}");
        let e = read(b"<Document><SYSTEMUSERENTITY><USERNAME>x</USERNAME></SYSTEMUSERENTITY></Document>").expect_err("no id");
        assert!(e[0].contains("the record has no <USERID> element"), "{e:?}");
        let e = read(b"<Document><SYSTEMUSERENTITY><USERID>x</USERID>").expect_err("truncated");
        assert!(e[0].contains("truncated"), "{e:?}");
    }

    #[test]
    fn csv_in_utf16_with_a_byte_order_mark_reads_like_utf8() {
        let text = "USERID,SECURITYROLEIDENTIFIER\r\nJörg,SystemUser\r\n";
        let mut data = vec![0xFF, 0xFE];
        data.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let f = read(&data).expect("reads");
        assert_eq!(f.entity, DmfEntity::UserRoles);
        assert_eq!(f.records[0].value("USERID"), "Jörg");
        assert_eq!(f.records[0].get("SECURITYROLEIDENTIFIER").map(|c| (c.line, c.column)), Some((2, 2)));
    }

    #[test]
    fn csv_headers_are_checked() {
        let e = read(b"USERID,userid\nx,y\n").expect_err("twice");
        assert_eq!(e, ["f:1: column 2 (USERID): appears twice in the header"]);
        let e = read(b"NAME,MAIL\nx,y\n").expect_err("unknown entity");
        assert!(e[0].contains("cannot tell which entity"), "{e:?}");
        let e = read_entity_file("f", b"USERID\nx\n", Some(DmfEntity::UserRoles)).expect_err("forced");
        assert!(e[0].to_string().contains("missing column SECURITYROLEIDENTIFIER"), "{e:?}");
        let e = read(b"USERID,SECURITYROLEIDENTIFIER\nx,y,z\n").expect_err("ragged");
        assert!(e[0].contains("f:2: this row has 3 fields but the header has 2"), "{e:?}");
    }

    #[test]
    fn written_files_read_back_as_written() {
        let mut m = Model::default();
        m.roles.insert("R".into(), warden_model::Role { label: Some("A & <B>".into()), ..warden_model::Role::new("R") });
        let mut u = User::new("u1");
        u.name = Some("Ann \"Q\", Jr.".into());
        u.attributes.insert("d365.NETWORKDOMAIN".into(), "https://sts.windows.net/".into());
        m.users.insert("u1".into(), u);
        m.assignments.push(Assignment { organizations: vec!["O1".into(), "O2".into()], ..Assignment::global("u1", "R") });
        for format in [DmfFormat::Csv, DmfFormat::Xml] {
            for entity in DmfEntity::ALL {
                let mut warnings = Vec::new();
                let (bytes, n) = write_entity(&m, entity, format, Timestamp(0), &mut warnings).expect("writes");
                let f = read_entity_file("f", &bytes, None).expect("reads back");
                assert_eq!((f.entity, f.format, f.records()), (entity, format, n));
            }
        }
        let (bytes, _) = write_entity(&m, DmfEntity::UserRoles, DmfFormat::Xml, Timestamp(0), &mut Vec::new()).unwrap();
        let f = read_entity_file("f", &bytes, None).unwrap();
        assert_eq!(f.records[0].value("SECURITYROLENAME"), "A & <B>");
    }
}
