//! References resolved as D365 resolves them: ignoring case. X++ and the
//! database under D365 compare names without case, so an AOT file may list
//! the privilege `custtableVIEW` for `CustTableView`, and D365 grants it.
//! Warden gives such a reference the object's own spelling, so every check,
//! explanation and listing finds it, and keeps the file's spelling as a
//! reference as written ([`Unmodelled::reference_as_written`]), which export
//! writes back.

use warden_model::{Object, ObjectKind, Unmodelled};

const DUTY: &str = "AxSecurityDutyReference";
const PRIVILEGE: &str = "AxSecurityPrivilegeReference";
const ROLE: &str = "AxSecurityRoleReference";

/// One reference given its referent's spelling: the object holding it, and
/// the reference as written and as resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Respelled {
    pub kind: ObjectKind,
    pub written: String,
    pub resolved: String,
}

/// Gives each reference of `object` (a role's, duty's or extension's duties,
/// privileges and sub-roles) the spelling `canonical` returns for it, when
/// that differs; returns what it changed. `canonical` answers the one name
/// of that kind equal to the reference ignoring case, and nothing when there
/// is none or more than one (then the reference stays as it is).
pub fn respell_references(object: &mut Object, canonical: impl Fn(ObjectKind, &str) -> Option<String>) -> Vec<Respelled> {
    type List<'a> = (&'static str, &'static str, ObjectKind, &'a mut Vec<String>);
    let (lists, kept): (Vec<List<'_>>, &mut Vec<Unmodelled>) = match object {
        Object::Role(r) => (
            vec![
                ("Duties", DUTY, ObjectKind::Duty, &mut r.duties),
                ("Privileges", PRIVILEGE, ObjectKind::Privilege, &mut r.privileges),
                ("SubRoles", ROLE, ObjectKind::Role, &mut r.sub_roles),
            ],
            &mut r.unmodelled,
        ),
        Object::RoleExtension(r) => (
            vec![
                ("Duties", DUTY, ObjectKind::Duty, &mut r.duties),
                ("Privileges", PRIVILEGE, ObjectKind::Privilege, &mut r.privileges),
                ("SubRoles", ROLE, ObjectKind::Role, &mut r.sub_roles),
            ],
            &mut r.unmodelled,
        ),
        Object::Duty(d) => (vec![("Privileges", PRIVILEGE, ObjectKind::Privilege, &mut d.privileges)], &mut d.unmodelled),
        Object::DutyExtension(d) => (vec![("Privileges", PRIVILEGE, ObjectKind::Privilege, &mut d.privileges)], &mut d.unmodelled),
        _ => return Vec::new(),
    };
    let mut respelled = Vec::new();
    for (within, item, kind, names) in lists {
        for name in names.iter_mut() {
            let Some(resolved) = canonical(kind, name).filter(|c| c != name) else { continue };
            if Unmodelled::written_reference(kept, within, item, name).is_none() {
                kept.push(Unmodelled::reference_as_written(within, item, name));
            }
            let written = std::mem::replace(name, resolved.clone());
            respelled.push(Respelled { kind, written, resolved });
        }
    }
    respelled
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_model::Role;

    #[test]
    fn a_reference_takes_its_referents_spelling_and_keeps_its_own_for_export() {
        let mut role = Role::new("Clerk");
        role.privileges = vec!["custtableVIEW".into(), "Other".into()];
        let mut object = Object::Role(role);
        let canonical = |kind: ObjectKind, name: &str| (kind == ObjectKind::Privilege && name.eq_ignore_ascii_case("CustTableView")).then(|| "CustTableView".to_string());
        let changed = respell_references(&mut object, canonical);
        assert_eq!(changed, [Respelled { kind: ObjectKind::Privilege, written: "custtableVIEW".into(), resolved: "CustTableView".into() }]);
        let Object::Role(role) = &object else { unreachable!() };
        assert_eq!(role.privileges, ["CustTableView", "Other"]);
        let kept = Unmodelled::written_reference(&role.unmodelled, "Privileges", PRIVILEGE, "CustTableView").expect("kept as written");
        assert_eq!(kept.element.child("Name").and_then(|n| n.text.as_deref()), Some("custtableVIEW"));
        // Once resolved, nothing more to do.
        assert!(respell_references(&mut object, canonical).is_empty());
    }
}
