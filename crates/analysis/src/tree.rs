//! Walking the tree of one commit, straight from the object database.

use git2::{ObjectType, Oid, Repository};

use crate::Result;
use crate::classify::is_safe_path;

/// What a tree entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File {
        /// Whether git records it as executable.
        executable: bool,
    },
    /// A symbolic link: recorded with its target, never followed.
    Symlink,
    /// A submodule (gitlink): recorded, never fetched.
    Submodule,
}

/// One entry of the commit's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// Path from the repository root, `/`-separated; invalid UTF-8 is replaced with U+FFFD.
    pub path: String,
    /// Whether the stored path needed lossy decoding.
    pub lossy_path: bool,
    /// Object id (blob, or commit for a submodule).
    pub oid: Oid,
    /// What it is.
    pub kind: EntryKind,
    /// Size in bytes from the object header (0 for submodules); the content is not loaded.
    pub size: u64,
}

impl TreeEntry {
    /// True when the path stays inside the repository root.
    pub fn is_safe(&self) -> bool {
        is_safe_path(&self.path)
    }
}

/// Every file, symlink and submodule in the tree of `commit`: for each folder, its entries in git's
/// order, then its subfolders. Subtrees with unsafe names (`..`, `.git`, …) are not descended into;
/// they appear as one entry with that unsafe path so the run records them. Names that are not UTF-8
/// are decoded lossily (and flagged) instead of failing the walk. Sizes come from object headers: no
/// blob is read here. The walk uses an explicit stack, so deep nesting cannot overflow it.
pub fn walk(repo: &Repository, commit: Oid) -> Result<Vec<TreeEntry>> {
    let odb = repo.odb()?;
    let mut entries = Vec::new();
    let mut pending = vec![(String::new(), false, repo.find_commit(commit)?.tree_id())];
    while let Some((prefix, prefix_lossy, tree_id)) = pending.pop() {
        let tree = repo.find_tree(tree_id)?;
        let mut subtrees = Vec::new();
        for entry in tree.iter() {
            let name_bytes = entry.name_bytes();
            let path = format!("{prefix}{}", String::from_utf8_lossy(name_bytes));
            let lossy_path = prefix_lossy || std::str::from_utf8(name_bytes).is_err();
            let kind = match (entry.kind(), entry.filemode()) {
                (Some(ObjectType::Tree), _) if is_safe_path(&path) => {
                    subtrees.push((format!("{path}/"), lossy_path, entry.id()));
                    continue;
                }
                (Some(ObjectType::Tree), _) => {
                    entries.push(TreeEntry {
                        path,
                        lossy_path,
                        oid: entry.id(),
                        kind: EntryKind::File { executable: false },
                        size: 0,
                    });
                    continue;
                }
                (Some(ObjectType::Commit), _) => EntryKind::Submodule,
                (_, 0o120000) => EntryKind::Symlink,
                (_, mode) => EntryKind::File {
                    executable: mode == 0o100755,
                },
            };
            let size = match kind {
                EntryKind::Submodule => 0,
                _ => odb.read_header(entry.id())?.0 as u64,
            };
            entries.push(TreeEntry {
                path,
                lossy_path,
                oid: entry.id(),
                kind,
                size,
            });
        }
        pending.extend(subtrees.into_iter().rev());
    }
    Ok(entries)
}
