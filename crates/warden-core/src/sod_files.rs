//! SoD rules as files: CSV for spreadsheets, JSON for scripts. Both read
//! all-or-nothing, every problem located (`file:line: field 'x': ...` for
//! CSV, `file:line:column` for JSON), and names resolved against the store.

use crate::csv_io::CsvProblem;
use crate::error::CoreError;
use std::collections::HashMap;
use std::io::Write;
use warden_model::{Access, Model, Severity, SodRule, SodSide, Timestamp};

/// Columns of a rules CSV file. Each side is a duty, or an entry point with an access.
pub const SOD_RULE_COLUMNS: &[&str] = &[
    "name",
    "first_duty",
    "first_entry_point",
    "first_access",
    "second_duty",
    "second_entry_point",
    "second_access",
    "severity",
    "risk",
    "mitigation",
    "valid_from",
    "valid_to",
    "enabled",
];

/// Reads a rules file: JSON (an array of rules as the API shows them) when it
/// starts with `[`, CSV otherwise. Names are resolved against `model` (one
/// notation everywhere: an entry point is `NAME` or `TYPE/NAME`, as on the
/// command line). Returns the rules and warnings: rules of the file that
/// separate the same pair as another rule, in the file or stored, in either
/// order.
pub fn parse_sod_rules(file: &str, data: &[u8], model: &Model) -> Result<(Vec<SodRule>, Vec<String>), CoreError> {
    let text = String::from_utf8_lossy(data);
    let rules: Vec<(Place, SodRule)> = if text.trim_start_matches('\u{feff}').trim_start().starts_with('[') {
        let rules = serde_json::from_str::<Vec<SodRule>>(text.trim_start_matches('\u{feff}'))
            .map_err(|e| CoreError::InvalidInput(format!("{file}:{}:{}: {e}", e.line(), e.column())))?;
        let mut problems = Vec::new();
        let mut resolved = Vec::with_capacity(rules.len());
        for (i, mut rule) in rules.into_iter().enumerate() {
            // At most the start of a name: an overlong one is an error of its own.
            let at = format!("{file}: rule {} ('{}')", i + 1, rule.name.chars().take(64).collect::<String>());
            if let Err(e) = warden_model::validate_id(warden_model::ObjectKind::SodRule, &rule.name) {
                problems.push(format!("{at}: field 'name': {e}"));
            }
            for (field, side) in [("first", &mut rule.first), ("second", &mut rule.second)] {
                if let Err(e) = resolve_side(model, side) {
                    problems.push(format!("{at}: field '{field}': {e}"));
                }
            }
            if rule.first == rule.second {
                problems.push(format!("{at}: field 'second': {SAME_SIDES}"));
            }
            resolved.push((Place::Rule(i + 1), rule));
        }
        if !problems.is_empty() {
            return Err(CoreError::InvalidInput(format!("{} problem(s); nothing was imported:\n  {}", problems.len(), problems.join("\n  "))));
        }
        resolved
    } else {
        parse_csv(file, data, model).map_err(|problems| CoreError::Csv { file: file.to_string(), problems })?
    };
    let mut problems = Vec::new();
    let mut seen: HashMap<String, &Place> = HashMap::new();
    for (place, rule) in &rules {
        if let Some(first) = seen.insert(rule.name.to_lowercase(), place) {
            problems.push(format!("{}: field 'name': rule '{}' is defined twice in the file, first at {first}; give each rule one row", place.at(file), rule.name));
        }
    }
    if !problems.is_empty() {
        return Err(CoreError::InvalidInput(format!("{} problem(s); nothing was imported:\n  {}", problems.len(), problems.join("\n  "))));
    }
    let warnings = same_pairs(file, &rules, model);
    Ok((rules.into_iter().map(|(_, r)| r).collect(), warnings))
}

const SAME_SIDES: &str = "the second side is the first; a rule separates two different duties or accesses";

/// Where a rule is in its file: a CSV line, or the n-th rule of a JSON array.
#[derive(Debug, Clone, Copy)]
enum Place {
    Line(u64),
    Rule(usize),
}

impl Place {
    fn at(&self, file: &str) -> String {
        match self {
            Place::Line(line) => format!("{file}:{line}"),
            Place::Rule(n) => format!("{file}: rule {n}"),
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Line(line) => write!(f, "line {line}"),
            Place::Rule(n) => write!(f, "rule {n}"),
        }
    }
}

