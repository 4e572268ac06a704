//! Sets `CARTSONA_VERSION` for `cartsona --version`: the package version and, when the source is
//! a git checkout with git on the PATH, the commit it was built from (`0.1.0 (commit 1a2b3c4d5e6f)`).
//! Without git (a source tarball) it is the package version alone. The build reruns when HEAD
//! moves, so the commit shown is the one built.

use std::path::Path;
use std::process::Command;

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let shown = match commit {
        Some(c) => format!("{version} (commit {c})"),
        None => version.to_string(),
    };
    println!("cargo:rustc-env=CARTSONA_VERSION={shown}");
    // Rerun when HEAD moves: HEAD itself (a checkout) and the branch it points to (a commit),
    // wherever git keeps them (`--git-path`: in a worktree `.git` is a file, and HEAD and the
    // refs lie in different directories; reading `.git/HEAD` there left the version stale).
    let git_path = |p: &str| -> Option<String> {
        let o = Command::new("git")
            .args(["rev-parse", "--git-path", p])
            .output()
            .ok()
            .filter(|o| o.status.success())?;
        let s = String::from_utf8(o.stdout).ok()?.trim().to_string();
        (!s.is_empty()).then_some(s)
    };
    match git_path("HEAD") {
        Some(head) if Path::new(&head).is_file() => {
            println!("cargo:rerun-if-changed={head}");
            if let Some(packed) = git_path("packed-refs").filter(|p| Path::new(p).is_file()) {
                println!("cargo:rerun-if-changed={packed}");
            }
            let branch = std::fs::read_to_string(&head).unwrap_or_default();
            if let Some(branch) = branch.trim().strip_prefix("ref: ") {
                if let Some(path) = git_path(branch) {
                    println!("cargo:rerun-if-changed={path}");
                }
            }
        }
        _ => println!("cargo:rerun-if-changed=build.rs"),
    }
}
