//! Schema migrations: the plain `.sql` files of `sql/`, applied in order at
//! start-up and recorded in `schema_migrations`; then the SQL functions of
//! `sql/functions/`, each applied again whenever its text changed (recorded
//! in `schema_functions`), so that changing a function is a diff of its
//! file rather than a new migration restating it whole.
//!
//! A PostgreSQL advisory lock serialises concurrent starts, so two processes
//! starting at once apply each migration exactly once. A migration that was
//! edited after it was applied is refused rather than silently skipped,
//! unless it was retired on purpose ([`RETIRED`]).
//! Functions are applied after every migration: a migration that needs a
//! function's newer text while it runs, or changes its signature (which
//! `CREATE OR REPLACE` cannot), drops or defines it itself.

use crate::error::{Error, Result};
use crate::store::Store;

/// One migration file.
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, oldest first: the files of `sql/`, listed by
/// `build.rs`.
const MIGRATIONS: &[Migration] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// One function file: `CREATE OR REPLACE FUNCTION name…`.
struct Function {
    name: &'static str,
    sql: &'static str,
}

/// Every function file, by name (listed by `build.rs`).
const FUNCTIONS: &[Function] = include!(concat!(env!("OUT_DIR"), "/functions.rs"));

/// Migrations whose text was replaced by a step that does nothing, with the
/// checksum of the text they had. A database that applied the old text is
/// as up to date as one that applied the new: a later migration undoes
/// what the old one made, where it finds it. So a database upgraded past
/// them skips the old work rather than doing it to have it undone.
///
/// 28 and 30 made `messages.words` and its indexes (a rewrite of the table
/// under an exclusive lock, then an index build); 31 replaced them.
const RETIRED: &[(i32, &str)] = &[(28, "d09921dd2dd64f7e"), (30, "61110694bca91b50")];

/// An arbitrary constant naming this project's migration lock.
const MIGRATION_LOCK: i64 = 0x6d65_7373_656e_6700;

/// Applies every migration not yet applied; returns how many it applied.
pub async fn run(store: &Store) -> Result<usize> {
    let mut client = store.connection().await?;
    // The lock comes first: even `CREATE TABLE IF NOT EXISTS` fails when
    // another process creates the same table at the same moment.
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = apply_locked(&mut client).await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    result
}

/// Creates the bookkeeping table if needed and applies what is pending;
/// the caller holds the migration lock.
async fn apply_locked(client: &mut deadpool_postgres::Object) -> Result<usize> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    integer PRIMARY KEY,
                 name       text NOT NULL,
                 checksum   text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );
             CREATE TABLE IF NOT EXISTS schema_functions (
                 name       text PRIMARY KEY,
                 checksum   text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await?;
    let applied = apply_pending(client).await?;
    apply_functions(client).await?;
    if applied > 0 {
        // A migration can create, fill or rewrite tables; the planner should
        // not wait for autovacuum (which may be off) to learn their sizes.
        client.batch_execute("ANALYZE").await?;
    }
    Ok(applied)
}

async fn apply_pending(client: &mut deadpool_postgres::Object) -> Result<usize> {
    let mut applied = 0;
    for migration in MIGRATIONS {
        let checksum = checksum(migration.sql);
        let row = client
            .query_opt(
                "SELECT checksum FROM schema_migrations WHERE version = $1",
                &[&migration.version],
            )
            .await?;
        match row {
            Some(row) if applied_as(migration.version, &row.get::<_, String>(0), &checksum) => {
                continue;
            }
            Some(_) => {
                return Err(Error::Internal(format!(
                    "migration {} ({}) changed after it was applied",
                    migration.version, migration.name
                )));
            }
            None => {}
        }
        let transaction = client.transaction().await?;
        transaction.batch_execute(migration.sql).await?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                &[&migration.version, &migration.name, &checksum],
            )
            .await?;
        transaction.commit().await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
        applied += 1;
    }
    Ok(applied)
}

/// Applies each function whose text is not the one last applied.
async fn apply_functions(client: &mut deadpool_postgres::Object) -> Result<()> {
    let applied: std::collections::HashMap<String, String> = client
        .query("SELECT name, checksum FROM schema_functions", &[])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    for function in FUNCTIONS {
        let checksum = checksum(function.sql);
        if applied.get(function.name) == Some(&checksum) {
            continue;
        }
        let transaction = client.transaction().await?;
        transaction.batch_execute(function.sql).await?;
        transaction
            .execute(
                "INSERT INTO schema_functions (name, checksum) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET checksum = $2, applied_at = now()",
                &[&function.name, &checksum],
            )
            .await?;
        transaction.commit().await?;
        tracing::info!(name = function.name, "applied function");
    }
    Ok(())
}

/// Whether a migration recorded with `recorded` needs nothing more.
fn applied_as(version: i32, recorded: &str, checksum: &str) -> bool {
    recorded == checksum || RETIRED.contains(&(version, recorded))
}

/// FNV-1a of the file's text: enough to notice an edited migration.
fn checksum(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_and_checksums_differ() {
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version);
        }
        assert_ne!(checksum("a"), checksum("b"));
        assert_eq!(checksum("a"), checksum("a"));
    }

    #[test]
    fn each_function_file_defines_the_function_it_is_named_after() {
        assert!(!FUNCTIONS.is_empty());
        for function in FUNCTIONS {
            let head = format!("CREATE OR REPLACE FUNCTION {}(", function.name);
            let heads = function.sql.matches("CREATE OR REPLACE FUNCTION").count();
            assert!(function.sql.contains(&head), "{}", function.name);
            assert_eq!(heads, 1, "one function in {}.sql", function.name);
        }
    }

    #[test]
    fn every_file_of_the_sql_folder_is_a_migration() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sql");
        let files = std::fs::read_dir(folder)
            .expect("the sql folder")
            .filter(|entry| {
                let path = entry.as_ref().expect("an entry").path();
                path.extension().is_some_and(|ext| ext == "sql")
            })
            .count();
        assert_eq!(MIGRATIONS.len(), files);
        assert_eq!((MIGRATIONS[0].version, MIGRATIONS[0].name), (1, "initial"));
        let numbers: Vec<i32> = MIGRATIONS.iter().map(|m| m.version).collect();
        let expected: Vec<i32> = (1..=i32::try_from(files).expect("few files")).collect();
        assert_eq!(numbers, expected, "numbered without gaps");
    }
}
