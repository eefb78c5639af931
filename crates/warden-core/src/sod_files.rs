//! SoD rules as files: CSV for spreadsheets, JSON for scripts. Both read
//! all-or-nothing, every problem located (`file:line: field 'x': ...` for
//! CSV, `file:line:column` for JSON), and names resolved against the store.

use crate::csv_io::CsvProblem;
use crate::error::CoreError;
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
/// starts with `[`, CSV otherwise.
pub fn parse_sod_rules(file: &str, data: &[u8], model: &Model) -> Result<Vec<SodRule>, CoreError> {
    let text = String::from_utf8_lossy(data);
    let rules = if text.trim_start_matches('\u{feff}').trim_start().starts_with('[') {
        serde_json::from_str::<Vec<SodRule>>(text.trim_start_matches('\u{feff}'))
            .map_err(|e| CoreError::InvalidInput(format!("{file}:{}:{}: {e}", e.line(), e.column())))?
    } else {
        parse_csv(file, data).map_err(|problems| CoreError::Csv { file: file.to_string(), problems })?
    };
    let mut problems = Vec::new();
    let mut out = Vec::with_capacity(rules.len());
    for (i, mut rule) in rules.into_iter().enumerate() {
        // At most the start of a name: an overlong one is an error of its own.
        let at = format!("{file}: rule {} ('{}')", i + 1, rule.name.chars().take(64).collect::<String>());
        if let Err(e) = warden_model::validate_id(warden_model::ObjectKind::SodRule, &rule.name) {
            problems.push(format!("{at}: field 'name': {e}"));
        }
        for side in [&mut rule.first, &mut rule.second] {
            if let Err(e) = resolve_side(model, side) {
                problems.push(format!("{at}: {e}"));
            }
        }
        out.push(rule);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(CoreError::InvalidInput(format!("{} problem(s); nothing was imported:\n  {}", problems.len(), problems.join("\n  "))))
    }
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

fn parse_csv(file: &str, data: &[u8]) -> Result<Vec<SodRule>, Vec<CsvProblem>> {
    let mut problems = Vec::new();
    let problem = |line: u64, field: Option<&str>, message: String| CsvProblem { file: file.to_string(), line, field: field.map(str::to_string), message };
    let mut reader = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(data);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim_start_matches('\u{feff}').to_ascii_lowercase()).collect(),
        Err(e) => return Err(vec![problem(1, None, e.to_string())]),
    };
    for h in &header {
        if !SOD_RULE_COLUMNS.contains(&h.as_str()) {
            problems.push(problem(1, None, format!("unknown column '{h}'; accepted columns are: {}", SOD_RULE_COLUMNS.join(", "))));
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
            match (duty.is_empty(), ep.is_empty()) {
                (false, true) if access.is_empty() => Some(SodSide::Duty { duty }),
                (true, false) => match (ep.parse(), access.parse::<Access>()) {
                    (Ok(entry_point), Ok(access)) => Some(SodSide::EntryPoint { entry_point, access }),
                    (Err(e), _) => {
                        problems.push(problem(line, Some(&format!("{which}_entry_point")), format!("{e}")));
                        None
                    }
                    (_, Err(e)) => {
                        problems.push(problem(line, Some(&format!("{which}_access")), format!("{e}")));
                        None
                    }
                },
                _ => {
                    problems.push(problem(
                        line,
                        Some(&format!("{which}_duty")),
                        format!("give either {which}_duty, or {which}_entry_point (TYPE/NAME) with {which}_access"),
                    ));
                    None
                }
            }
        };
        let (first, second) = (side("first"), side("second"));
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
            rules.push(SodRule { name, first, second, severity, risk: text("risk"), mitigation: text("mitigation"), valid_from, valid_to, enabled });
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
        let rules = parse_sod_rules("r.csv", data, &model()).expect("parses");
        assert_eq!(rules[0].first, SodSide::Duty { duty: "VendMaintain".into() }, "stored spelling");
        assert_eq!(rules[0].severity, Severity::Critical);
        let mut csv = Vec::new();
        write_sod_rules_csv(&mut csv, &rules).unwrap();
        assert_eq!(parse_sod_rules("r.csv", &csv, &model()).unwrap(), rules);
        let json = serde_json::to_vec_pretty(&rules).unwrap();
        assert_eq!(parse_sod_rules("r.json", &json, &model()).unwrap(), rules);
    }

    #[test]
    fn problems_are_located_and_refuse_the_file() {
        let data = b"name,first_duty,second_duty,severity\nR1,VendMaintain,,severe\nR2,Nope,VendMaintain,low\n";
        let e = parse_sod_rules("r.csv", data, &model()).unwrap_err().to_string();
        assert!(e.contains("r.csv:2: field 'second_duty': give either second_duty, or second_entry_point (TYPE/NAME) with second_access"), "{e}");
        assert!(e.contains("r.csv:2: field 'severity': invalid severity \"severe\""), "{e}");
        let data = b"name,first_duty,second_duty\nR2,Nope,VendMaintain\n";
        let e = parse_sod_rules("r.csv", data, &model()).unwrap_err().to_string();
        assert!(e.contains("r.csv: rule 1 ('R2'): unknown duty 'Nope'"), "{e}");
        let e = parse_sod_rules("r.json", b"[{\"name\": \"x\",\n \"first\": 3}]", &model()).unwrap_err().to_string();
        assert!(e.starts_with("r.json:2:"), "{e}");
    }

    #[test]
    fn lines_are_counted_after_crlf() {
        let data = b"name,first_duty,second_duty\r\nR1,VendMaintain,VendInvoiceApprove\r\nR2,VendMaintain,\r\nR3,VendMaintain,,x\r\n";
        let e = parse_sod_rules("r.csv", data, &model()).unwrap_err().to_string();
        assert!(e.contains("\n  r.csv:3: field 'second_duty': give either"), "{e}");
        assert!(e.contains("\n  r.csv:4: this row has 4 fields but the header has 3"), "{e}");
    }
}
