//! Schemas embedded in the binary, for each backend's sqlx `Migrator`.
//! Written out rather than `sqlx::migrate!`, which needs sqlx's proc-macro
//! crate; each backend has a test that every file in its directory is listed.

use futures_util::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType};
use std::borrow::Cow;

/// `(version, description, sql)`; the file is `{version:04}_{description}.sql`.
pub(crate) type Script = (i64, &'static str, &'static str);

#[derive(Debug)]
pub(crate) struct Embedded(pub &'static [Script]);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The `.sql` files of `dir` next to the names `scripts` implies, for the tests.
#[cfg(test)]
pub(crate) fn listed_and_present(dir: &str, scripts: &[Script]) -> (Vec<String>, Vec<String>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    files.sort();
    let embedded = scripts
        .iter()
        .map(|(v, d, _)| format!("{v:04}_{d}.sql"))
        .collect();
    (files, embedded)
}
