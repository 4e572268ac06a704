//! The direction of the data flow, checked on the source (docs/ARCHITECTURE.md, "The dependency
//! rule"): every file under src/ is read, its references to other modules (`crate::a::b`,
//! `super::x`, and a parent's uses of the modules it declares) are resolved to the files that
//! define them, and the test fails when
//! - a stage uses a stage later in the flow (the allowed direction: [`FLOW`] and [`BESIDE`]),
//! - a command uses another command (only `cmd::inputs` and `cmd::run_output` are shared), or
//! - files import each other in a cycle;
//!
//! and the rules docs/ARCHITECTURE.md states about what a file may do:
//! - only `io` touches the file system ([`FILE_SYSTEM`]);
//! - only the commands (`cmd`), `util::progress` and `main.rs` print ([`PRINTING`]);
//! - a command's file stays under [`CMD_LINES`] lines (`init.rs`, a template, aside);
//! - a `mod.rs` only declares modules and re-exports (`cmd/mod.rs`, the dispatch, aside).
//!
//! Whole files are read; comments, the insides of string and character literals and the items
//! under `#[cfg(test)]` are left out ([`code`]). Each rule is also run on a planted tree that
//! breaks it ([`the_rules_catch_planted_violations`]), so a rule that cannot fail shows.

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
const SHARED_CMD: &[&str] = &["inputs", "run_output"];

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

/// The code of a file as the rules read it: comments and the insides of string and character
/// literals blanked (line breaks kept), and every item under `#[cfg(test)]` left out.
fn code(text: &str) -> String {
    without_test_items(&scrub(text))
}

