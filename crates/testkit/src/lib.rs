//! Test fixtures shared by RepoSage's test suites (a dev-dependency only).
//!
//! [`GitFixture`] builds real git repositories in a temporary folder with git2. Trees are written as
//! raw objects, so a fixture can hold what `git add` would refuse — `..` and `.git` entries, names
//! that are not UTF-8 — exactly as a hostile repository on a server could.
//!
//! With the `chat` feature, `chat::ScriptedModel` is a chat model that replays scripted replies.

#![warn(missing_docs)]

#[cfg(feature = "chat")]
pub mod chat;
pub mod samples;

use std::collections::BTreeMap;
use std::path::Path;

use git2::{ObjectType, Oid, Repository, Signature};
use tempfile::TempDir;

/// One tree entry of a fixture commit.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A regular file with this content.
    File(Vec<u8>),
    /// An executable file with this content.
    Executable(Vec<u8>),
    /// A symbolic link pointing at this target.
    Symlink(String),
    /// A submodule at this commit id.
    Submodule(Oid),
}

impl Entry {
    /// A regular file holding `text`.
    pub fn text(text: impl AsRef<str>) -> Self {
        Entry::File(text.as_ref().as_bytes().to_vec())
    }
}

/// A git repository in a temporary folder, removed on drop.
pub struct GitFixture {
    dir: TempDir,
    repo: Repository,
}

impl std::fmt::Debug for GitFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitFixture")
            .field("path", &self.dir.path())
            .finish()
    }
}

impl Default for GitFixture {
    fn default() -> Self {
        Self::new()
    }
}

impl GitFixture {
    /// An empty repository whose `HEAD` points at `main`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Repository::init(dir.path()).expect("git init");
        repo.set_head("refs/heads/main").expect("set HEAD");
        Self { dir, repo }
    }

    /// The repository's folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The repository.
    pub fn repo(&self) -> &Repository {
        &self.repo
    }

    /// A `file://` URL of the repository, for fetch tests.
    pub fn file_url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    /// Commits a tree holding exactly `entries` (paths as raw bytes, `/`-separated) on `branch`,
    /// with the branch's previous commit as parent. Returns the commit id.
    pub fn commit_bytes(&self, branch: &str, message: &str, entries: &[(&[u8], Entry)]) -> Oid {
        let mut root = Dir::default();
        for (path, entry) in entries {
            let (mode, oid) = self.write_entry(entry);
            root.insert(path, mode, oid);
        }
        let tree = root.write(&self.repo);
        let refname = format!("refs/heads/{branch}");
        let parent = self
            .repo
            .find_reference(&refname)
            .ok()
            .and_then(|r| r.peel_to_commit().ok());
        let signature = Signature::new(
            "RepoSage Tests",
            "tests@reposage.dev",
            &git2::Time::new(1_700_000_000, 0),
        )
        .expect("signature");
        let tree = self.repo.find_tree(tree).expect("tree just written");
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        self.repo
            .commit(Some(&refname), &signature, &signature, message, &tree, &parents)
            .expect("commit")
    }

    /// [`commit_bytes`](Self::commit_bytes) with UTF-8 paths.
    pub fn commit(&self, branch: &str, message: &str, entries: &[(&str, Entry)]) -> Oid {
        let raw: Vec<(&[u8], Entry)> = entries.iter().map(|(p, e)| (p.as_bytes(), e.clone())).collect();
        self.commit_bytes(branch, message, &raw)
    }

    /// Creates a lightweight tag.
    pub fn tag(&self, name: &str, commit: Oid) {
        let object = self.repo.find_object(commit, None).expect("commit");
        self.repo.tag_lightweight(name, &object, false).expect("tag");
    }

    fn write_entry(&self, entry: &Entry) -> (&'static str, Oid) {
        match entry {
            Entry::File(content) => ("100644", self.repo.blob(content).expect("blob")),
            Entry::Executable(content) => ("100755", self.repo.blob(content).expect("blob")),
            Entry::Symlink(target) => ("120000", self.repo.blob(target.as_bytes()).expect("blob")),
            Entry::Submodule(commit) => ("160000", *commit),
        }
    }
}

/// A folder being assembled: files by name, subfolders by name.
#[derive(Default)]
struct Dir {
    files: BTreeMap<Vec<u8>, (&'static str, Oid)>,
    dirs: BTreeMap<Vec<u8>, Dir>,
}

impl Dir {
    fn insert(&mut self, path: &[u8], mode: &'static str, oid: Oid) {
        match path.iter().position(|b| *b == b'/') {
            Some(i) => self
                .dirs
                .entry(path[..i].to_vec())
                .or_default()
                .insert(&path[i + 1..], mode, oid),
            None => {
                self.files.insert(path.to_vec(), (mode, oid));
            }
        }
    }

    /// Writes the folder as a raw tree object (entries in git's order: names compared as bytes,
    /// folder names with a trailing `/`), bypassing libgit2's name checks on purpose.
    fn write(&self, repo: &Repository) -> Oid {
        let mut entries: Vec<(Vec<u8>, Vec<u8>, &str, Oid)> = Vec::new();
        for (name, (mode, oid)) in &self.files {
            entries.push((name.clone(), name.clone(), mode, *oid));
        }
        for (name, dir) in &self.dirs {
            let mut sort_key = name.clone();
            sort_key.push(b'/');
            entries.push((sort_key, name.clone(), "40000", dir.write(repo)));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut raw = Vec::new();
        for (_, name, mode, oid) in entries {
            raw.extend_from_slice(mode.as_bytes());
            raw.push(b' ');
            raw.extend_from_slice(&name);
            raw.push(0);
            raw.extend_from_slice(oid.as_bytes());
        }
        repo.odb()
            .expect("odb")
            .write(ObjectType::Tree, &raw)
            .expect("write tree")
    }
}
