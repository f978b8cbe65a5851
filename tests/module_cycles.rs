//! No import cycles among the library's modules.
//!
//! Reads `src/**/*.rs` as text: every `use crate::…`, `use super::…` and `use self::…` (grouped forms
//! `use crate::{a, b::{c, d}}` included) and every `crate::…` or `super::…` path in code, comments and
//! string literals left out. Each path resolves to the most specific module file that exists
//! (`src/a/b.rs` or `src/a/b/mod.rs`, else `src/a.rs` or `src/a/mod.rs`, else the crate root), and the
//! file that holds it depends on that module. Paths inside an inline module (`mod tests { … }`) count for
//! the file. Edges between a module and its own ancestor or descendant are left out: a parent declaring
//! and re-exporting its children, and a child using its parent's items, are how modules nest, not cycles.
//! Every strongly connected component of two or more modules is a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module by its path from the crate root; the root is empty.
type Module = Vec<String>;

#[test]
fn no_import_cycles_among_modules() {
    let graph = Graph::from_sources(&read_sources());
    let cycles: Vec<String> = graph
        .cycles()
        .into_iter()
        .map(|component| graph.describe(&component))
        .collect();
    assert!(
        cycles.is_empty(),
        "import cycles among modules:\n\n{}",
        cycles.join("\n\n")
    );
}

/// The modules under `facts` depend on each other directly (`super::image::ImageFacts`), never through
/// `facts`' re-exports, so the graph (which leaves out child → parent edges) sees every dependency among
/// them.
#[test]
fn facts_modules_import_siblings_not_the_parent() {
    let graph = Graph::from_sources(&read_sources());
    let facts: Module = vec!["facts".to_string()];
    let through_parent: Vec<String> = graph
        .references
        .iter()
        .filter(|r| r.from.len() > 1 && r.from.starts_with(&facts) && r.to == facts)
        .map(|r| format!("{}: {}", r.file, r.path))
        .collect();
    assert!(
        through_parent.is_empty(),
        "facts modules importing through facts' re-exports:\n{}",
        through_parent.join("\n")
    );
}

#[test]
fn the_finder_finds_cycles_and_only_cycles() {
    let module = |path: &str| -> Module { path.split("::").map(str::to_string).collect() };
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, to) in [
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
        ("c", "d"),
        ("d", "e"),
        ("e", "d"),
        ("f", "a"),
    ] {
        edges.entry(module(from)).or_default().insert(module(to));
    }
    let mut found = strongly_connected(&edges);
    found.sort();
    assert_eq!(
        found,
        vec![
            vec![module("a"), module("b"), module("c")],
            vec![module("d"), module("e")],
        ]
    );
    edges.remove(&module("e"));
    assert_eq!(
        strongly_connected(&edges),
        vec![vec![module("a"), module("b"), module("c")]]
    );
}

#[test]
fn paths_resolve_to_the_most_specific_module_and_nesting_is_not_a_cycle() {
    let sources: Vec<(String, String)> = [
        ("lib.rs", "pub mod a; pub mod b; pub mod c;"),
        // Grouped and nested, with `self`, a rename and a glob.
        (
            "a.rs",
            "use crate::{b::{self, Thing as Other}, c::d::*};\n\
             // use crate::e; (a comment)\n\
             const S: &str = \"crate::e::X\";\n\
             #[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::e::Y;\n}",
        ),
        // An expression path, and `super` from a top-level file.
        ("b.rs", "fn f() { let _ = super::a::VALUE; }"),
        // The parent re-exports its child and the child uses the parent: nesting, not a cycle.
        (
            "c/mod.rs",
            "mod d;\npub use d::Z;\nuse self::d::W;\nconst C: char = '{';",
        ),
        ("c/d.rs", "use super::C;\nuse super::super::b::f;"),
        ("e.rs", "fn g<'a>(x: &'a str) {}"),
    ]
    .iter()
    .map(|(path, text)| (path.to_string(), text.to_string()))
    .collect();
    let graph = Graph::from_sources(&sources);
    let edges: BTreeSet<(String, String)> = graph
        .edges
        .iter()
        .flat_map(|(from, to)| to.keys().map(|to| (from.join("::"), to.join("::"))))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("a", "b"),
        ("a", "c::d"),
        ("a", "e"),
        ("b", "a"),
        ("c::d", "b"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(edges, expected);
    let cycles: Vec<Vec<String>> = graph
        .cycles()
        .iter()
        .map(|c| c.iter().map(|m| m.join("::")).collect())
        .collect();
    // a → c::d → b → a: a cycle through a nested module, found at the nested module.
    assert_eq!(cycles, vec![vec!["a", "b", "c::d"]]);
}

/// Every `.rs` file under `src/` as (path relative to `src/`, text).
fn read_sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read src")
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).expect("under src");
                let relative = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                let text = std::fs::read_to_string(&path).expect("read source");
                out.push((relative, text));
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = Vec::new();
    walk(&src, &src, &mut sources);
    assert!(
        sources.iter().any(|(path, _)| path == "lib.rs"),
        "src/lib.rs not found"
    );
    sources
}

