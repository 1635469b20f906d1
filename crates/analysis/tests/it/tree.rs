use reposage_analysis::tree::walk;
use reposage_analysis::{EntryKind, TreeEntry};
use reposage_testkit::{Entry, GitFixture};

fn paths(entries: &[TreeEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.path.as_str()).collect()
}

#[test]
fn walks_every_file_with_sizes_from_object_headers() {
    let fixture = GitFixture::new();
    let commit = fixture.commit(
        "main",
        "init",
        &[
            ("README.md", Entry::text("# Demo\n")),
            ("src/lib.rs", Entry::text("pub fn f() {}\n")),
            ("src/bin/tool.rs", Entry::text("fn main() {}\n")),
            ("run.sh", Entry::Executable(b"#!/bin/sh\n".to_vec())),
        ],
    );
    let entries = walk(fixture.repo(), commit).unwrap();
    assert_eq!(
        paths(&entries),
        ["README.md", "run.sh", "src/lib.rs", "src/bin/tool.rs"]
    );
    assert_eq!(entries[0].size, 7);
    assert_eq!(entries[1].kind, EntryKind::File { executable: true });
    assert!(entries.iter().all(TreeEntry::is_safe));
}

#[test]
fn symlinks_and_submodules_are_recorded_not_followed() {
    let fixture = GitFixture::new();
    let other = fixture.commit("other", "x", &[("x", Entry::text("x"))]);
    let commit = fixture.commit(
        "main",
        "links",
        &[
            ("passwd", Entry::Symlink("/etc/passwd".into())),
            ("escape", Entry::Symlink("../../outside".into())),
            (
                "token",
                Entry::Symlink("/var/run/secrets/kubernetes.io/serviceaccount/token".into()),
            ),
            ("deps/lib", Entry::Submodule(other)),
        ],
    );
    let entries = walk(fixture.repo(), commit).unwrap();
    let kinds: Vec<_> = entries.iter().map(|e| (e.path.as_str(), e.kind)).collect();
    assert!(kinds.contains(&("passwd", EntryKind::Symlink)));
    assert!(kinds.contains(&("escape", EntryKind::Symlink)));
    assert!(kinds.contains(&("token", EntryKind::Symlink)));
    assert!(kinds.contains(&("deps/lib", EntryKind::Submodule)));
    // the link's size is its target's length: the target file was never opened
    let passwd = entries.iter().find(|e| e.path == "passwd").unwrap();
    assert_eq!(passwd.size, "/etc/passwd".len() as u64);
}

#[test]
fn unsafe_tree_names_are_reported_and_not_descended() {
    let fixture = GitFixture::new();
    let commit = fixture.commit(
        "main",
        "hostile",
        &[
            ("../escape/evil.sh", Entry::text("rm -rf /")),
            (
                ".git/hooks/post-checkout",
                Entry::Executable(b"#!/bin/sh\ncurl evil\n".to_vec()),
            ),
            ("ok.txt", Entry::text("fine")),
        ],
    );
    let entries = walk(fixture.repo(), commit).unwrap();
    let unsafe_paths: Vec<&str> = entries
        .iter()
        .filter(|e| !e.is_safe())
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(unsafe_paths, ["..", ".git"]);
    assert!(
        entries
            .iter()
            .all(|e| !e.path.contains("evil") && !e.path.contains("hooks"))
    );
    assert!(entries.iter().any(|e| e.path == "ok.txt"));
}

#[test]
fn names_that_are_not_utf8_are_decoded_lossily_instead_of_failing() {
    let fixture = GitFixture::new();
    let commit = fixture.commit_bytes(
        "main",
        "latin1",
        &[
            (b"caf\xe9/menu.txt", Entry::text("espresso")),
            (b"ok.rs", Entry::text("fn x() {}")),
        ],
    );
    let entries = walk(fixture.repo(), commit).unwrap();
    let menu = entries.iter().find(|e| e.path.ends_with("menu.txt")).unwrap();
    assert_eq!(menu.path, "caf\u{FFFD}/menu.txt");
    assert!(menu.lossy_path);
    assert!(!entries.iter().find(|e| e.path == "ok.rs").unwrap().lossy_path);
}

#[test]
fn ten_thousand_nested_folders_do_not_overflow_the_walk() {
    let deep = "d/".repeat(10_000) + "leaf.txt";
    // The fixture builder recurses per folder, so it gets a big stack; the walk under test runs on
    // the test's ordinary 2 MiB stack.
    let (fixture, commit) = std::thread::Builder::new()
        .stack_size(512 * 1024 * 1024)
        .spawn({
            let deep = deep.clone();
            move || {
                let fixture = GitFixture::new();
                let commit = fixture.commit("main", "deep", &[(deep.as_str(), Entry::text("bottom"))]);
                (fixture, commit)
            }
        })
        .unwrap()
        .join()
        .unwrap();
    let entries = walk(fixture.repo(), commit).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].path, deep);
}