/// Blanks comments and the contents of string, raw-string and character literals (a literal
/// becomes `""` or `' '`), keeping every line break, so braces and paths in text do not count.
fn scrub(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let keep_breaks = |out: &mut String, from: &[char]| {
        out.extend(from.iter().filter(|ch| **ch == '\n'));
    };
    while i < c.len() {
        let after_ident = i > 0 && is_ident(c[i - 1]);
        if peek(&c, i, 0) == '/' && peek(&c, i, 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if peek(&c, i, 0) == '/' && peek(&c, i, 1) == '*' {
            let (start, mut depth) = (i, 0);
            while i < c.len() {
                if c[i] == '/' && peek(&c, i, 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && peek(&c, i, 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            keep_breaks(&mut out, &c[start..i.min(c.len())]);
        } else if peek(&c, i, 0) == 'r'
            && !after_ident
            && (peek(&c, i, 1) == '"' || peek(&c, i, 1) == '#')
        {
            let mut hashes = 0;
            while peek(&c, i, 1 + hashes) == '#' {
                hashes += 1;
            }
            if peek(&c, i, 1 + hashes) != '"' {
                out.push(c[i]);
                i += 1;
                continue;
            }
            let start = i;
            i += 2 + hashes;
            let close: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            while i < c.len() && !c[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
            keep_breaks(&mut out, &c[start..i.min(c.len())]);
            out.push_str("\"\"");
        } else if peek(&c, i, 0) == '"' {
            let start = i;
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            keep_breaks(&mut out, &c[start..i.min(c.len())]);
            out.push_str("\"\"");
        } else if peek(&c, i, 0) == '\'' && (peek(&c, i, 1) == '\\' || peek(&c, i, 2) == '\'') {
            // A character literal ('x', '\n', '\u{..}'); a lifetime ('a) has no closing quote.
            i += 1;
            while i < c.len() && c[i] != '\'' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// The character `k` places after `i`, or NUL past the end.
fn peek(c: &[char], i: usize, k: usize) -> char {
    c.get(i + k).copied().unwrap_or('\0')
}

/// `code` without the items under `#[cfg(test)]`: the attribute, any attributes after it, and the
/// item up to its `;` or its closing brace.
fn without_test_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let b = rest.as_bytes();
        let mut i = at + "#[cfg(test)]".len();
        let mut depth = 0usize;
        let mut opened = false;
        while i < b.len() {
            match b[i] {
                b'[' | b'(' => depth += 1,
                b']' | b')' => depth = depth.saturating_sub(1),
                b'{' => {
                    depth += 1;
                    opened = true;
                }
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if opened && depth == 0 {
                        i += 1;
                        break;
                    }
                }
                b';' if depth == 0 && !opened => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        rest = &rest[i.min(rest.len())..];
    }
    out.push_str(rest);
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

/// Every import of a stage that goes against the flow.
fn stage_violations(src: &Path) -> Vec<String> {
    let allowed = allowed();
    let mut wrong = Vec::new();
    for (from, to) in &edges(src) {
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
    wrong
}

#[test]
fn stages_only_use_earlier_stages() {
    let edges = edges(&src());
    assert!(
        edges.len() > 150,
        "only {} import edges found: is the parser reading src/?",
        edges.len()
    );
    let wrong = stage_violations(&src());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every use of a command by another command (the shared modules aside).
fn command_violations(src: &Path) -> Vec<String> {
    let mut wrong = Vec::new();
    for (from, to) in edges(src) {
        let (Ok(f), Ok(t)) = (from.strip_prefix("cmd"), to.strip_prefix("cmd")) else {
            continue;
        };
        let name = |p: &Path| p.with_extension("").to_string_lossy().to_string();
        let (f, t) = (name(f), name(t));
        if f != "mod" && !SHARED_CMD.contains(&f.as_str()) && !SHARED_CMD.contains(&t.as_str()) {
            wrong.push(format!("cmd/{f}.rs uses cmd/{t}.rs"));
        }
    }
    wrong
}

#[test]
fn no_command_uses_another() {
    let wrong = command_violations(&src());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// An import cycle between files, if there is one.
fn cycle(src: &Path) -> Option<String> {
    let edges = edges(src);
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
            return Some(cycle.join(" -> "));
        }
    }
    None
}

#[test]
fn no_import_cycle_between_files() {
    if let Some(c) = cycle(&src()) {
        panic!("import cycle: {c}");
    }
}

/// What touches the file system: only `io` may (docs/ARCHITECTURE.md).
const FILE_SYSTEM: &[&str] = &[
    "fs::",
    "File::",
    "OpenOptions",
    "read_dir",
    ".is_file()",
    ".is_dir()",
    ".exists()",
    ".metadata()",
    "canonicalize",
    "scan_parquet",
    "scan_csv",
    "tempfile",
];

/// What prints: only the commands, `util::progress` and `main.rs` may.
const PRINTING: &[&str] = &[
    "println!",
    "print!",
    "eprintln!",
    "eprint!",
    "dbg!",
    "stdout()",
    "stderr()",
];

/// A command's file stays under this many lines (test items not counted).
const CMD_LINES: usize = 150;

/// Where `pattern` occurs in `code` as a whole token (not inside a longer name).
fn uses(code: &str, pattern: &str) -> bool {
    let mut from = 0;
    while let Some(i) = code[from..].find(pattern) {
        let at = from + i;
        from = at + pattern.len();
        let before = code[..at].chars().next_back();
        let starts_word = pattern.starts_with(|c: char| is_ident(c));
        if !(starts_word && before.is_some_and(is_ident)) {
            return true;
        }
    }
    false
}

/// Every file under `src` with its code as the rules read it, by path relative to `src`.
fn sources(src: &Path) -> BTreeMap<PathBuf, String> {
    modules(src)
        .into_keys()
        .map(|f| {
            let text = std::fs::read_to_string(src.join(&f)).unwrap();
            (f, code(&text))
        })
        .collect()
}

/// The files outside `allowed` (paths or folders relative to src/) that use one of `patterns`.
fn doing(src: &Path, patterns: &[&str], allowed: &[&str], what: &str) -> Vec<String> {
    let mut wrong = Vec::new();
    for (file, code) in sources(src) {
        if allowed.iter().any(|a| file.starts_with(a)) {
            continue;
        }
        for p in patterns.iter().filter(|p| uses(&code, p)) {
            wrong.push(format!("{} {what} (`{p}`)", file.display()));
        }
    }
    wrong
}

fn file_system_violations(src: &Path) -> Vec<String> {
    doing(
        src,
        FILE_SYSTEM,
        &["io"],
        "touches the file system outside io",
    )
}

fn printing_violations(src: &Path) -> Vec<String> {
    let allowed = ["cmd", "util/progress.rs", "main.rs"];
    doing(
        src,
        PRINTING,
        &allowed,
        "prints outside the commands and util::progress",
    )
}

/// Command files at or over [`CMD_LINES`] lines (`init.rs`'s template aside).
fn long_command_files(src: &Path) -> Vec<String> {
    sources(src)
        .into_iter()
        .filter(|(f, _)| f.starts_with("cmd") && !f.ends_with("init.rs"))
        .map(|(f, code)| (f, code.lines().count()))
        .filter(|(_, n)| *n >= CMD_LINES)
        .map(|(f, n)| format!("{} has {n} lines (at most {})", f.display(), CMD_LINES - 1))
        .collect()
}

/// mod.rs files holding more than `mod` declarations, `use`/`pub use` and attributes.
fn mod_files_with_code(src: &Path) -> Vec<String> {
    let mut wrong = Vec::new();
    for (file, code) in sources(src) {
        if !file.ends_with("mod.rs") || file.as_path() == Path::new("cmd/mod.rs") {
            continue;
        }
        let mut rest = code.as_str();
        let mut left = String::new();
        while !rest.is_empty() {
            let t = rest.trim_start();
            let head = t
                .strip_prefix("pub(crate) ")
                .or(t.strip_prefix("pub "))
                .unwrap_or(t);
            if head.starts_with("use ") || head.starts_with("mod ") {
                let end = t.find(';').map_or(t.len(), |i| i + 1);
                rest = &t[end..];
            } else if t.starts_with("#[") || t.starts_with("#![") {
                let end = t.find(']').map_or(t.len(), |i| i + 1);
                rest = &t[end..];
            } else {
                left.push_str(t);
                break;
            }
        }
        if !left.trim().is_empty() {
            let first = left.lines().next().unwrap_or_default();
            wrong.push(format!("{} holds code: {first}", file.display()));
        }
    }
    wrong
}

#[test]
fn only_io_touches_the_file_system() {
    let wrong = file_system_violations(&src());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn only_the_commands_print() {
    let wrong = printing_violations(&src());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn command_files_stay_short() {
    let wrong = long_command_files(&src());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn mod_files_only_declare() {
    let wrong = mod_files_with_code(&src());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A made-up tree that breaks each rule once, after a test module (so a rule that stopped
/// reading at the first `#[cfg(test)]` would miss it): every check must see its violation, and
/// nothing in the test items or the text of strings and comments.
#[test]
fn the_rules_catch_planted_violations() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |path: &str, text: &str| {
        let p = src.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "lib.rs",
        "pub mod cmd;\npub mod features;\npub mod io;\npub mod report;\n",
    );
    write("io/mod.rs", "pub mod read;\n");
    write(
        "io/read.rs",
        "pub fn all() -> String { std::fs::read_to_string(\"x\").unwrap() }\n",
    );
    write("report/mod.rs", "pub mod late;\n");
    write("report/late.rs", "pub struct Late;\n");
    write(
        "features/mod.rs",
        "//! Features.\npub mod x;\npub use x::g;\n#[cfg(test)]\nmod tests;\npub fn code_here() {}\n",
    );
    write(
        "features/x.rs",
        "#[cfg(test)]\nmod tests {\n    fn t() { std::fs::read(\"ok\").ok(); println!(\"}\"); }\n}\n\
         // std::fs in a comment, println! too\n\
         pub fn g() -> bool { let s = \"crate::report::late fs:: println!\"; std::path::Path::new(s).is_file() }\n\
         pub fn h() { eprintln!(\"{}\", '}'); }\n\
         use crate::report::late::Late;\n",
    );
    let long: String = (0..CMD_LINES).map(|i| format!("// line {i}\n")).collect();
    write("cmd/mod.rs", "pub mod a;\npub mod b;\npub fn run() {}\n");
    write("cmd/a.rs", &format!("{long}use crate::cmd::b;\n"));
    write("cmd/b.rs", "pub fn b() { println!(\"fine here\"); }\n");
    assert_eq!(
        stage_violations(src),
        ["features/x.rs (features) uses report/late.rs (report), which comes later in the flow or stands apart"]
    );
    assert_eq!(command_violations(src), ["cmd/a.rs uses cmd/b.rs"]);
    assert_eq!(
        file_system_violations(src),
        ["features/x.rs touches the file system outside io (`.is_file()`)"]
    );
    assert_eq!(
        printing_violations(src),
        ["features/x.rs prints outside the commands and util::progress (`eprintln!`)"]
    );
    assert_eq!(
        long_command_files(src),
        ["cmd/a.rs has 151 lines (at most 149)"]
    );
    assert_eq!(
        mod_files_with_code(src),
        ["features/mod.rs holds code: pub fn code_here() {}"]
    );
    write(
        "report/late.rs",
        "use crate::features::x::g;\npub struct Late;\n",
    );
    assert!(cycle(src).is_some_and(|c| c.contains("features/x.rs")));
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