/// The module a file under `src/` defines; `None` for `main.rs`, the root of the binary crate (which
/// reaches the library by its crate name, never by `crate::`).
fn module_of(file: &str) -> Option<Module> {
    if file == "main.rs" {
        return None;
    }
    let mut parts: Vec<String> = file.split('/').map(str::to_string).collect();
    let last = parts.pop()?;
    match last.as_str() {
        "lib.rs" if parts.is_empty() => {}
        "mod.rs" => {}
        name => parts.push(name.strip_suffix(".rs")?.to_string()),
    }
    Some(parts)
}

/// A path found in a file, and the module it resolved to.
struct Reference {
    file: String,
    from: Module,
    path: String,
    to: Module,
}

struct Graph {
    references: Vec<Reference>,
    /// Module → the modules it depends on → where (`file: path`, first found).
    edges: BTreeMap<Module, BTreeMap<Module, String>>,
}

impl Graph {
    fn from_sources(sources: &[(String, String)]) -> Graph {
        let modules: BTreeSet<Module> = sources.iter().filter_map(|(f, _)| module_of(f)).collect();
        let mut references = Vec::new();
        for (file, text) in sources {
            let Some(module) = module_of(file) else {
                continue;
            };
            for (inline, path) in paths_in(&tokens(text)) {
                let Some(absolute) = absolute(&module, &inline, &path) else {
                    continue;
                };
                let to = resolve(&modules, &absolute);
                references.push(Reference {
                    file: format!("src/{file}"),
                    from: module.clone(),
                    // `a::{self, …}` reads as `a::self`; shown as `a`.
                    path: path.join("::").trim_end_matches("::self").to_string(),
                    to,
                });
            }
        }
        let mut edges: BTreeMap<Module, BTreeMap<Module, String>> = BTreeMap::new();
        for r in &references {
            // Nesting (either way, self included) is not a dependency between modules.
            if r.from.starts_with(&r.to) || r.to.starts_with(&r.from) {
                continue;
            }
            edges
                .entry(r.from.clone())
                .or_default()
                .entry(r.to.clone())
                .or_insert_with(|| format!("{}: {}", r.file, r.path));
        }
        Graph { references, edges }
    }

    /// Strongly connected components of two or more modules, each sorted, in order.
    fn cycles(&self) -> Vec<Vec<Module>> {
        let plain: BTreeMap<Module, BTreeSet<Module>> = self
            .edges
            .iter()
            .map(|(from, to)| (from.clone(), to.keys().cloned().collect()))
            .collect();
        let mut found = strongly_connected(&plain);
        found.sort();
        found
    }

    /// A component's modules and the edges among them, each with where it comes from.
    fn describe(&self, component: &[Module]) -> String {
        let names: Vec<String> = component.iter().map(|m| m.join("::")).collect();
        let mut lines = vec![format!("cycle among {}:", names.join(", "))];
        for from in component {
            for (to, evidence) in self.edges.get(from).into_iter().flatten() {
                if component.contains(to) {
                    lines.push(format!(
                        "  {} → {}   ({evidence})",
                        from.join("::"),
                        to.join("::")
                    ));
                }
            }
        }
        lines.join("\n")
    }
}

