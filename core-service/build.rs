//! Lists the migrations of `sql/` for `store::migrate`: every file named
//! `NNNN_name.sql` is one migration, version `NNNN`, embedded in the binary.
//! Adding a migration is adding a file. Likewise the SQL functions of
//! `sql/functions/`: `name.sql` holds the function `name`, applied again
//! whenever its text changes.
//!
//! It also generates the cores' bus messages from
//! `proto/messenger/bus/v1/bus.proto` (protox, so no system `protoc`).

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    bus_messages();
    let folder = manifest_dir().join("../sql");
    println!("cargo:rerun-if-changed={}", folder.display());
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).to_owned();
    std::fs::write(out.join("migrations.rs"), migrations(&folder)).expect("OUT_DIR is writable");
    std::fs::write(
        out.join("functions.rs"),
        functions(&folder.join("functions")),
    )
    .expect("OUT_DIR is writable");
}

/// This package's folder, as cargo names it to this run: a build script
/// compiled once may run for another checkout sharing the target folder,
/// and the folder it was compiled in is not this one's.
fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}

/// The `.sql` files in `folder`: each one's name without `.sql`, and its
/// full path, sorted by name.
fn sql_files(folder: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(folder)
        .expect("the sql folders are readable")
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .map(|path| {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("UTF-8 names");
            let full = path.canonicalize().expect("an existing file");
            (stem.to_owned(), full.display().to_string())
        })
        .collect();
    files.sort();
    files
}

/// The list of the migrations in `folder`, by version.
fn migrations(folder: &Path) -> String {
    let mut migrations: Vec<(i32, String, String)> = sql_files(folder)
        .into_iter()
        .map(|(stem, path)| {
            let (version, name) = stem.split_once('_').expect("NNNN_name.sql");
            let version = version.parse().expect("a numeric version");
            (version, name.to_owned(), path)
        })
        .collect();
    migrations.sort();
    for pair in migrations.windows(2) {
        assert!(
            pair[0].0 != pair[1].0,
            "two migrations numbered {}",
            pair[0].0
        );
    }
    let mut list = String::from("&[\n");
    for (version, name, path) in &migrations {
        let _ = writeln!(
            list,
            "    Migration {{ version: {version}, name: {name:?}, sql: include_str!({path:?}) }},"
        );
    }
    list.push(']');
    list
}

/// The list of the function files in `folder`, by name.
fn functions(folder: &Path) -> String {
    let mut list = String::from("&[\n");
    for (name, path) in &sql_files(folder) {
        let _ = writeln!(
            list,
            "    Function {{ name: {name:?}, sql: include_str!({path:?}) }},"
        );
    }
    list.push(']');
    list
}

/// The bus's messages, into `OUT_DIR/messenger.bus.v1.rs`.
fn bus_messages() {
    let root = manifest_dir().join("../proto");
    let file = "messenger/bus/v1/bus.proto";
    println!("cargo:rerun-if-changed={}", root.join(file).display());
    let descriptors = protox::compile([file], [&root]).expect("the bus contract compiles");
    prost_build::Config::new()
        .out_dir(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .compile_fds(descriptors)
        .expect("the bus messages are generated");
}
