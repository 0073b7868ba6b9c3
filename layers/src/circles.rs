//! Modules that use one another, directly or around a circle: the strongly
//! connected components of the graph (Tarjan's algorithm).

use crate::graph::{Graph, Module};
use std::collections::BTreeMap;

/// Every circle of two or more modules, each sorted, in a stable order.
pub fn circles(graph: &Graph) -> Vec<Vec<Module>> {
    let mut search = Search {
        next: BTreeMap::new(),
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeMap::new(),
        counter: 0,
        found: Vec::new(),
    };
    for (from, to) in graph.uses.keys() {
        search
            .next
            .entry(from.as_str())
            .or_default()
            .push(to.as_str());
    }
    for module in &graph.modules {
        if !search.index.contains_key(module.as_str()) {
            search.visit(module);
        }
    }
    let mut found = search.found;
    found.sort();
    found
}

struct Search<'a> {
    next: BTreeMap<&'a str, Vec<&'a str>>,
    index: BTreeMap<&'a str, usize>,
    low: BTreeMap<&'a str, usize>,
    stack: Vec<&'a str>,
    on_stack: BTreeMap<&'a str, bool>,
    counter: usize,
    found: Vec<Vec<Module>>,
}

impl<'a> Search<'a> {
    fn visit(&mut self, module: &'a str) {
        self.index.insert(module, self.counter);
        self.low.insert(module, self.counter);
        self.counter += 1;
        self.stack.push(module);
        self.on_stack.insert(module, true);
        for next in self.next.get(module).cloned().unwrap_or_default() {
            if !self.index.contains_key(next) {
                self.visit(next);
                let low = self.low[module].min(self.low[next]);
                self.low.insert(module, low);
            } else if self.on_stack.get(next) == Some(&true) {
                let low = self.low[module].min(self.index[next]);
                self.low.insert(module, low);
            }
        }
        if self.low[module] == self.index[module] {
            self.close(module);
        }
    }

    /// Pops the component whose root is `module`.
    fn close(&mut self, module: &'a str) {
        let mut component = Vec::new();
        while let Some(top) = self.stack.pop() {
            self.on_stack.insert(top, false);
            component.push(top.to_owned());
            if top == module {
                break;
            }
        }
        if component.len() > 1 {
            component.sort();
            self.found.push(component);
        }
    }
}
