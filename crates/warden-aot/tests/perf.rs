//! Import speed at the scale of a large customer: 1,000 roles, 5,000 duties and
//! 20,000 privileges. Ignored by default; run with
//! `cargo test -p warden-aot --release --test perf -- --ignored --nocapture`.

use std::time::Instant;
use warden_aot::{read_paths, write_model};
use warden_model::{Access, EntryPointGrant, EntryPointType, Grant, Model, Privilege, Role};

fn large_model() -> Model {
    let mut model = Model::default();
    let m = Some("Generated".to_string());
    for i in 0..20_000 {
        let mut grant = Grant::default();
        grant.allow.insert(Access::Read);
        if i % 2 == 0 {
            grant.allow.insert(Access::Update);
        }
        let entry_points = (0..3)
            .map(|j| EntryPointGrant {
                name: format!("MenuItem{}", (i * 3 + j) % 30_000),
                kind: EntryPointType::MenuItemDisplay,
                object: format!("MenuItem{}", (i * 3 + j) % 30_000),
                child: None,
                grant,
                unmodelled: Vec::new(),
            })
            .collect();
        let name = format!("Privilege{i}");
        let label = Some(format!("Maintain things & stuff #{i}"));
        model.privileges.insert(
            name.clone(),
            Privilege { name, label, description: None, model: m.clone(), entry_points, direct_access: Vec::new(), unmodelled: Vec::new() },
        );
    }
    for i in 0..5_000 {
        let name = format!("Duty{i}");
        let privileges = (0..6).map(|j| format!("Privilege{}", (i * 4 + j) % 20_000)).collect();
        let label = Some(format!("Duty {i}"));
        model.duties.insert(name.clone(), warden_model::Duty { name, label, description: None, model: m.clone(), privileges, unmodelled: Vec::new() });
    }
    for i in 0..1_000 {
        let mut role = Role::new(format!("Role{i}"));
        role.label = Some(format!("Role {i}"));
        role.model = m.clone();
        role.duties = (0..8).map(|j| format!("Duty{}", (i * 5 + j) % 5_000)).collect();
        model.roles.insert(role.name.clone(), role);
    }
    model
}

#[test]
#[ignore = "performance measurement; run in release"]
fn imports_26000_files_quickly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = write_model(&large_model(), dir.path()).expect("export");
    assert_eq!(report.files, 26_000);
    let start = Instant::now();
    let import = read_paths(&[dir.path().to_path_buf()]).expect("import");
    let elapsed = start.elapsed();
    println!("imported {} files in {elapsed:?}; {} warnings", import.files, import.warnings.len());
    for w in &import.warnings {
        println!("  {}", &w[..w.len().min(200)]);
    }
    assert_eq!(import.files, 26_000);
    assert!(elapsed.as_secs_f64() < 3.0, "{elapsed:?}");
}