/// Rules that separate the same two sides as another (the same pair, or the
/// same pair in reverse order): legal, but one of them is likely a mistake.
fn same_pairs(file: &str, rules: &[(Place, SodRule)], model: &Model) -> Vec<String> {
    let pair = |r: &SodRule| {
        let (a, b) = (r.first.to_string(), r.second.to_string());
        if a <= b { (a, b) } else { (b, a) }
    };
    let order = |r: &SodRule, other: &SodRule| if r.first == other.first { "" } else { " in reverse order" };
    let in_file: std::collections::HashSet<&str> = rules.iter().map(|(_, r)| r.name.as_str()).collect();
    let mut by_pair: HashMap<(String, String), (String, &SodRule)> = HashMap::new();
    for r in model.sod_rules.values().filter(|r| !in_file.contains(r.name.as_str())) {
        by_pair.entry(pair(r)).or_insert_with(|| (format!("stored rule '{}'", r.name), r));
    }
    let mut warnings = Vec::new();
    for (place, r) in rules {
        match by_pair.get(&pair(r)) {
            Some((other, o)) => warnings.push(format!("{}: rule '{}' separates the same pair as {other}{}", place.at(file), r.name, order(r, o))),
            None => {
                by_pair.insert(pair(r), (format!("rule '{}' ({place})", r.name), r));
            }
        }
    }
    warnings
}

/// Puts a side's names in the stored spelling; an unknown name is an error.
pub fn resolve_side(model: &Model, side: &mut SodSide) -> Result<(), CoreError> {
    match side {
        SodSide::Duty { duty } => *duty = crate::edit::resolve(model, warden_model::ObjectKind::Duty, duty)?,
        SodSide::EntryPoint { entry_point, .. } => {
            *entry_point = warden_engine::resolve_entry_point(model, &entry_point.to_string())?;
        }
    }
    Ok(())
}

/// `EP:ACCESS` (entry point NAME or TYPE/NAME), as the command line takes an entry-point side.
pub fn parse_entry_point_side(model: &Model, text: &str) -> Result<SodSide, CoreError> {
    let (ep, access) = text
        .rsplit_once(':')
        .ok_or_else(|| CoreError::InvalidInput(format!("'{text}' is not EP:ACCESS (e.g. VendTable:create or MenuItemAction/VendInvoiceApprove:invoke)")))?;
    let access: Access = access.parse().map_err(|e: warden_model::ParseEnumError| CoreError::InvalidInput(e.to_string()))?;
    Ok(SodSide::EntryPoint { entry_point: warden_engine::resolve_entry_point(model, ep)?, access })
}

fn parse_csv(file: &str, data: &[u8], model: &Model) -> Result<Vec<(Place, SodRule)>, Vec<CsvProblem>> {
    let mut problems = Vec::new();
    let problem = |line: u64, field: Option<&str>, message: String| CsvProblem { file: file.to_string(), line, field: field.map(str::to_string), message };
    let mut reader = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(data);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim_start_matches('\u{feff}').to_ascii_lowercase()).collect(),
        Err(e) => return Err(vec![problem(1, None, e.to_string())]),
    };
    for (i, h) in header.iter().enumerate() {
        if !SOD_RULE_COLUMNS.contains(&h.as_str()) {
            problems.push(problem(1, None, format!("unknown column '{h}'; accepted columns are: {}", SOD_RULE_COLUMNS.join(", "))));
        } else if header[..i].contains(h) {
            problems.push(problem(1, Some(h), "the column appears twice; give each column once".into()));
        }
    }
    if !header.iter().any(|h| h == "name") {
        problems.push(problem(1, None, "missing column 'name'".into()));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut rules = Vec::new();
    let mut lines = crate::csv_io::LineCounter::new(data);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(CsvProblem { line: lines.line_of(e.position()), ..crate::csv_io::csv_error(file, e) });
                continue;
            }
        };
        let line = lines.line_of(record.position());
        let get = |c: &str| header.iter().position(|h| h == c).and_then(|i| record.get(i)).unwrap_or_default().to_string();
        let mut side = |which: &str| -> Option<SodSide> {
            let (duty, ep, access) = (get(&format!("{which}_duty")), get(&format!("{which}_entry_point")), get(&format!("{which}_access")));
            let mut located = |field: &str, e: &dyn std::fmt::Display| problems.push(problem(line, Some(&format!("{which}_{field}")), e.to_string()));
            match (duty.is_empty(), ep.is_empty()) {
                (false, true) if access.is_empty() => match crate::edit::resolve(model, warden_model::ObjectKind::Duty, &duty) {
                    Ok(duty) => Some(SodSide::Duty { duty }),
                    Err(e) => {
                        located("duty", &e);
                        None
                    }
                },
                (true, false) => match (warden_engine::resolve_entry_point(model, &ep), access.parse::<Access>()) {
                    (Ok(entry_point), Ok(access)) => Some(SodSide::EntryPoint { entry_point, access }),
                    (Err(e), _) => {
                        located("entry_point", &e);
                        None
                    }
                    (_, Err(e)) => {
                        located("access", &e);
                        None
                    }
                },
                _ => {
                    located("duty", &format!("give either {which}_duty, or {which}_entry_point (NAME or TYPE/NAME) with {which}_access"));
                    None
                }
            }
        };
        let (first, second) = (side("first"), side("second"));
        if let (Some(first), Some(second)) = (&first, &second)
            && first == second
        {
            let field = if matches!(second, SodSide::Duty { .. }) { "second_duty" } else { "second_entry_point" };
            problems.push(problem(line, Some(field), SAME_SIDES.into()));
        }
        let severity = match get("severity") {
            s if s.is_empty() => Some(Severity::default()),
            s => s.parse::<Severity>().map_err(|e| problems.push(problem(line, Some("severity"), e.to_string()))).ok(),
        };
        let mut time = |c: &str| -> Option<Timestamp> {
            let t = get(c);
            if t.is_empty() {
                return None;
            }
            Timestamp::parse(&t).map_err(|_| problems.push(problem(line, Some(c), format!("'{t}' is not a date or RFC 3339 instant")))).ok()
        };
        let (valid_from, valid_to) = (time("valid_from"), time("valid_to"));
        if let (Some(from), Some(to)) = (valid_from, valid_to)
            && from >= to
        {
            problems.push(problem(line, Some("valid_to"), format!("{to} is not after valid_from {from}")));
        }
        let enabled = match get("enabled").to_ascii_lowercase().as_str() {
            "" | "true" | "yes" | "1" => true,
            "false" | "no" | "0" => false,
            other => {
                problems.push(problem(line, Some("enabled"), format!("'{other}' is not true or false")));
                true
            }
        };
        let name = get("name");
        if name.is_empty() {
            problems.push(problem(line, Some("name"), "is empty; every rule needs a name".into()));
        } else if let Err(e) = warden_model::validate_id(warden_model::ObjectKind::SodRule, &name) {
            problems.push(problem(line, Some("name"), e.to_string()));
        }
        let text = |c: &str| Some(get(c)).filter(|t| !t.is_empty());
        if let (Some(first), Some(second), Some(severity)) = (first, second, severity) {
            rules.push((Place::Line(line), SodRule { name, first, second, severity, risk: text("risk"), mitigation: text("mitigation"), valid_from, valid_to, enabled }));
        }
    }
    if problems.is_empty() { Ok(rules) } else { Err(problems) }
}

