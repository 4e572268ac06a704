//! The direction of the data flow, checked on the source (docs/ARCHITECTURE.md, "The dependency
//! rule"): every file under src/ is read, its references to other modules (`crate::a::b`,
//! `super::x`, and a parent's uses of the modules it declares) are resolved to the files that
//! define them, and the test fails when
//! - a stage uses a stage later in the flow (the allowed direction: [`FLOW`] and [`BESIDE`]),
//! - a command uses another command (only `cmd::inputs` and `cmd::run_dir` are shared), or
//! - files import each other in a cycle.
//!
//! Test modules (from the first `#[cfg(test)]` line of a file on) and comments are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The stages in flow order: each may use the stages before it.
const FLOW: &[&str] = &[
    "util",
    "io",
    "ingest",
    "features",
    "cluster",
    "propensity",
    "personas",
    "model",
    "drift",
    "outcomes",
    "report",
];

/// The modules beside the flow and what they may use besides themselves: `synth` stands apart
/// (a few stages' types); `cli` uses nothing; `config` sits above the stages up to `outcomes`
/// and uses `cli`; `cmd` may use everything.
const BESIDE: &[(&str, &[&str])] = &[
    ("synth", &["util", "io", "ingest", "model"]),
    ("cli", &[]),
    ("config", &["outcomes", "cli"]),
    ("cmd", &["report", "synth", "cli", "config"]),
];

/// Each top-level module and the modules it may use besides itself: a stage, those before it in
/// [`FLOW`]; `config` and `cmd`, the stages up to the last they name in [`BESIDE`] as well.
fn allowed() -> BTreeMap<&'static str, Vec<&'static str>> {
    let mut out: BTreeMap<&str, Vec<&str>> = FLOW
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, FLOW[..i].to_vec()))
        .collect();
    for (module, uses) in BESIDE {
        let mut all: Vec<&str> = uses.to_vec();
        if matches!(*module, "config" | "cmd") {
            let last = uses
                .iter()
                .filter_map(|u| FLOW.iter().position(|s| s == u))
                .max();
            all.extend(last.map_or(&[][..], |l| &FLOW[..=l]));
        }
        out.insert(module, all);
    }
    out
}

/// Modules of `cmd` that every command may use.
const SHARED_CMD: &[&str] = &["inputs", "run_dir"];

/// A module path (`["cluster", "kmeans"]`) for each file under src/, relative path -> module.
fn modules(src: &Path) -> BTreeMap<PathBuf, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(src).unwrap().to_path_buf();
                let mut m: Vec<String> = rel
                    .with_extension("")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().to_string())
                    .collect();
                if m.last()
                    .is_some_and(|l| l == "mod" || l == "lib" || l == "main")
                {
                    m.pop();
                }
                out.insert(rel, m);
            }
        }
    }
    out
}

/// The code of a file without comments and without its test modules.
fn code(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let line = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Paths that follow `prefix::` in `code` (`prefix` a whole word, not after `::`), with `use`
/// groups expanded: `crate::a::{b, c::d}` gives `a::b` and `a::c::d`.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let pat = format!("{prefix}::");
    let mut from = 0;
    while let Some(i) = code[from..].find(&pat) {
        let at = from + i;
        from = at + pat.len();
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| is_ident(c) || c == ':') {
            continue;
        }
        let (paths, _) = parse_path(&code[at + pat.len()..]);
        out.extend(paths);
    }
    out
}

/// Parses `a::b::{c, d::e}` at the start of `s`: the paths, and how many bytes were read.
fn parse_path(s: &str) -> (Vec<Vec<String>>, usize) {
    let mut segs: Vec<String> = Vec::new();
    let mut i = 0;
    let b = s.as_bytes();
    loop {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i < b.len() && b[i] == b'{' {
            let mut out = Vec::new();
            i += 1;
            loop {
                while i < b.len() && (b[i] as char).is_whitespace() {
                    i += 1;
                }
                if i >= b.len() || b[i] == b'}' {
                    i += 1;
                    break;
                }
                let (inner, n) = parse_path(&s[i..]);
                i += n;
                for p in inner {
                    let mut full = segs.clone();
                    full.extend(p.into_iter().filter(|x| x != "self"));
                    out.push(full);
                }
                // Skip `as name`, up to the comma or the closing brace.
                while i < b.len() && b[i] != b',' && b[i] != b'}' {
                    i += 1;
                }
                if i < b.len() && b[i] == b',' {
                    i += 1;
                }
            }
            return (out, i);
        }
        let start = i;
        while i < b.len() && is_ident(b[i] as char) {
            i += 1;
        }
        if i == start {
            return (vec![segs], i);
        }
        segs.push(s[start..i].to_string());
        if s[i..].starts_with("::") {
            i += 2;
        } else {
            return (vec![segs], i);
        }
    }
}

/// The modules a mod.rs (or lib.rs) declares with `mod x;`.
fn declared(code: &str) -> Vec<String> {
    code.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            l.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(|m| m.trim().to_string())
        })
        .collect()
}

/// The file whose module is the longest prefix of `path`.
fn resolve(path: &[String], files: &BTreeMap<Vec<String>, PathBuf>) -> Option<PathBuf> {
    (0..=path.len())
        .rev()
        .find_map(|n| files.get(&path[..n].to_vec()).cloned())
}

