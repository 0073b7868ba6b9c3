//! A crate's modules and which of them each one uses, read from its
//! sources as the compiler reads them: `use` trees, paths in code, and
//! paths inside macros' tokens. Code under `#[cfg(test)]` is left out: the
//! order is about what ships.

use proc_macro2::{TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::{self, Visit};

/// Imports followed from one to the next before giving up (a circle of
/// re-exports does not compile, so this is only a guard).
const MAX_IMPORT_HOPS: usize = 8;

/// A module's path inside its crate, segments joined by `::`; the crate
/// root is the empty string.
pub type Module = String;

/// The modules of one crate and who uses whom.
#[derive(Debug, Default)]
pub struct Graph {
    pub modules: BTreeSet<Module>,
    /// Each use of another module, with the file it was seen in.
    pub uses: BTreeMap<(Module, Module), PathBuf>,
}

#[derive(Debug)]
pub enum ReadError {
    Io(PathBuf, std::io::Error),
    Parse(PathBuf, syn::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(path, error) => write!(f, "{}: {error}", path.display()),
            ReadError::Parse(path, error) => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for ReadError {}

/// One source file of a crate's library, parsed.
pub struct SourceFile {
    /// The module it holds, as path segments (empty for the crate root).
    pub module: Vec<String>,
    pub path: PathBuf,
    pub file: syn::File,
}

/// The files of the library whose sources are in `src` (binaries left
/// out), but those declared test-only (`#[cfg(test)] mod name;`).
pub fn shipped_files(src: &Path) -> Result<Vec<SourceFile>, ReadError> {
    let mut files = Vec::new();
    module_files(src, &[], &mut files)?;
    let mut parsed = Vec::new();
    let mut test_only = Vec::new();
    for (module, path) in files {
        let text = std::fs::read_to_string(&path).map_err(|e| ReadError::Io(path.clone(), e))?;
        let file = syn::parse_file(&text).map_err(|e| ReadError::Parse(path.clone(), e))?;
        test_only.extend(test_only_files(&file.items, &module));
        parsed.push(SourceFile { module, path, file });
    }
    parsed.retain(|source| !test_only.iter().any(|test| source.module.starts_with(test)));
    Ok(parsed)
}

/// The graph of the library whose sources are in `src` (binaries left out).
pub fn read_crate(src: &Path) -> Result<Graph, ReadError> {
    let parsed = shipped_files(src)?;
    let mut modules: BTreeSet<Module> = BTreeSet::new();
    let mut imports = Imports::new();
    for source in &parsed {
        modules.insert(join(&source.module));
        declarations(
            &source.file.items,
            &source.module,
            &mut modules,
            &mut imports,
        );
    }
    let mut uses = BTreeMap::new();
    for source in &parsed {
        let mut reader = Reader {
            modules: &modules,
            imports: &imports,
            at: source.module.clone(),
            path: &source.path,
            uses: &mut uses,
        };
        reader.visit_file(&source.file);
    }
    Ok(Graph { modules, uses })
}

/// The modules among `items` (at `at`) declared test-only, whose code is
/// in a file of its own (`#[cfg(test)] mod tests;`).
fn test_only_files(items: &[syn::Item], at: &[String]) -> Vec<Vec<String>> {
    items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(module) if module.content.is_none() && is_test_only(item) => {
                Some(child(at, &module.ident.to_string()))
            }
            _ => None,
        })
        .collect()
}

/// What a module's `use` items bind: (module, name) → the path it stands
/// for, so that `super::Outbox` counts as a use of the module that defines
/// `Outbox`, not of the parent that imports or re-exports it.
type Imports = BTreeMap<(Module, String), Vec<String>>;

/// The modules written inline (`mod name { … }`) among `items`, at `at`,
/// and the names each module's `use` items bind; test-only code left out.
fn declarations(
    items: &[syn::Item],
    at: &[String],
    modules: &mut BTreeSet<Module>,
    imports: &mut Imports,
) {
    for item in items.iter().filter(|item| !is_test_only(item)) {
        match item {
            syn::Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    let path = child(at, &module.ident.to_string());
                    modules.insert(join(&path));
                    declarations(items, &path, modules, imports);
                }
            }
            syn::Item::Use(item) => {
                let mut found = Vec::new();
                flatten(&item.tree, Vec::new(), &mut found);
                for imported in found {
                    if let Some(name) = imported.binds {
                        imports.insert((join(at), name), imported.path);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The module files under `folder`, itself the module `at`.
fn module_files(
    folder: &Path,
    at: &[String],
    files: &mut Vec<(Vec<String>, PathBuf)>,
) -> Result<(), ReadError> {
    let entries = std::fs::read_dir(folder).map_err(|e| ReadError::Io(folder.to_owned(), e))?;
    for entry in entries {
        let path = entry
            .map_err(|e| ReadError::Io(folder.to_owned(), e))?
            .path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        let name = name.to_owned();
        if path.is_dir() {
            // Binaries are not part of the library.
            if !(at.is_empty() && name == "bin") {
                module_files(&path, &child(at, &name), files)?;
            }
            continue;
        }
        let Some(stem) = name.strip_suffix(".rs") else {
            continue;
        };
        let module = match stem {
            "main" if at.is_empty() => continue,
            "lib" if at.is_empty() => Vec::new(),
            "mod" => at.to_vec(),
            stem => child(at, stem),
        };
        files.push((module, path));
    }
    Ok(())
}

fn child(at: &[String], name: &str) -> Vec<String> {
    let mut path = at.to_vec();
    path.push(name.to_owned());
    path
}

pub(crate) fn join(segments: &[String]) -> Module {
    segments.join("::")
}

/// Reads one file, noting every module it uses.
struct Reader<'a> {
    modules: &'a BTreeSet<Module>,
    imports: &'a Imports,
    /// The module the reader is in (a file's, or one written inline).
    at: Vec<String>,
    path: &'a Path,
    uses: &'a mut BTreeMap<(Module, Module), PathBuf>,
}

impl Reader<'_> {
    /// Notes the module a path starting with `segments` lands in, if it
    /// names one of this crate's.
    fn note(&mut self, segments: &[String]) {
        let Some(target) = self.resolve(segments) else {
            return;
        };
        let here = join(&self.at);
        if target != here {
            let key = (here, target);
            self.uses.entry(key).or_insert_with(|| self.path.to_owned());
        }
    }

    fn resolve(&self, segments: &[String]) -> Option<Module> {
        self.resolve_from(&self.at, segments, 0)
    }

    /// The module `segments`, written in module `from`, lands in; through
    /// a name a module imports, the module the name comes from.
    fn resolve_from(&self, from: &[String], segments: &[String], depth: usize) -> Option<Module> {
        let (first, rest) = segments.split_first()?;
        let mut at = match first.as_str() {
            "crate" => Vec::new(),
            "self" => from.to_vec(),
            "super" => from[..from.len().saturating_sub(1)].to_vec(),
            // A child module's name: only as the head of a longer path (a
            // lone name in code is a value, never a module).
            name if !rest.is_empty() && self.modules.contains(&join(&child(from, name))) => {
                child(from, name)
            }
            _ => return None,
        };
        let mut rest = rest;
        while let Some((segment, tail)) = rest.split_first() {
            if segment == "super" {
                at.pop();
            } else if self.modules.contains(&join(&child(&at, segment))) {
                at.push(segment.clone());
            } else if let Some(path) = self.imports.get(&(join(&at), segment.clone()))
                && depth < MAX_IMPORT_HOPS
            {
                // Outside the crate (`use std::sync::Arc`): no use of ours.
                return self.resolve_from(&at, path, depth + 1);
            } else {
                break;
            }
            rest = tail;
        }
        Some(join(&at))
    }

    /// Paths inside a macro's tokens (`tokio::select!`, `format!`…).
    fn note_tokens(&mut self, tokens: TokenStream) {
        let mut path: Vec<String> = Vec::new();
        // Colons since the path's last segment: two make a `::`.
        let mut colons = 0;
        for tree in tokens {
            match tree {
                TokenTree::Ident(ident) => {
                    if !path.is_empty() && colons != 2 {
                        self.note(&std::mem::take(&mut path));
                    }
                    path.push(ident.to_string());
                    colons = 0;
                }
                TokenTree::Punct(punct) if punct.as_char() == ':' && colons < 2 => colons += 1,
                other => {
                    self.note(&std::mem::take(&mut path));
                    colons = 0;
                    if let TokenTree::Group(group) = other {
                        self.note_tokens(group.stream());
                    }
                }
            }
        }
        self.note(&path);
    }
}

impl<'ast> Visit<'ast> for Reader<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if !is_test_only(item) {
            visit::visit_item(self, item);
        }
    }

    fn visit_item_mod(&mut self, module: &'ast syn::ItemMod) {
        if module.content.is_some() {
            self.at.push(module.ident.to_string());
            visit::visit_item_mod(self, module);
            self.at.pop();
        }
    }

    // `pub(crate)`, `pub(super)`: who may see an item, not a use.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut found = Vec::new();
        flatten(&item.tree, Vec::new(), &mut found);
        for imported in found {
            self.note(&imported.path);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.note(&segments);
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.note_tokens(mac.tokens.clone());
        visit::visit_macro(self, mac);
    }
}

/// A path a `use` names, and the name it binds (none for a glob).
struct Imported {
    path: Vec<String>,
    binds: Option<String>,
}

/// Every path a `use` tree names.
fn flatten(tree: &syn::UseTree, prefix: Vec<String>, found: &mut Vec<Imported>) {
    match tree {
        syn::UseTree::Path(path) => {
            let mut prefix = prefix;
            prefix.push(path.ident.to_string());
            flatten(&path.tree, prefix, found);
        }
        syn::UseTree::Name(name) if name.ident == "self" => found.push(Imported {
            binds: prefix.last().cloned(),
            path: prefix,
        }),
        syn::UseTree::Name(name) => found.push(Imported {
            path: child(&prefix, &name.ident.to_string()),
            binds: Some(name.ident.to_string()),
        }),
        syn::UseTree::Rename(rename) => found.push(Imported {
            path: child(&prefix, &rename.ident.to_string()),
            binds: Some(rename.rename.to_string()),
        }),
        syn::UseTree::Glob(_) => found.push(Imported {
            path: prefix,
            binds: None,
        }),
        syn::UseTree::Group(group) => {
            for tree in &group.items {
                flatten(tree, prefix.clone(), found);
            }
        }
    }
}

/// Whether `item` is compiled for tests only (`#[cfg(test)]`).
pub(crate) fn is_test_only(item: &syn::Item) -> bool {
    let attributes = match item {
        syn::Item::Fn(item) => &item.attrs,
        syn::Item::Mod(item) => &item.attrs,
        syn::Item::Use(item) => &item.attrs,
        syn::Item::Impl(item) => &item.attrs,
        syn::Item::Struct(item) => &item.attrs,
        syn::Item::Const(item) => &item.attrs,
        _ => return false,
    };
    attributes.iter().any(|attribute| {
        attribute.path().is_ident("cfg")
            && attribute
                .parse_args::<syn::Ident>()
                .is_ok_and(|ident| ident == "test")
    })
}
