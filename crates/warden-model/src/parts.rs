//! Grants below an entry point: form control grants and field grants, read
//! out of the elements an [`EntryPointGrant`] keeps verbatim.
//!
//! The AOT writes them inside the privilege's reference to the entry point
//! (`Forms/AxSecurityEntryPointReferenceForm/Controls/...`,
//! `.../DataSources/.../Fields/...` for a menu item, `Fields/AxSecurityDataEntityFieldPermission`
//! for a data entity). They stay stored as they were read ([`crate::Unmodelled`]), so that
//! `export aot` writes back exactly what was imported; this module only
//! interprets them, for checks and for the warnings of an import.

use crate::access::{Access, Grant, Permission};
use crate::ident::{validate_id, IdError};
use crate::model::ObjectKind;
use crate::security::EntryPointGrant;
use crate::unmodelled::XmlElement;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a check can name below an entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PartKind {
    /// A control of the form a menu item opens, by control name.
    Control,
    /// A field: `DATASOURCE.FIELD` of the form a menu item opens, or a data entity's field.
    Field,
}

impl PartKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            PartKind::Control => "control",
            PartKind::Field => "field",
        }
    }
}

impl fmt::Display for PartKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A control or field named in a check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Part {
    pub kind: PartKind,
    pub name: String,
}

impl Part {
    pub fn control(name: impl Into<String>) -> Part {
        Part { kind: PartKind::Control, name: name.into() }
    }
    pub fn field(name: impl Into<String>) -> Part {
        Part { kind: PartKind::Field, name: name.into() }
    }

    /// Checks the name with the rule every name meets ([`validate_id`]).
    pub fn validate(&self) -> Result<(), PartNameError> {
        validate_id(ObjectKind::EntryPoint, &self.name).map_err(|source| PartNameError { kind: self.kind, source })
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// A control or field name that breaks the identifier rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} name: {source}")]
pub struct PartNameError {
    pub kind: PartKind,
    #[source]
    pub source: IdError,
}

/// One control or field grant of an entry point grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartGrant {
    pub kind: PartKind,
    /// The form the control or data source field is on; `None` for a data entity's field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    /// The control name, `DATASOURCE.FIELD`, or the data entity's field name.
    pub name: String,
    pub grant: Grant,
}

/// Element names, as D365 writes them.
const FORMS: &str = "Forms";
const FORM: &str = "AxSecurityEntryPointReferenceForm";
const CONTROLS: &str = "Controls";
const CONTROL: &str = "AxSecurityEntryPointReferenceFormControl";
const DATA_SOURCES: &str = "DataSources";
const DATA_SOURCE: &str = "AxSecurityEntryPointReferenceFormDataSource";
const FIELDS: &str = "Fields";
const FORM_FIELD: &str = "AxSecurityEntryPointReferenceFormDataSourceField";
const ENTITY_FIELD: &str = "AxSecurityDataEntityFieldPermission";

impl EntryPointGrant {
    /// The form control grants: `(form, control) → grant`, in file order.
    pub fn control_grants(&self) -> Vec<PartGrant> {
        self.part_grants(&mut Vec::new()).into_iter().filter(|g| g.kind == PartKind::Control).collect()
    }

    /// The field grants, in file order: `DATASOURCE.FIELD` of the entry
    /// point's form, or the data entity's field names.
    pub fn field_grants(&self) -> Vec<PartGrant> {
        self.part_grants(&mut Vec::new()).into_iter().filter(|g| g.kind == PartKind::Field).collect()
    }

    /// What is wrong with the kept control and field grants (a grant without
    /// a name, an access D365 does not name, a value other than Allow, Deny
    /// or Unset), for the warnings of an import. Never fails: a check reads
    /// what it can ([`EntryPointGrant::part_grant`]).
    pub fn part_grant_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        self.part_grants(&mut problems);
        problems
    }

    /// What this grant's own grants on `part` say, united (names compared
    /// case-insensitively, as D365 does); `None` when it names it nowhere.
    pub fn part_grant(&self, part: &Part) -> Option<Grant> {
        let mut found: Option<Grant> = None;
        for g in self.part_grants(&mut Vec::new()) {
            if g.kind == part.kind && g.name.eq_ignore_ascii_case(&part.name) {
                let acc = found.get_or_insert_with(Grant::default);
                acc.allow = acc.allow.union(g.grant.allow);
                acc.deny = acc.deny.union(g.grant.deny);
            }
        }
        found.map(|g| Grant { allow: g.allow.difference(g.deny), deny: g.deny })
    }

