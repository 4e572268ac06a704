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
    // Rerun when HEAD moves: HEAD itself (a checkout) and the branch it points to (a commit).
    let git = Path::new(".git");
    if git.is_dir() {
        println!("cargo:rerun-if-changed=.git/HEAD");
        println!("cargo:rerun-if-changed=.git/packed-refs");
        if let Ok(head) = std::fs::read_to_string(git.join("HEAD")) {
            if let Some(branch) = head.trim().strip_prefix("ref: ") {
                println!("cargo:rerun-if-changed=.git/{branch}");
            }
        }
    } else {
        println!("cargo:rerun-if-changed=build.rs");
    }
}