/// Tarjan's algorithm; only components of two or more nodes (the graph has no self edges).
fn strongly_connected(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        found: Vec<Vec<Module>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a Module) {
        let n = state.index.len();
        state.index.insert(node, n);
        state.low.insert(node, n);
        state.stack.push(node);
        state.on_stack.insert(node);
        for next in state.edges.get(node).into_iter().flatten() {
            if !state.index.contains_key(next) {
                visit(state, next);
                let low = state.low[node].min(state.low[next]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(next) {
                let low = state.low[node].min(state.index[next]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                component.push(member.clone());
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                state.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    let nodes: BTreeSet<&Module> = edges
        .iter()
        .flat_map(|(from, to)| std::iter::once(from).chain(to))
        .collect();
    for node in nodes {
        if !state.index.contains_key(node) {
            visit(&mut state, node);
        }
    }
    state.found
}

/// `path` (starting `crate`, `super` or `self`) as seen from inline module `inline` of file module
/// `module`, made absolute; `None` for paths that start anywhere else (external crates, names in scope)
/// or climb above the root.
fn absolute(module: &Module, inline: &[String], path: &[String]) -> Option<Module> {
    let mut segments = path.iter().peekable();
    let mut base: Module = match segments.peek()?.as_str() {
        "crate" => {
            segments.next();
            Vec::new()
        }
        "super" | "self" => module.iter().chain(inline).cloned().collect(),
        _ => return None,
    };
    while let Some(first) = segments.peek() {
        match first.as_str() {
            "super" => {
                base.pop()?;
            }
            "self" => {}
            _ => break,
        }
        segments.next();
    }
    base.extend(segments.cloned());
    Some(base)
}

/// The longest prefix of `path` that is a module file; the root when none is.
fn resolve(modules: &BTreeSet<Module>, path: &[String]) -> Module {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| modules.contains(prefix))
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    /// `::`
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Star,
    Other,
}

/// The tokens that matter for paths, with comments, strings and character literals left out.
fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            _ if c.is_whitespace() => i += 1,
            '/' if at(i + 1) == '/' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if at(i + 1) == '*' => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && at(i + 1) == '*' {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && at(i + 1) == '/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            '"' => i = skip_string(&chars, i + 1),
            '\'' => {
                if at(i + 1) == '\\' {
                    // An escaped character literal: `'\n'`, `'\''`, `'\u{7f}'`.
                    i += 3;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if at(i + 2) == '\'' {
                    i += 3;
                } else {
                    // A lifetime or label.
                    i += 1;
                }
            }
            _ if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                // Raw strings: r"…", r#"…"#, br"…".
                if (word == "r" || word == "br") && (at(i) == '"' || at(i) == '#') {
                    let mut hashes = 0;
                    while at(i + hashes) == '#' {
                        hashes += 1;
                    }
                    if at(i + hashes) == '"' {
                        i += hashes + 1;
                        loop {
                            if i >= chars.len() {
                                break;
                            }
                            if chars[i] == '"' && (1..=hashes).all(|h| at(i + h) == '#') {
                                i += hashes + 1;
                                break;
                            }
                            i += 1;
                        }
                        continue;
                    }
                }
                out.push(Token::Ident(word));
            }
            _ if c.is_ascii_digit() => {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Token::Other);
            }
            ':' if at(i + 1) == ':' => {
                out.push(Token::PathSep);
                i += 2;
            }
            '{' => {
                out.push(Token::Open);
                i += 1;
            }
            '}' => {
                out.push(Token::Close);
                i += 1;
            }
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            ';' => {
                out.push(Token::Semi);
                i += 1;
            }
            '*' => {
                out.push(Token::Star);
                i += 1;
            }
            _ => {
                out.push(Token::Other);
                i += 1;
            }
        }
    }
    out
}

/// The index after the string that starts before `i` (its opening quote already passed).
fn skip_string(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Every path of a `use` declaration and every `crate::…`/`super::…` path in code, each with the
/// inline modules it sits in.
fn paths_in(tokens: &[Token]) -> Vec<(Vec<String>, Vec<String>)> {
    let ident = |i: usize| match tokens.get(i) {
        Some(Token::Ident(word)) => Some(word.as_str()),
        _ => None,
    };
    let mut found = Vec::new();
    // Inline modules open around the current token, each with the brace depth inside it.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut pending_module: Option<String> = None;
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Open => {
                depth += 1;
                if let Some(name) = pending_module.take() {
                    inline.push((name, depth));
                }
                i += 1;
            }
            Token::Close => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Token::Ident(word) if word == "mod" => {
                if let Some(name) = ident(i + 1) {
                    if tokens.get(i + 2) == Some(&Token::Open) {
                        pending_module = Some(name.to_string());
                    }
                    i += 2;
                } else {
                    i += 1;
                }
            }
            Token::Ident(word) if word == "use" => {
                let mut paths = Vec::new();
                i += 1;
                use_tree(tokens, &mut i, Vec::new(), &mut paths);
                while i < tokens.len() && tokens[i] != Token::Semi {
                    i += 1;
                }
                let here: Vec<String> = inline.iter().map(|(name, _)| name.clone()).collect();
                found.extend(paths.into_iter().map(|p| (here.clone(), p)));
            }
            Token::Ident(word)
                if (word == "crate" || word == "super")
                    && tokens.get(i + 1) == Some(&Token::PathSep) =>
            {
                let mut path = vec![word.clone()];
                i += 1;
                while tokens.get(i) == Some(&Token::PathSep) {
                    match ident(i + 1) {
                        Some(next) => {
                            path.push(next.to_string());
                            i += 2;
                        }
                        None => break,
                    }
                }
                let here: Vec<String> = inline.iter().map(|(name, _)| name.clone()).collect();
                found.push((here, path));
            }
            _ => i += 1,
        }
    }
    found
}

/// One use tree (`a::b`, `a::{b, c::d}`, `a::*`, `a as b`) from `tokens[*i]`, its paths added to `out`.
fn use_tree(tokens: &[Token], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    loop {
        match tokens.get(*i) {
            Some(Token::PathSep) => *i += 1,
            Some(Token::Ident(word)) => {
                path.push(word.clone());
                *i += 1;
                if tokens.get(*i) == Some(&Token::PathSep) {
                    continue;
                }
                if matches!(tokens.get(*i), Some(Token::Ident(w)) if w == "as") {
                    *i += 2;
                }
                out.push(path);
                return;
            }
            Some(Token::Star) => {
                *i += 1;
                out.push(path);
                return;
            }
            Some(Token::Open) => {
                *i += 1;
                loop {
                    match tokens.get(*i) {
                        Some(Token::Close) => {
                            *i += 1;
                            return;
                        }
                        Some(Token::Comma) => *i += 1,
                        Some(_) => {
                            let before = *i;
                            use_tree(tokens, i, path.clone(), out);
                            if *i == before {
                                *i += 1;
                            }
                        }
                        None => return,
                    }
                }
            }
            _ => return,
        }
    }
}