    /// What this grant says about `access` on `part`: the part's own
    /// permission when this grant names the part and sets `access` there,
    /// otherwise its permission on the entry point (a control or field
    /// inherits its entry point); and which of the two it was.
    pub fn part_permission(&self, part: &Part, access: Access) -> (Option<Permission>, bool) {
        match self.part_grant(part).and_then(|g| g.get(access)) {
            Some(p) => (Some(p), true),
            None => (self.grant.get(access), false),
        }
    }

    /// Every control and field grant, and in `problems` what could not be read.
    fn part_grants(&self, problems: &mut Vec<String>) -> Vec<PartGrant> {
        let mut out = Vec::new();
        let here = self.key();
        for kept in self.unmodelled.iter().filter(|u| u.within.is_none()) {
            let e = &kept.element;
            match local(&e.name) {
                FORMS => {
                    for form in children(e, FORM) {
                        let form_name = name_of(form);
                        let Some(form_name) = form_name else {
                            problems.push(format!("{here}: <{FORM}> has no <Name>; its control and field grants are not checked"));
                            continue;
                        };
                        for list in children(form, CONTROLS) {
                            for c in children(list, CONTROL) {
                                read_part(c, PartKind::Control, Some(&form_name), None, &here, &mut out, problems);
                            }
                        }
                        for list in children(form, DATA_SOURCES) {
                            for ds in children(list, DATA_SOURCE) {
                                let Some(ds_name) = name_of(ds) else {
                                    problems.push(format!("{here}: <{DATA_SOURCE}> of form {form_name} has no <Name>; its field grants are not checked"));
                                    continue;
                                };
                                for fields in children(ds, FIELDS) {
                                    for f in children(fields, FORM_FIELD) {
                                        read_part(f, PartKind::Field, Some(&form_name), Some(&ds_name), &here, &mut out, problems);
                                    }
                                }
                            }
                        }
                    }
                }
                FIELDS => {
                    for f in children(e, ENTITY_FIELD) {
                        read_part(f, PartKind::Field, None, None, &here, &mut out, problems);
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// One control or field element: its name and grant. A permission whose
/// value is not Allow, Deny or Unset counts as Deny (least privilege) and is
/// reported; an access D365 does not name is reported and ignored.
fn read_part(
    e: &XmlElement,
    kind: PartKind,
    form: Option<&str>,
    data_source: Option<&str>,
    here: &crate::EntryPointKey,
    out: &mut Vec<PartGrant>,
    problems: &mut Vec<String>,
) {
    let Some(name) = name_of(e) else {
        problems.push(format!("{here}: a <{}> has no <Name>; it is not checked", e.name));
        return;
    };
    let name = match data_source {
        Some(ds) => format!("{ds}.{name}"),
        None => name,
    };
    let mut grant = Grant::default();
    for g in e.children.iter().filter(|c| local(&c.name) == "Grant") {
        for p in &g.children {
            let Ok(access) = local(&p.name).parse::<Access>() else {
                problems.push(format!("{here}: {kind} {name}: <Grant> holds <{}>, which is not an access (Read, Update, Create, Correct, Delete, Invoke); ignored", p.name));
                continue;
            };
            let value = p.text.as_deref().unwrap_or("").trim();
            let permission = match value {
                "Allow" => Some(Permission::Allow),
                "Deny" => Some(Permission::Deny),
                "Unset" | "" => None,
                other => {
                    problems.push(format!("{here}: {kind} {name}: invalid value {other:?} in <{}>: expected Allow, Deny or Unset; counted as Deny", p.name));
                    Some(Permission::Deny)
                }
            };
            // Within one grant element, Deny wins over a repeated Allow.
            if grant.get(access) != Some(Permission::Deny) {
                grant.set(access, permission);
            }
        }
    }
    out.push(PartGrant { kind, form: form.map(str::to_string), name, grant });
}

/// An element's name without its namespace prefix.
fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

fn children<'e>(e: &'e XmlElement, name: &'static str) -> impl Iterator<Item = &'e XmlElement> {
    e.children.iter().filter(move |c| local(&c.name) == name)
}

/// The trimmed text of the `<Name>` child, if it has a non-empty one.
fn name_of(e: &XmlElement) -> Option<String> {
    children(e, "Name").find_map(|n| n.text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::EntryPointType;
    use crate::unmodelled::Unmodelled;

    fn el(name: &str, children: Vec<XmlElement>) -> XmlElement {
        XmlElement { children, ..XmlElement::new(name) }
    }
    fn text(name: &str, t: &str) -> XmlElement {
        XmlElement { text: Some(t.into()), ..XmlElement::new(name) }
    }
    fn grant(pairs: &[(&str, &str)]) -> XmlElement {
        el("Grant", pairs.iter().map(|(a, v)| text(a, v)).collect())
    }
    fn ep_grant(kind: EntryPointType, kept: Vec<XmlElement>) -> EntryPointGrant {
        EntryPointGrant {
            name: "CustTable".into(),
            kind,
            object: "CustTable".into(),
            child: None,
            grant: Grant { allow: crate::AccessSet(0b11), deny: crate::AccessSet::EMPTY },
            unmodelled: kept.into_iter().map(|element| Unmodelled { within: None, after: None, element }).collect(),
        }
    }

    fn forms() -> XmlElement {
        el(
            FORMS,
            vec![el(
                FORM,
                vec![
                    text("Name", "CustTable"),
                    el(CONTROLS, vec![el(CONTROL, vec![text("Name", "CreditMax"), grant(&[("Read", "Allow"), ("Update", "Deny")])])]),
                    el(
                        DATA_SOURCES,
                        vec![el(DATA_SOURCE, vec![text("Name", "CustTable"), el(FIELDS, vec![el(FORM_FIELD, vec![text("Name", "CreditMax"), grant(&[("Update", "Deny")])])])])],
                    ),
                ],
            )],
        )
    }

    #[test]
    fn controls_and_form_fields_are_read_with_their_form() {
        let g = ep_grant(EntryPointType::MenuItemDisplay, vec![forms()]);
        let controls = g.control_grants();
        assert_eq!(controls.len(), 1);
        assert_eq!((controls[0].form.as_deref(), controls[0].name.as_str()), (Some("CustTable"), "CreditMax"));
        assert_eq!(controls[0].grant.get(Access::Update), Some(Permission::Deny));
        assert_eq!(controls[0].grant.get(Access::Read), Some(Permission::Allow));
        let fields = g.field_grants();
        assert_eq!(fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["CustTable.CreditMax"]);
        assert!(g.part_grant_problems().is_empty());
    }

    #[test]
    fn a_part_inherits_what_its_grant_does_not_set() {
        let g = ep_grant(EntryPointType::MenuItemDisplay, vec![forms()]);
        let c = Part::control("creditmax");
        assert_eq!(g.part_permission(&c, Access::Update), (Some(Permission::Deny), true));
        assert_eq!(g.part_permission(&c, Access::Read), (Some(Permission::Allow), true));
        assert_eq!(g.part_permission(&c, Access::Delete), (None, false));
        let other = Part::control("Other");
        assert_eq!(g.part_permission(&other, Access::Update), (Some(Permission::Allow), false));
        // A field of the form is not a control.
        assert_eq!(g.part_permission(&Part::field("CreditMax"), Access::Update), (Some(Permission::Allow), false));
        assert_eq!(g.part_permission(&Part::field("CustTable.CreditMax"), Access::Update), (Some(Permission::Deny), true));
    }

    #[test]
    fn data_entity_fields_are_read_by_field_name() {
        let fields = el(FIELDS, vec![el(ENTITY_FIELD, vec![grant(&[("Update", "Deny")]), text("Name", "CreditLimit")])]);
        let g = ep_grant(EntryPointType::DataEntity, vec![fields]);
        assert_eq!(g.field_grants().len(), 1);
        assert_eq!(g.part_permission(&Part::field("CreditLimit"), Access::Update), (Some(Permission::Deny), true));
    }

    #[test]
    fn malformed_part_grants_are_reported_and_fail_closed() {
        let fields = el(
            FIELDS,
            vec![
                el(ENTITY_FIELD, vec![grant(&[("Update", "Denny"), ("Execute", "Allow")]), text("Name", "CreditLimit")]),
                el(ENTITY_FIELD, vec![grant(&[("Read", "Allow")])]),
            ],
        );
        let g = ep_grant(EntryPointType::DataEntity, vec![fields]);
        let problems = g.part_grant_problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("\"Denny\"") && problems[0].contains("counted as Deny"), "{problems:?}");
        assert!(problems[1].contains("<Execute>"), "{problems:?}");
        assert!(problems[2].contains("no <Name>"), "{problems:?}");
        assert_eq!(g.part_permission(&Part::field("CreditLimit"), Access::Update), (Some(Permission::Deny), true));
    }

    #[test]
    fn part_names_meet_the_identifier_rule() {
        assert!(Part::control("CreditMax").validate().is_ok());
        let e = Part::field("a\u{7}b").validate().unwrap_err().to_string();
        assert!(e.starts_with("invalid field name"), "{e}");
        assert!(Part::control("").validate().is_err());
    }
}