/// Writes rules in the CSV form [`parse_sod_rules`] reads.
pub fn write_sod_rules_csv<'a, W: Write>(w: W, rules: impl IntoIterator<Item = &'a SodRule>) -> csv::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(SOD_RULE_COLUMNS)?;
    for r in rules {
        let side = |s: &SodSide| match s {
            SodSide::Duty { duty } => [duty.clone(), String::new(), String::new()],
            SodSide::EntryPoint { entry_point, access } => [String::new(), entry_point.to_string(), access.to_string()],
        };
        let time = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
        let mut record = vec![r.name.clone()];
        record.extend(side(&r.first));
        record.extend(side(&r.second));
        record.extend([
            r.severity.to_string(),
            r.risk.clone().unwrap_or_default(),
            r.mitigation.clone().unwrap_or_default(),
            time(r.valid_from),
            time(r.valid_to),
            r.enabled.to_string(),
        ]);
        out.write_record(&record)?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_model::{Duty, EntryPoint, EntryPointKey, EntryPointType, Object};

    fn model() -> Model {
        let mut m = Model::default();
        for d in ["VendMaintain", "VendInvoiceApprove"] {
            m.put(Object::Duty(Duty { name: d.into(), label: None, description: None, model: None, privileges: vec![], unmodelled: Vec::new() }));
        }
        m.put(Object::EntryPoint(EntryPoint::referenced(&EntryPointKey::new(EntryPointType::MenuItemAction, "VendInvoiceApprove"))));
        m
    }

    #[test]
    fn csv_and_json_round_trip_and_resolve_names() {
        let data = b"name,first_duty,second_entry_point,second_access,severity,risk\n\
            R1,vendmaintain,MenuItemAction/vendinvoiceapprove,invoke,critical,\"fraud, big\"\n";
        let (rules, warnings) = parse_sod_rules("r.csv", data, &model()).expect("parses");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(rules[0].first, SodSide::Duty { duty: "VendMaintain".into() }, "stored spelling");
        assert_eq!(rules[0].severity, Severity::Critical);
        let mut csv = Vec::new();
        write_sod_rules_csv(&mut csv, &rules).unwrap();
        assert_eq!(parse_sod_rules("r.csv", &csv, &model()).unwrap().0, rules);
        let json = serde_json::to_vec_pretty(&rules).unwrap();
        assert_eq!(parse_sod_rules("r.json", &json, &model()).unwrap().0, rules);
    }

    /// Issue 15: an entry point side is `NAME` or `TYPE/NAME` in the file as on the command line.
    #[test]
    fn an_entry_point_side_takes_a_bare_name_as_the_command_line_does() {
        let data = b"name,first_duty,second_entry_point,second_access\nR1,VendMaintain,VendInvoiceApprove,invoke\n";
        let (rules, _) = parse_sod_rules("r.csv", data, &model()).expect("a bare name");
        let SodSide::EntryPoint { entry_point, .. } = &rules[0].second else { panic!("{:?}", rules[0].second) };
        assert_eq!(entry_point.to_string(), "MenuItemAction/VendInvoiceApprove");
    }

    #[test]
    fn problems_are_located_and_refuse_the_file() {
        let data = b"name,first_duty,second_duty,severity\nR1,VendMaintain,,severe\nR2,Nope,VendMaintain,low\n";
        let e = parse_sod_rules("r.csv", data, &model()).unwrap_err().to_string();
        assert!(e.contains("r.csv:2: field 'second_duty': give either second_duty, or second_entry_point (NAME or TYPE/NAME) with second_access"), "{e}");
        assert!(e.contains("r.csv:2: field 'severity': invalid severity \"severe\""), "{e}");
        // Issue 15: an unknown name is located at its line and field, not as "rule N".
        assert!(e.contains("r.csv:3: field 'first_duty': unknown duty 'Nope'"), "{e}");
        let e = parse_sod_rules("r.csv", b"name,first_duty,second_duty\nR2,VendMaintain,vendmaintain\n", &model()).unwrap_err().to_string();
        assert!(e.contains("r.csv:2: field 'second_duty': the second side is the first"), "{e}");
        let e = parse_sod_rules("r.json", b"[{\"name\": \"x\",\n \"first\": 3}]", &model()).unwrap_err().to_string();
        assert!(e.starts_with("r.json:2:"), "{e}");
    }

    /// Issue 15: two rows with one rule name were both counted and the last won.
    #[test]
    fn a_rule_name_given_twice_refuses_the_file() {
        let data = b"name,first_duty,second_duty\nR1,VendMaintain,VendInvoiceApprove\nr1,VendInvoiceApprove,VendMaintain\n";
        let e = parse_sod_rules("r.csv", data, &model()).unwrap_err().to_string();
        assert!(e.contains("r.csv:3: field 'name': rule 'r1' is defined twice in the file, first at line 2"), "{e}");
    }

    /// Issue 15: a repeated column was accepted, though the README says it is refused.
    #[test]
    fn a_repeated_column_refuses_the_file() {
        let data = b"name,first_duty,second_duty,Name\nR1,VendMaintain,VendInvoiceApprove,R2\n";
        let e = parse_sod_rules("r.csv", data, &model()).unwrap_err().to_string();
        assert!(e.contains("r.csv:1: field 'name': the column appears twice"), "{e}");
    }

    /// Issue 15: a rule identical to another, or the same pair reversed, is worth a warning.
    #[test]
    fn the_same_pair_twice_is_a_warning() {
        let mut m = model();
        m.put(Object::SodRule(SodRule {
            name: "Stored".into(),
            first: SodSide::Duty { duty: "VendInvoiceApprove".into() },
            second: SodSide::Duty { duty: "VendMaintain".into() },
            severity: Severity::High,
            risk: None,
            mitigation: None,
            valid_from: None,
            valid_to: None,
            enabled: true,
        }));
        let data = b"name,first_duty,second_duty\nR1,VendMaintain,VendInvoiceApprove\nR2,VendMaintain,VendInvoiceApprove\n";
        let (rules, warnings) = parse_sod_rules("r.csv", data, &m).expect("legal");
        assert_eq!(rules.len(), 2);
        assert_eq!(
            warnings,
            [
                "r.csv:2: rule 'R1' separates the same pair as stored rule 'Stored' in reverse order",
                "r.csv:3: rule 'R2' separates the same pair as stored rule 'Stored' in reverse order",
            ]
        );
        let (_, warnings) = parse_sod_rules("r.csv", data, &model()).expect("legal");
        assert_eq!(warnings, ["r.csv:3: rule 'R2' separates the same pair as rule 'R1' (line 2)"]);
    }

    #[test]
    fn lines_are_counted_after_crlf() {
        let data = b"name,first_duty,second_duty\r\nR1,VendMaintain,VendInvoiceApprove\r\nR2,VendMaintain,\r\nR3,VendMaintain,,x\r\n";
        let e = parse_sod_rules("r.csv", data, &model()).unwrap_err().to_string();
        assert!(e.contains("\n  r.csv:3: field 'second_duty': give either"), "{e}");
        assert!(e.contains("\n  r.csv:4: this row has 4 fields but the header has 3"), "{e}");
    }
}
