//! The layer rule, read from the code: every `crate::…` (and `super::…`) path in
//! `src/` is an arrow from the module it is written in to the module it names. Arrows
//! between top-level modules must point to the same layer or a lower one, in the order
//! docs/ARCHITECTURE.md documents between its `layers:begin`/`layers:end` markers, and
//! the graph must have no cycle — neither between top-level modules nor between the
//! modules inside one (`scheduling::booking` → `scheduling::clients` …). A file's
//! `#[cfg(test)]` module is left out: tests may set up data through higher layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The layers, lowest first, as docs/ARCHITECTURE.md lists them: one table row per
/// layer, its modules in backticks in the second column.
fn documented_layers() -> Vec<Vec<String>> {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/ARCHITECTURE.md")).unwrap();
    let (_, rest) = doc.split_once("<!-- layers:begin -->").expect("layers:begin marker in docs/ARCHITECTURE.md");
    let (table, _) = rest.split_once("<!-- layers:end -->").expect("layers:end marker");
    table
        .lines()
        .filter(|l| l.starts_with('|') && !l.contains("---"))
        .skip(1) // the header row
        .map(|row| {
            let col = row.split('|').nth(2).unwrap_or_default();
            col.split('`').skip(1).step_by(2).map(str::to_string).collect::<Vec<_>>()
        })
        .filter(|mods| !mods.is_empty())
        .collect()
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A file's module path: `src/scheduling/booking/fields.rs` → ["scheduling", "booking",
/// "fields"]; `mod.rs` names its folder.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel.iter().map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The node a module path stands for in the graph: its first two components
/// (`scheduling::booking` for everything inside `scheduling/booking/`).
fn node(path: &[String]) -> String {
    path.iter().take(2).cloned().collect::<Vec<_>>().join("::")
}

/// The code of a file without comments and without its `#[cfg(test)]` module.
fn code_of(text: &str) -> String {
    let body = text.split("#[cfg(test)]").next().unwrap_or_default();
    body.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The paths a piece of code names after `crate::` or `super::` (braced groups
/// expanded): e.g. `use crate::{a::b, c}` → ["crate::a::b", "crate::c"].
fn named_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for start in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(i) = rest.find(start) {
            // Not part of a longer identifier (e.g. `my_crate::`).
            let before = rest[..i].chars().last();
            rest = &rest[i..];
            let ident_before = before.is_some_and(|c| c.is_alphanumeric() || c == '_');
            let end = rest
                .find(|c: char| {
                    !(c.is_alphanumeric()
                        || c == '_'
                        || c == ':'
                        || c == '{'
                        || c == '}'
                        || c == ','
                        || c == ' '
                        || c == '\n'
                        || c == '*')
                })
                .unwrap_or(rest.len());
            if !ident_before {
                expand(&rest[..end], &mut out);
            }
            rest = &rest[start.len()..];
        }
    }
    out
}

/// Expands `a::{b, c::{d}}` into ["a::b", "a::c::d"], keeping the plain `a::b::c` too.
fn expand(path: &str, out: &mut Vec<String>) {
    let path = path.trim();
    match path.find('{') {
        None => {
            let p: String = path.split([',', '}', ' ', '\n']).next().unwrap().into();
            out.push(p.trim_end_matches("::").to_string());
        }
        Some(open) => {
            let prefix = &path[..open];
            let inner = &path[open + 1..];
            // Split the group at top-level commas up to its closing brace.
            let (mut depth, mut last, mut items) = (0, 0, Vec::new());
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        items.push(&inner[last..i]);
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&inner[last..i]);
                        last = i + 1;
                    }
                    _ => {}
                }
            }
            for item in items {
                let item = item.trim();
                if item.is_empty() || item == "self" {
                    out.push(prefix.trim_end_matches("::").to_string());
                } else {
                    expand(&format!("{prefix}{item}"), out);
                }
            }
        }
    }
}

/// Resolves a named path, seen in the file of module `here`, to a module path.
fn resolve(here: &[String], named: &str, modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let mut segs: Vec<&str> = named.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<String> = match segs.first() {
        Some(&"crate") => {
            segs.remove(0);
            Vec::new()
        }
        Some(&"super") => {
            let mut b = here.to_vec();
            while segs.first() == Some(&"super") {
                segs.remove(0);
                b.pop();
            }
            b
        }
        _ => return None,
    };
    // The longest prefix that is a module; a `super::item` names the parent itself.
    let start = base.clone();
    let mut found = None;
    for s in segs {
        base.push(s.to_string());
        if modules.contains(&base) {
            found = Some(base.clone());
        } else {
            break;
        }
    }
    found.or_else(|| (!start.is_empty()).then_some(start))
}

