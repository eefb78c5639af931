//! Any object Warden can hold survives XML: object → XML → object is the identity,
//! whatever its names and labels contain.

use proptest::prelude::*;
use std::path::Path;
use warden_aot::{AotObject, object_to_xml, parse_object};
use warden_model::{
    Access, Duty, DutyExtension, EntryPoint, EntryPointGrant, EntryPointType, Grant, Licence, Permission, Policy,
    PolicyContextType, Privilege, Role, RoleExtension, TableGrant,
};

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_]{0,20}"
}

/// Labels with everything XML must escape, line breaks, tabs and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 &<>\"'éü€日本😀\t\n\r;#]{1,40}"
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(text())
}

fn names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(name(), 0..6)
}

fn grant() -> impl Strategy<Value = Grant> {
    prop::collection::vec(0..3u8, 6).prop_map(|values| {
        let mut grant = Grant::default();
        for (access, value) in Access::ALL.into_iter().zip(values) {
            let permission = match value {
                0 => None,
                1 => Some(Permission::Allow),
                _ => Some(Permission::Deny),
            };
            grant.set(access, permission);
        }
        grant
    })
}

fn entity_grant() -> impl Strategy<Value = EntryPointGrant> {
    (name(), grant()).prop_map(|(name, grant)| EntryPointGrant {
        name: name.clone(),
        kind: EntryPointType::DataEntity,
        object: name,
        child: None,
        grant,
        unmodelled: Vec::new(),
    })
}

fn entry_point_grant() -> impl Strategy<Value = EntryPointGrant> {
    let kind = prop::sample::select(vec![
        EntryPointType::MenuItemDisplay,
        EntryPointType::MenuItemAction,
        EntryPointType::MenuItemOutput,
        EntryPointType::ServiceOperation,
    ]);
    (name(), kind, name(), prop::option::of(name()), grant()).prop_map(|(name, kind, object, child, grant)| EntryPointGrant {
        name,
        kind,
        object,
        child,
        grant,
        unmodelled: Vec::new(),
    })
}

fn role() -> impl Strategy<Value = Role> {
    (name(), opt_text(), opt_text(), prop::option::of(name()), names(), names(), names()).prop_map(
        |(name, label, description, model, duties, privileges, sub_roles)| Role {
            name,
            label,
            description,
            model,
            duties,
            privileges,
            sub_roles,
            unmodelled: Vec::new(),
        },
    )
}

fn duty() -> impl Strategy<Value = Duty> {
    (name(), opt_text(), opt_text(), prop::option::of(name()), names())
        .prop_map(|(name, label, description, model, privileges)| Duty { name, label, description, model, privileges, unmodelled: Vec::new() })
}

fn privilege() -> impl Strategy<Value = Privilege> {
    let grants = (prop::collection::vec(entity_grant(), 0..3), prop::collection::vec(entry_point_grant(), 0..5));
    let tables = prop::collection::vec((name(), grant()).prop_map(|(table, grant)| TableGrant { table, grant, unmodelled: Vec::new() }), 0..3);
    (name(), opt_text(), opt_text(), prop::option::of(name()), grants, tables).prop_map(
        |(name, label, description, model, (entities, others), direct_access)| Privilege {
            name,
            label,
            description,
            model,
            // The AOT keeps data-entity grants in their own collection, written first.
            entry_points: entities.into_iter().chain(others).collect(),
            direct_access,
            unmodelled: Vec::new(),
        },
    )
}

fn policy() -> impl Strategy<Value = Policy> {
    let context = prop::sample::select(PolicyContextType::ALL.to_vec());
    (
        (name(), opt_text(), opt_text(), prop::option::of(name())),
        (name(), name(), context, prop::option::of(name()), prop::option::of(name())),
        (any::<bool>(), names(), prop::option::of(name()), any::<bool>()),
    )
        .prop_map(
            |(
                (name, label, description, model),
                (primary_table, query, context_type, context_string, role_name),
                (constrains_primary, tables, operation, enabled),
            )| {
                // As read: the primary table first if it is constrained, no duplicates.
                let mut constrained_tables: Vec<String> = constrains_primary.then(|| primary_table.clone()).into_iter().collect();
                for table in tables {
                    if !constrained_tables.iter().any(|t| t.eq_ignore_ascii_case(&table)) && !table.eq_ignore_ascii_case(&primary_table) {
                        constrained_tables.push(table);
                    }
                }
                Policy {
                    name,
                    label,
                    description,
                    model,
                    primary_table,
                    query,
                    context_type,
                    context_string,
                    role_name,
                    constrained_tables,
                    operation,
                    enabled,
                    unmodelled: Vec::new(),
                }
            },
        )
}

fn role_extension() -> impl Strategy<Value = RoleExtension> {
    (name(), name(), prop::option::of(name()), names(), names(), names()).prop_map(
        |(target, suffix, model, duties, privileges, sub_roles)| RoleExtension {
            name: format!("{target}.{suffix}"),
            target,
            model,
            duties,
            privileges,
            sub_roles,
            unmodelled: Vec::new(),
        },
    )
}

fn duty_extension() -> impl Strategy<Value = DutyExtension> {
    (name(), name(), prop::option::of(name()), names()).prop_map(|(target, suffix, model, privileges)| DutyExtension {
        name: format!("{target}.{suffix}"),
        target,
        model,
        privileges,
        unmodelled: Vec::new(),
    })
}

fn menu_item() -> impl Strategy<Value = EntryPoint> {
    let kind = prop::sample::select(vec![EntryPointType::MenuItemDisplay, EntryPointType::MenuItemAction, EntryPointType::MenuItemOutput]);
    let licence = || prop::sample::select(Licence::ALL.to_vec());
    (
        (kind, name(), opt_text(), opt_text()),
        (prop::option::of(name()), prop::option::of(name()), licence(), licence(), prop::option::of(name())),
    )
        .prop_map(|((kind, name, label, help_text), (object, object_type, view_licence, maintain_licence, model))| EntryPoint {
            kind,
            name,
            label,
            help_text,
            object,
            object_type,
            view_licence,
            maintain_licence,
            model,
            unmodelled: Vec::new(),
        })
}

fn object() -> impl Strategy<Value = AotObject> {
    prop_oneof![
        role().prop_map(AotObject::Role),
        duty().prop_map(AotObject::Duty),
        privilege().prop_map(AotObject::Privilege),
        policy().prop_map(AotObject::Policy),
        role_extension().prop_map(AotObject::RoleExtension),
        duty_extension().prop_map(AotObject::DutyExtension),
        menu_item().prop_map(AotObject::MenuItem),
    ]
}

fn model_of(object: &AotObject) -> Option<&str> {
    match object {
        AotObject::Role(x) => x.model.as_deref(),
        AotObject::Duty(x) => x.model.as_deref(),
        AotObject::Privilege(x) => x.model.as_deref(),
        AotObject::Policy(x) => x.model.as_deref(),
        AotObject::RoleExtension(x) => x.model.as_deref(),
        AotObject::DutyExtension(x) => x.model.as_deref(),
        AotObject::MenuItem(x) => x.model.as_deref(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn object_to_xml_and_back_is_the_identity(object in object()) {
        let xml = object_to_xml(&object);
        // The model comes from the folder, not the file, so it is passed back in.
        let back = parse_object(Path::new("x.xml"), model_of(&object), xml.as_bytes());
        prop_assert!(back.is_ok(), "{:?}\n{}", back, xml);
        let back = back.expect("checked");
        prop_assert_eq!(&back, &object, "{}", xml);
        prop_assert_eq!(object_to_xml(&back), xml);
    }
}
