//! `cartsona completions SHELL` and `cartsona man` (issue 34's "conventions a CLI ships with"):
//! generated from the same definitions as `--help`, so every subcommand and flag is in them. The
//! expected names come from `cartsona --help` and `cartsona segment --help`, read here, not from
//! the generators.

mod common;

use common::cartsona;

/// The subcommands `cartsona --help` lists (the lines under "Commands:", but "help").
fn subcommands() -> Vec<String> {
    let out = cartsona().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A command's line starts two spaces in; its wrapped description further.
        .filter(|l| !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect()
}

fn stdout(args: &[&str]) -> String {
    let out = cartsona().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_shell_completes_every_subcommand() {
    let subs = subcommands();
    assert!(subs.len() >= 10, "{subs:?}");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = stdout(&["completions", shell]);
        for sub in &subs {
            assert!(script.contains(sub.as_str()), "{shell}: {sub} missing");
        }
        // A flag of a subcommand, and one added in issue 31.
        assert!(script.contains("holdout-salt"), "{shell}");
        assert!(script.contains("carryover"), "{shell}");
    }
    assert!(stdout(&["completions", "bash"]).contains("_cartsona()"));
    assert!(stdout(&["completions", "zsh"]).starts_with("#compdef cartsona"));
    assert!(stdout(&["completions", "fish"]).contains("complete -c cartsona"));
    // An unknown shell is a usage error.
    let out = cartsona().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_man_page_has_a_section_per_subcommand_with_its_flags() {
    let page = stdout(&["man"]);
    assert!(page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH cartsona 1"));
    assert!(page.contains(".TH cartsona 1"), "the main page");
    for sub in subcommands() {
        assert!(
            page.contains(&format!(".TH cartsona-{sub} 1")),
            "no page for {sub}"
        );
    }
    // Every long flag `segment --help` shows is on segment's page (roff escapes each '-').
    let help = stdout(&["segment", "--help"]);
    let segment = page
        .split(".TH cartsona-segment 1")
        .nth(1)
        .unwrap()
        .split(".TH ")
        .next()
        .unwrap();
    let flags: Vec<&str> = help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches([',', '.', ')', ':']))
        .collect();
    assert!(flags.len() > 20, "{flags:?}");
    for flag in flags {
        let escaped = flag.replace('-', "\\-");
        assert!(segment.contains(&escaped), "{flag} not on segment's page");
    }
}

/// `--version` says the version and, in a git checkout, the commit the binary was built from
/// (build.rs; expected value from `git rev-parse` here, not from the program).
#[test]
fn version_names_the_commit_it_was_built_from() {
    let shown = stdout(&["--version"]);
    let version = env!("CARGO_PKG_VERSION");
    assert!(shown.starts_with(&format!("cartsona {version}")), "{shown}");
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    match head {
        Ok(o) if o.status.success() => {
            let commit = String::from_utf8(o.stdout).unwrap();
            assert_eq!(
                shown.trim(),
                format!("cartsona {version} (commit {})", commit.trim())
            );
        }
        // No git, or not a checkout: the version alone.
        _ => assert_eq!(shown.trim(), format!("cartsona {version}")),
    }
}
