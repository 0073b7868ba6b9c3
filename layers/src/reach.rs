//! Which functions take a given type: the core's operations take the
//! services they use by name, never the whole core, so that a signature
//! shows its reach (`docs/architecture.md`, "service").

use crate::graph::{Module, ReadError, is_test_only, join, shipped_files};
use std::path::Path;
use syn::visit::{self, Visit};

/// A function, and the module it is in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Taker {
    pub module: Module,
    /// Its name; a method's is `Type::method`.
    pub function: String,
}

/// Every function of the library in `src` (test code left out) with a
/// parameter whose type names `type_name` anywhere in it (`&T`, `Arc<T>`).
pub fn takers(src: &Path, type_name: &str) -> Result<Vec<Taker>, ReadError> {
    let mut found = Vec::new();
    for source in shipped_files(src)? {
        let mut finder = Finder {
            type_name,
            at: source.module.clone(),
            owner: None,
            found: &mut found,
        };
        finder.visit_file(&source.file);
    }
    found.sort();
    Ok(found)
}

struct Finder<'a> {
    type_name: &'a str,
    at: Vec<String>,
    /// The type whose `impl` the finder is in.
    owner: Option<String>,
    found: &'a mut Vec<Taker>,
}

impl Finder<'_> {
    fn check(&mut self, signature: &syn::Signature) {
        let takes = signature.inputs.iter().any(|input| match input {
            syn::FnArg::Typed(typed) => names(&typed.ty, self.type_name),
            syn::FnArg::Receiver(_) => false,
        });
        if takes {
            let name = signature.ident.to_string();
            let function = match &self.owner {
                Some(owner) => format!("{owner}::{name}"),
                None => name,
            };
            self.found.push(Taker {
                module: join(&self.at),
                function,
            });
        }
    }
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if !is_test_only(item) {
            visit::visit_item(self, item);
        }
    }

    fn visit_item_mod(&mut self, module: &'ast syn::ItemMod) {
        self.at.push(module.ident.to_string());
        visit::visit_item_mod(self, module);
        self.at.pop();
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let owner = match &*item.self_ty {
            syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        let outer = std::mem::replace(&mut self.owner, owner);
        visit::visit_item_impl(self, item);
        self.owner = outer;
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.check(&item.sig);
        visit::visit_item_fn(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.check(&item.sig);
        visit::visit_impl_item_fn(self, item);
    }
}

/// Whether `ty` names `type_name`, itself or inside its generic arguments.
fn names(ty: &syn::Type, type_name: &str) -> bool {
    struct Names<'a> {
        type_name: &'a str,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Names<'_> {
        fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
            self.found |= segment.ident == self.type_name;
            visit::visit_path_segment(self, segment);
        }
    }
    let mut names = Names {
        type_name,
        found: false,
    };
    names.visit_type(ty);
    names.found
}
