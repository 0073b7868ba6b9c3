//! The layer order written in `docs/architecture.md`, and the uses that go
//! against it.
//!
//! An order is a fenced block whose info string is `layers` and the crate
//! (or one of its modules, `core-service::store`), listing that crate's (or
//! module's) child modules one layer per line, the top first:
//!
//! ````text
//! ```layers edge
//! server
//! ws http
//! core_client
//! ```
//! ````
//!
//! A module may use the modules of the lines below its own and nothing
//! above; modules on one line do not use each other. Every child module is
//! on exactly one line, so the order is also the module map.

use crate::graph::{Graph, Module};
use std::collections::BTreeMap;

/// One block: the children of `within` in `crate_name`, top layer first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub crate_name: String,
    pub within: Module,
    pub layers: Vec<Vec<String>>,
}

/// Every order written in `markdown`.
pub fn orders_in(markdown: &str) -> Vec<Order> {
    let mut orders = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.trim().strip_prefix("```layers ") else {
            continue;
        };
        let (crate_name, within) = name.trim().split_once("::").unwrap_or((name.trim(), ""));
        let layers = lines
            .by_ref()
            .take_while(|line| line.trim() != "```")
            .map(|line| line.split_whitespace().map(str::to_owned).collect())
            .filter(|layer: &Vec<String>| !layer.is_empty())
            .collect();
        orders.push(Order {
            crate_name: crate_name.to_owned(),
            within: within.to_owned(),
            layers,
        });
    }
    orders
}

/// What in `graph` goes against `order`: modules it leaves out or names
/// wrongly, and each use upwards or sideways, with the file it is in.
pub fn breaches(graph: &Graph, order: &Order) -> Vec<String> {
    let mut found = Vec::new();
    let mut layer_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (n, layer) in order.layers.iter().enumerate() {
        for name in layer {
            if layer_of.insert(name, n).is_some() {
                found.push(format!("`{name}` is on two lines"));
            }
        }
    }
    let children: Vec<&str> = graph
        .modules
        .iter()
        .filter_map(|module| child_name(&order.within, module))
        .collect();
    for child in &children {
        if !layer_of.contains_key(child) {
            found.push(format!("`{child}` is on no line"));
        }
    }
    for name in layer_of.keys() {
        if !children.contains(name) {
            found.push(format!("`{name}` is not a module"));
        }
    }
    for ((from, to), file) in &graph.uses {
        let (Some(user), Some(used)) =
            (top_below(&order.within, from), top_below(&order.within, to))
        else {
            continue;
        };
        let (Some(&high), Some(&low)) = (layer_of.get(user), layer_of.get(used)) else {
            continue;
        };
        if user != used && high >= low {
            let how = if high == low { "beside" } else { "above" };
            found.push(format!(
                "`{from}` uses `{to}`, {how} it ({})",
                file.display()
            ));
        }
    }
    found
}

/// The name of `module` if it is a direct child of `within`.
fn child_name<'a>(within: &str, module: &'a str) -> Option<&'a str> {
    let name = top_below(within, module)?;
    (name.len() == below(within, module)?.len()).then_some(name)
}

/// The child of `within` that `module` is in (itself or a descendant).
fn top_below<'a>(within: &str, module: &'a str) -> Option<&'a str> {
    let rest = below(within, module)?;
    Some(rest.split("::").next().unwrap_or(rest))
}

/// `module`'s path below `within`, if it is strictly below it.
fn below<'a>(within: &str, module: &'a str) -> Option<&'a str> {
    if within.is_empty() {
        return (!module.is_empty()).then_some(module);
    }
    module.strip_prefix(within)?.strip_prefix("::")
}
