//! The workspace against the rules of `docs/architecture.md`: no module
//! circles in any crate, and each crate's modules in its written layer
//! order.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

use layers::circles::circles;
use layers::graph::{Graph, read_crate};
use layers::order::{Order, breaches, orders_in};
use layers::reach::takers;
use std::path::{Path, PathBuf};

/// Every library of the workspace: its name and its sources.
const CRATES: [(&str, &str); 8] = [
    ("messenger-proto", "src"),
    ("core-service", "core-service/src"),
    ("edge", "edge/src"),
    ("launcher", "launcher/src"),
    ("loadgen", "loadgen/src"),
    ("startup", "startup/src"),
    ("demo-data", "demo-data/src"),
    ("lean-queue", "lean-queue/src"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn graph(src: &str) -> Graph {
    read_crate(&root().join(src)).unwrap_or_else(|error| panic!("{error}"))
}

fn written_orders() -> Vec<Order> {
    let path = root().join("docs/architecture.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{error}"));
    orders_in(&text)
}

#[test]
fn no_crate_has_a_circle_of_modules() {
    let mut found = Vec::new();
    for (name, src) in CRATES {
        for circle in circles(&graph(src)) {
            found.push(format!("{name}: {}", circle.join(" ⇄ ")));
        }
    }
    assert!(
        found.is_empty(),
        "modules in circles:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_crate_of_several_modules_keeps_its_written_order() {
    let orders = written_orders();
    let mut found = Vec::new();
    for (name, src) in CRATES {
        let graph = graph(src);
        let mine: Vec<&Order> = orders.iter().filter(|o| o.crate_name == name).collect();
        if mine.is_empty() && graph.modules.len() > 2 {
            found.push(format!("{name}: no order in docs/architecture.md"));
        }
        for order in mine {
            for breach in breaches(&graph, order) {
                found.push(format!("{name}: {breach}"));
            }
        }
    }
    let known: Vec<&str> = CRATES.iter().map(|(name, _)| *name).collect();
    for order in &orders {
        if !known.contains(&order.crate_name.as_str()) {
            found.push(format!("an order for `{}`, not a crate", order.crate_name));
        }
    }
    assert!(found.is_empty(), "against the order:\n{}", found.join("\n"));
}

/// The core's operations and events take the services they use
/// (`Chats`, `Accounts`, `Rates`, `Live`), so that each signature shows its
/// reach; only the dispatch (and a moved session's catch-up, which
/// dispatches what it carries) and the tasks that outlive a call hold the
/// whole `Core`.
#[test]
fn the_cores_operations_take_services_not_the_whole_core() {
    let whole_core_allowed = [
        "commands::dispatch",
        "commands::session_move::resume",
        "events::start",
        "events::follow",
        "events::catch_up::start",
        "events::catch_up::answer",
        "events::catch_up::read",
        "events::catch_up::check_tails",
        "events::presence::start",
        "cores::start",
    ];
    let operations = ["commands", "cores", "events", "accounts"];
    let found: Vec<String> = takers(&root().join("core-service/src"), "Core")
        .unwrap()
        .into_iter()
        .filter(|taker| {
            let top = taker.module.split("::").next().unwrap_or_default();
            operations.contains(&top)
        })
        .map(|taker| format!("{}::{}", taker.module, taker.function))
        .filter(|name| !whole_core_allowed.contains(&name.as_str()))
        .collect();
    assert!(
        found.is_empty(),
        "operations that take the whole core: {found:?}"
    );
}

/// The reader and the checks on a crate made for the purpose, so that a
/// rule that could never fail would be seen to.
mod the_checks_themselves {
    use super::*;

    fn write(folder: &tempfile::TempDir, file: &str, text: &str) {
        let path = folder.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn sample() -> (tempfile::TempDir, Graph) {
        let folder = tempfile::tempdir().unwrap();
        write(
            &folder,
            "lib.rs",
            "pub mod low;\npub mod high;\npub mod ring;\n",
        );
        write(
            &folder,
            "high.rs",
            "use crate::low::Thing;\npub fn f() { crate::ring::a::go(); }\n",
        );
        write(
            &folder,
            "low.rs",
            "pub struct Thing;\n#[cfg(test)]\nmod tests { use crate::high::f; }\n#[cfg(test)]\nmod checks;\n",
        );
        write(&folder, "low/checks.rs", "use crate::high::f;\n");
        write(
            &folder,
            "ring/mod.rs",
            "pub mod a;\npub mod b;\npub struct Shared;\n",
        );
        write(
            &folder,
            "ring/a.rs",
            "pub fn go() { tokio::select! { _ = super::b::run() => {} } }\n",
        );
        write(
            &folder,
            "ring/b.rs",
            "use super::{a, Shared};\npub async fn run() {}\n",
        );
        let graph = read_crate(folder.path()).unwrap();
        (folder, graph)
    }

    #[test]
    fn uses_are_read_from_imports_paths_and_macros_but_not_tests() {
        let (_folder, graph) = sample();
        let uses: Vec<(String, String)> = graph.uses.keys().cloned().collect();
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert!(uses.contains(&pair("high", "low")), "{uses:?}");
        assert!(uses.contains(&pair("high", "ring::a")), "{uses:?}");
        assert!(uses.contains(&pair("ring::a", "ring::b")), "a macro's path");
        assert!(uses.contains(&pair("ring::b", "ring")), "{uses:?}");
        assert!(!uses.contains(&pair("low", "high")), "test code left out");
        assert!(
            !graph.modules.contains("low::checks"),
            "a test-only file too"
        );
    }

    #[test]
    fn a_circle_and_a_use_upwards_are_found() {
        let (_folder, graph) = sample();
        assert_eq!(circles(&graph), [["ring::a", "ring::b"]]);
        let order = |lines: &[&str]| Order {
            crate_name: "sample".into(),
            within: String::new(),
            layers: lines
                .iter()
                .map(|line| line.split(' ').map(str::to_owned).collect())
                .collect(),
        };
        assert!(breaches(&graph, &order(&["high", "ring", "low"])).is_empty());
        let upside_down = breaches(&graph, &order(&["low", "ring", "high"]));
        assert_eq!(upside_down.len(), 2, "{upside_down:?}");
        let beside = breaches(&graph, &order(&["high low", "ring"]));
        assert_eq!(beside.len(), 1, "{beside:?}");
        let missing = breaches(&graph, &order(&["high", "low"]));
        assert!(missing.iter().any(|b| b.contains("`ring` is on no line")));
    }

    #[test]
    fn takers_of_a_type_are_found_in_functions_and_methods_but_not_tests() {
        let folder = tempfile::tempdir().unwrap();
        write(
            &folder,
            "lib.rs",
            "pub mod ops;\npub struct Whole;\npub struct Part;\n",
        );
        write(
            &folder,
            "ops.rs",
            "use crate::{Part, Whole};\nuse std::sync::Arc;\n\
             pub fn narrow(part: &Part) {}\n\
             pub fn wide(whole: &Whole, n: u8) {}\n\
             pub async fn task(whole: Arc<Whole>) {}\n\
             pub struct S;\nimpl S { pub fn method(&self, whole: &Whole) {} }\n\
             #[cfg(test)]\nmod tests { fn helper(whole: &super::Whole) {} }\n",
        );
        let found: Vec<String> = takers(folder.path(), "Whole")
            .unwrap()
            .into_iter()
            .map(|taker| format!("{}::{}", taker.module, taker.function))
            .collect();
        assert_eq!(found, ["ops::S::method", "ops::task", "ops::wide"]);
    }

    #[test]
    fn orders_are_read_from_fenced_blocks() {
        let text = "x\n```layers edge\nserver\nws http\n\ncore_client\n```\n```layers core-service::store\nqueries\n```\n";
        let orders = orders_in(text);
        assert_eq!(orders.len(), 2);
        assert_eq!(
            orders[0].layers,
            [vec!["server"], vec!["ws", "http"], vec!["core_client"]]
        );
        assert_eq!(
            (orders[1].crate_name.as_str(), orders[1].within.as_str()),
            ("core-service", "store")
        );
    }
}