/// Every import edge between files: (from, to).
fn edges(src: &Path) -> BTreeSet<(PathBuf, PathBuf)> {
    let mods = modules(src);
    let files: BTreeMap<Vec<String>, PathBuf> = mods
        .iter()
        .filter(|(f, _)| f.as_path() != Path::new("main.rs"))
        .map(|(f, m)| (m.clone(), f.clone()))
        .collect();
    let mut out = BTreeSet::new();
    for (file, module) in &mods {
        if file.as_path() == Path::new("main.rs") {
            continue;
        }
        let code = code(&std::fs::read_to_string(src.join(file)).unwrap());
        let mut targets: Vec<Vec<String>> = paths_after(&code, "crate");
        let parent: Vec<String> = module[..module.len().saturating_sub(1)].to_vec();
        for p in paths_after(&code, "super") {
            let mut full = parent.clone();
            full.extend(p);
            targets.push(full);
        }
        let is_mod = file.ends_with("mod.rs") || file.as_path() == Path::new("lib.rs");
        if is_mod {
            for child in declared(&code) {
                for p in paths_after(&code, &child) {
                    let mut full = module.clone();
                    full.push(child.clone());
                    full.extend(p);
                    targets.push(full);
                }
            }
        }
        for t in targets {
            if let Some(to) = resolve(&t, &files) {
                if &to != file {
                    out.insert((file.clone(), to));
                }
            }
        }
    }
    out
}

fn stage(file: &Path) -> String {
    let first = file
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .to_string();
    first.trim_end_matches(".rs").to_string()
}

/// src/ of this crate; `CARTSONA_ARCH_SRC` points the test at another tree (to see it fail on
/// one that breaks the rule).
fn src() -> PathBuf {
    std::env::var_os("CARTSONA_ARCH_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn stages_only_use_earlier_stages() {
    let allowed = allowed();
    let edges = edges(&src());
    assert!(
        edges.len() > 150,
        "only {} import edges found: is the parser reading src/?",
        edges.len()
    );
    let mut wrong = Vec::new();
    for (from, to) in &edges {
        let (a, b) = (stage(from), stage(to));
        if a == b || a == "lib" {
            continue;
        }
        let Some(ok) = allowed.get(a.as_str()) else {
            wrong.push(format!(
                "{} is in no stage of FLOW or BESIDE",
                from.display()
            ));
            continue;
        };
        if !ok.contains(&b.as_str()) {
            wrong.push(format!(
                "{} ({a}) uses {} ({b}), which comes later in the flow or stands apart",
                from.display(),
                to.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_command_uses_another() {
    let mut wrong = Vec::new();
    for (from, to) in edges(&src()) {
        let (Ok(f), Ok(t)) = (from.strip_prefix("cmd"), to.strip_prefix("cmd")) else {
            continue;
        };
        let name = |p: &Path| p.with_extension("").to_string_lossy().to_string();
        let (f, t) = (name(f), name(t));
        if f != "mod" && !SHARED_CMD.contains(&f.as_str()) && !SHARED_CMD.contains(&t.as_str()) {
            wrong.push(format!("cmd/{f}.rs uses cmd/{t}.rs"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_import_cycle_between_files() {
    let edges = edges(&src());
    let mut next: BTreeMap<&PathBuf, Vec<&PathBuf>> = BTreeMap::new();
    for (a, b) in &edges {
        next.entry(a).or_default().push(b);
    }
    // Depth-first search; a file met again while on the path closes a cycle.
    fn visit<'a>(
        f: &'a PathBuf,
        next: &BTreeMap<&'a PathBuf, Vec<&'a PathBuf>>,
        path: &mut Vec<&'a PathBuf>,
        done: &mut BTreeSet<&'a PathBuf>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| *p == f) {
            let mut cycle: Vec<String> =
                path[i..].iter().map(|p| p.display().to_string()).collect();
            cycle.push(f.display().to_string());
            return Some(cycle);
        }
        if !done.insert(f) {
            return None;
        }
        path.push(f);
        for g in next.get(f).into_iter().flatten() {
            if let Some(c) = visit(g, next, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for f in next.keys() {
        let mut path = Vec::new();
        if let Some(cycle) = visit(f, &next, &mut path, &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

/// The parser itself, on a made-up file: groups, renames, `self`, `super`, comments, tests.
#[test]
fn the_reference_parser_finds_what_a_file_uses() {
    let text = "use crate::a::{b::{self, C}, d as e};\n// crate::ignored::x\nfn f() { crate::g::h(); x::crate_like::y(); }\n#[cfg(test)]\nuse crate::test_only;\n";
    let found: Vec<String> = paths_after(&code(text), "crate")
        .into_iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(found, ["a::b", "a::b::C", "a::d", "g::h"]);
    assert_eq!(
        paths_after("use super::{x, y::Z};", "super")
            .into_iter()
            .map(|p| p.join("::"))
            .collect::<Vec<_>>(),
        ["x", "y::Z"]
    );
    assert_eq!(declared("pub mod a;\nmod b;\nfn c() {}"), ["a", "b"]);
}