/// Module node → nodes it uses, over the whole of `src/`.
fn arrows() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(ROOT).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let here = module_path(&src, f);
        if here == ["lib"] || here == ["main"] {
            continue; // lib.rs declares the modules; main.rs calls cli
        }
        let code = code_of(&std::fs::read_to_string(f).unwrap());
        let from = node(&here);
        let entry = graph.entry(from.clone()).or_default();
        for named in named_paths(&code) {
            if let Some(target) = resolve(&here, &named, &modules) {
                let to = node(&target);
                if !to.is_empty() && to != from {
                    entry.insert(to);
                }
            }
        }
    }
    graph
}

fn top(node: &str) -> &str {
    node.split("::").next().unwrap()
}

/// Is `a` a module inside `b`, or `b` inside `a`? (A folder's `mod.rs` declares and
/// re-exports its children: those arrows are the folder itself, not a dependency.)
fn nested(a: &str, b: &str) -> bool {
    a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"))
}

/// A cycle in `graph`, if there is one, as the list of nodes around it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|s| s == m).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(m, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// The graph with the arrows between a folder and its own children left out, at two
/// levels: top-level modules, and the modules inside each.
fn graphs(
    all: &BTreeMap<String, BTreeSet<String>>,
) -> (BTreeMap<String, BTreeSet<String>>, BTreeMap<String, BTreeSet<String>>) {
    let mut tops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut inner: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in all {
        for to in tos {
            if top(from) != top(to) {
                tops.entry(top(from).to_string()).or_default().insert(top(to).to_string());
            } else if !nested(from, to) {
                inner.entry(from.clone()).or_default().insert(to.clone());
            }
        }
    }
    (tops, inner)
}

#[test]
fn every_arrow_points_down_the_documented_layers_and_none_forms_a_cycle() {
    let layers = documented_layers();
    assert!(layers.len() >= 5, "docs/ARCHITECTURE.md lists too few layers: {layers:?}");
    let layer_of: BTreeMap<&str, usize> =
        layers.iter().enumerate().flat_map(|(i, mods)| mods.iter().map(move |m| (m.as_str(), i))).collect();
    let all = arrows();
    let tops: BTreeSet<&str> = all.keys().map(|n| top(n)).collect();
    for t in &tops {
        assert!(layer_of.contains_key(t), "module `{t}` is in no layer of docs/ARCHITECTURE.md; add it to the table");
    }
    for m in layer_of.keys() {
        assert!(tops.contains(m), "docs/ARCHITECTURE.md lists `{m}`, which is not a module of src/");
    }
    let (top_graph, inner_graph) = graphs(&all);
    // The reader sees the arrows that must be there.
    for (from, to) in [("api", "scheduling"), ("server", "api"), ("hub", "events"), ("store", "events")] {
        assert!(top_graph[from].contains(to), "the reader missed {from} → {to}: {top_graph:?}");
    }
    assert!(inner_graph["scheduling::booking"].contains("scheduling::appointment"), "{inner_graph:?}");
    let mut against = Vec::new();
    for (from, tos) in &top_graph {
        for to in tos {
            if layer_of[to.as_str()] > layer_of[from.as_str()] {
                against.push(format!("{from} → {to}"));
            }
        }
    }
    assert!(against.is_empty(), "arrows against the layer order of docs/ARCHITECTURE.md: {against:?}");
    assert_eq!(find_cycle(&top_graph), None, "a cycle between top-level modules");
    assert_eq!(find_cycle(&inner_graph), None, "a cycle between modules inside one");
}

/// The checker itself finds what it is meant to find.
#[test]
fn the_checker_sees_grouped_imports_super_paths_and_cycles() {
    let mut paths = named_paths("use crate::{a::b, c::{d, e}};\nlet x = super::f::g(); my_crate::h();");
    paths.sort();
    assert_eq!(paths, ["crate::a::b", "crate::c::d", "crate::c::e", "super::f::g"]);
    let modules: BTreeSet<Vec<String>> =
        [vec!["s".to_string()], vec!["s".into(), "f".into()], vec!["s".into(), "g".into()]].into_iter().collect();
    let here = vec!["s".to_string(), "g".to_string()];
    assert_eq!(resolve(&here, "super::f::thing", &modules), Some(vec!["s".to_string(), "f".to_string()]));
    let g = |edges: &[(&str, &str)]| {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            m.entry(a.to_string()).or_default().insert(b.to_string());
        }
        m
    };
    assert!(find_cycle(&g(&[("a", "b"), ("b", "c"), ("c", "a")])).is_some());
    assert_eq!(find_cycle(&g(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
    assert!(code_of("use crate::x;\n// use crate::y;\n#[cfg(test)]\nuse crate::z;").contains("crate::x"));
    assert!(!code_of("// use crate::y;\n#[cfg(test)]\nuse crate::z;").contains("crate::"));
}
