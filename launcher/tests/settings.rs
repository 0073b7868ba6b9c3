//! Every setting is documented where operators look: each environment
//! variable the messenger reads (those of `messenger --help`, which holds
//! the core's, the edge's and the runtime's flags, and the two read by the
//! log setup, and the secrets read from the environment only) is in `example.env` and in the README's settings table, and
//! neither names one that does not exist.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

/// Read from the environment by the log setup, not by a flag.
const LOG_SETTINGS: [&str; 2] = ["RUST_LOG", "LOG_FORMAT"];

fn workspace_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// The upper-case names that follow `marker` in `text`.
fn names_after(text: &str, marker: &str) -> BTreeSet<String> {
    text.split(marker)
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

fn flags() -> BTreeSet<String> {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_messenger"))
        .arg("--help")
        .output()
        .unwrap();
    let mut names = names_after(&String::from_utf8(help.stdout).unwrap(), "[env: ");
    names.extend(LOG_SETTINGS.map(str::to_owned));
    names.extend(core_service::config::ENVIRONMENT_SECRETS.map(str::to_owned));
    names
}

/// `NAME=` at the start of a line, commented out or not.
fn example_env() -> BTreeSet<String> {
    let text = workspace_file("example.env");
    text.lines()
        .map(|line| line.trim_start_matches('#').trim())
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.to_owned()))
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect()
}

/// The names in the first column of the README's settings table.
fn readme_table() -> BTreeSet<String> {
    let text = workspace_file("README.md");
    let first_cells = text
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| line.split('|').nth(1))
        .collect::<Vec<_>>()
        .join(" ");
    names_after(&first_cells, "`")
}

#[test]
fn every_setting_is_in_example_env_and_the_readme() {
    let flags = flags();
    assert!(flags.len() > 40, "{flags:?}");
    assert!(flags.contains("DATABASE_URL") && flags.contains("EDGE_LISTEN"));
    let example = example_env();
    assert_eq!(
        flags.difference(&example).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "settings missing from example.env"
    );
    assert_eq!(
        example.difference(&flags).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "example.env names settings that do not exist"
    );
    let readme = readme_table();
    assert_eq!(
        flags.difference(&readme).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "settings missing from the README's table"
    );
    let unknown: Vec<&String> = readme
        .difference(&flags)
        .filter(|name| name.contains('_'))
        .collect();
    assert!(
        unknown.is_empty(),
        "the README's table names unknown settings: {unknown:?}"
    );
}
