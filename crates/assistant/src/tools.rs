//! The agent's tools: read-only looks at the index, scoped to the request's repositories at their
//! indexed commits. No tool reads the file system, fetches a URL or writes anything.
//!
//! Every result is size-capped and made of numbered items (rendered like the context), so what a
//! tool showed can be cited and the citation checked.

use reposage_llm::ToolSpec;
use reposage_store::RepositoryId;
use serde::Deserialize;
use serde_json::json;

use crate::Result;
use crate::context::{ContextBuilder, ContextItem, FoundBy, pack};
use crate::prompt::render_item;

/// Most lines `read_file` returns at once.
pub const MAX_READ_LINES: i32 = 200;
/// Most directory entries listed.
const MAX_ENTRIES: i64 = 200;
/// Most symbols or call sites returned.
const MAX_MATCHES: i64 = 20;

/// The tool definitions offered to the model.
pub fn specs() -> Vec<ToolSpec> {
    let repository = json!({
        "type": "string",
        "description": "Repository (name or namespace/name); optional when the question covers one repository."
    });
    vec![
        ToolSpec {
            name: "search".into(),
            description: "Hybrid (keyword + semantic) search over the indexed code. Returns the best chunks."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What to look for, in words or identifiers."},
                    "path": {"type": "string", "description": "Only files under this path prefix."},
                    "language": {"type": "string", "description": "Only files in this language, e.g. rust."}
                },
                "required": ["query"]
            }),
        },
        ToolSpec {
            name: "read_file".into(),
            description: format!(
                "Reads lines of a file at the indexed commit (at most {MAX_READ_LINES} lines)."
            ),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "start_line": {"type": "integer", "minimum": 1},
                    "end_line": {"type": "integer", "minimum": 1},
                    "repository": repository,
                },
                "required": ["path"]
            }),
        },
        ToolSpec {
            name: "list_directory".into(),
            description: "Lists the files and directories directly under a directory (\"\" for the root)."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {"path": {"type": "string"}, "repository": repository},
                "required": ["path"]
            }),
        },
        ToolSpec {
            name: "find_symbol".into(),
            description: "Finds functions, types and other symbols by name; returns their declarations."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"]
            }),
        },
        ToolSpec {
            name: "callers".into(),
            description: "Lists the places that call a function or method, with the calling symbol.".into(),
            parameters: json!({
                "type": "object",
                "properties": {"symbol": {"type": "string"}},
                "required": ["symbol"]
            }),
        },
        ToolSpec {
            name: "repository_overview".into(),
            description: "The repository's README opening, manifests and license.".into(),
            parameters: json!({
                "type": "object",
                "properties": {"repository": repository}
            }),
        },
    ]
}

/// A tool's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// Items it showed (numbered by the caller when added to the context).
    pub items: Vec<ContextItem>,
    /// Text that is not an item (a listing, "nothing found"), shown before the items.
    pub note: String,
    /// A one-line summary for the `tool` event.
    pub summary: String,
    /// Search queries it ran.
    pub queries: Vec<String>,
}

impl ToolResult {
    fn note(note: impl Into<String>) -> Self {
        let note = note.into();
        ToolResult {
            items: Vec::new(),
            summary: note.clone(),
            note,
            queries: Vec::new(),
        }
    }

    /// The result as the model reads it, after the items were numbered.
    pub fn render(&self) -> String {
        let mut out = self.note.clone();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        for item in &self.items {
            out.push_str(&render_item(item));
        }
        if out.is_empty() {
            out.push_str("(no result)\n");
        }
        out
    }
}

/// Why a tool call could not run; told to the model as the call's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolRefusal(pub String);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    query: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadFileArgs {
    path: String,
    #[serde(default)]
    start_line: Option<i32>,
    #[serde(default)]
    end_line: Option<i32>,
    #[serde(default)]
    repository: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathArgs {
    #[serde(default)]
    path: String,
    #[serde(default)]
    repository: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NameArgs {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SymbolArgs {
    symbol: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OverviewArgs {
    #[serde(default)]
    repository: Option<String>,
}

/// Runs tools for one request.
pub struct Tools<'a> {
    builder: &'a ContextBuilder,
    /// The request's repositories, with their `namespace/name`.
    repositories: &'a [(RepositoryId, String)],
    /// Token cap of one result.
    max_result_tokens: usize,
    count_tokens: &'a (dyn Fn(&str) -> usize + Sync),
}

impl std::fmt::Debug for Tools<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tools")
            .field("repositories", &self.repositories)
            .field("max_result_tokens", &self.max_result_tokens)
            .finish_non_exhaustive()
    }
}

impl<'a> Tools<'a> {
    /// Tools over `repositories` (ids with their `namespace/name`).
    pub fn new(
        builder: &'a ContextBuilder,
        repositories: &'a [(RepositoryId, String)],
        max_result_tokens: usize,
        count_tokens: &'a (dyn Fn(&str) -> usize + Sync),
    ) -> Self {
        Tools {
            builder,
            repositories,
            max_result_tokens,
            count_tokens,
        }
    }

    /// Runs the tool `name` with the model's `arguments` (JSON text). A call the model got wrong
    /// (unknown tool, arguments that do not parse, a repository outside the request) is refused
    /// with a message for the model; only index failures are errors.
    pub async fn call(&self, name: &str, arguments: &str) -> Result<Result<ToolResult, ToolRefusal>> {
        let arguments = if arguments.trim().is_empty() {
            "{}"
        } else {
            arguments
        };
        macro_rules! args {
            ($ty:ty) => {
                match serde_json::from_str::<$ty>(arguments) {
                    Ok(args) => args,
                    Err(error) => {
                        return Ok(Err(ToolRefusal(format!(
                            "invalid arguments for {name}: {error}"
                        ))));
                    }
                }
            };
        }
        let result = match name {
            "search" => self.search(args!(SearchArgs)).await?,
            "read_file" => {
                let args = args!(ReadFileArgs);
                match self.repository(args.repository.as_deref()) {
                    Ok(repository) => self.read_file(repository, args).await?,
                    Err(refusal) => return Ok(Err(refusal)),
                }
            }
            "list_directory" => {
                let args = args!(PathArgs);
                match self.repository(args.repository.as_deref()) {
                    Ok(repository) => self.list_directory(repository, &args.path).await?,
                    Err(refusal) => return Ok(Err(refusal)),
                }
            }
            "find_symbol" => self.find_symbol(&args!(NameArgs).name).await?,
            "callers" => self.callers(&args!(SymbolArgs).symbol).await?,
            "repository_overview" => {
                let args = args!(OverviewArgs);
                match self.repository(args.repository.as_deref()) {
                    Ok(repository) => self.overview(repository).await?,
                    Err(refusal) => return Ok(Err(refusal)),
                }
            }
            other => {
                let known: Vec<String> = specs().into_iter().map(|s| s.name).collect();
                return Ok(Err(ToolRefusal(format!(
                    "there is no tool {other:?}; the tools are {}",
                    known.join(", ")
                ))));
            }
        };
        Ok(Ok(self.capped(result)))
    }

    /// The repository named (by `name` or `namespace/name`), or the only one.
    fn repository(&self, name: Option<&str>) -> Result<RepositoryId, ToolRefusal> {
        let names = || {
            self.repositories
                .iter()
                .map(|(_, n)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match name.map(str::trim).filter(|n| !n.is_empty()) {
            None if self.repositories.len() == 1 => Ok(self.repositories[0].0),
            None => Err(ToolRefusal(format!("name the repository: one of {}", names()))),
            Some(name) => self
                .repositories
                .iter()
                .find(|(_, full)| full == name || full.rsplit('/').next() == Some(name))
                .map(|(id, _)| *id)
                .ok_or_else(|| {
                    ToolRefusal(format!(
                        "{name:?} is not a repository of this question: one of {}",
                        names()
                    ))
                }),
        }
    }

    fn ids(&self) -> Vec<RepositoryId> {
        self.repositories.iter().map(|(id, _)| *id).collect()
    }

    async fn search(&self, args: SearchArgs) -> Result<ToolResult> {
        let mut query = crate::context::search_text(&args.query);
        if query.is_empty() {
            return Ok(ToolResult::note("the query has no words to search for"));
        }
        for (key, value) in [("path", &args.path), ("lang", &args.language)] {
            if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                let quoted = value.replace(['"', '\\'], "");
                query.push_str(&format!(" {key}:\"{quoted}\""));
            }
        }
        let hits = self.builder.search(&query, &self.ids()).await?;
        let mut items: Vec<ContextItem> = self
            .builder
            .chunk_items(&hits, &query)
            .await?
            .into_iter()
            .map(|(item, _)| item)
            .collect();
        self.builder.check_against_index(&mut items).await?;
        for item in &mut items {
            item.found_by = FoundBy::Tool {
                name: "search".into(),
            };
        }
        let summary = format!("{} chunks for {:?}", items.len(), args.query);
        Ok(ToolResult {
            note: if items.is_empty() {
                format!("nothing found for {:?}", args.query)
            } else {
                String::new()
            },
            items,
            summary,
            queries: vec![query],
        })
    }

    async fn read_file(&self, repository: RepositoryId, args: ReadFileArgs) -> Result<ToolResult> {
        let path = args.path.trim().trim_start_matches("./").to_string();
        let start = args.start_line.unwrap_or(1).max(1);
        let end = args
            .end_line
            .unwrap_or(start + MAX_READ_LINES - 1)
            .min(start + MAX_READ_LINES - 1);
        if end < start {
            return Ok(ToolResult::note(format!(
                "end_line {end} is before start_line {start}"
            )));
        }
        let Some(lines) = self
            .builder
            .store()
            .file_lines(repository, &path, start, end)
            .await?
        else {
            let known = self
                .builder
                .store()
                .find_files(&[(repository, path.clone())])
                .await?;
            return Ok(ToolResult::note(match known.first() {
                Some(file) => format!("{path} has {} lines; line {start} is past its end", file.lines),
                None => format!("{path} is not a file of the indexed commit"),
            }));
        };
        let item = self
            .builder
            .file_item(
                lines,
                FoundBy::Tool {
                    name: "read_file".into(),
                },
            )
            .await?;
        Ok(match item {
            Some(mut item) => {
                item.score = 0.6;
                let summary = format!("lines {}-{} of {}", item.start_line, item.end_line, item.path);
                ToolResult {
                    items: vec![item],
                    note: String::new(),
                    summary,
                    queries: Vec::new(),
                }
            }
            None => ToolResult::note(format!("{path} is not indexed yet")),
        })
    }

    async fn list_directory(&self, repository: RepositoryId, path: &str) -> Result<ToolResult> {
        let entries = self
            .builder
            .store()
            .list_directory(repository, path, MAX_ENTRIES)
            .await?;
        let shown = if path.trim_matches('/').is_empty() {
            "/"
        } else {
            path
        };
        if entries.is_empty() {
            return Ok(ToolResult::note(format!("no files under {shown}")));
        }
        let mut note = format!("{shown}:\n");
        for entry in &entries {
            if entry.is_directory {
                note.push_str(&format!("  {}/ ({} files)\n", entry.name, entry.files));
            } else {
                note.push_str(&format!("  {} ({} lines)\n", entry.name, entry.lines));
            }
        }
        Ok(ToolResult {
            summary: format!("{} entries under {shown}", entries.len()),
            note,
            items: Vec::new(),
            queries: Vec::new(),
        })
    }

    async fn find_symbol(&self, name: &str) -> Result<ToolResult> {
        let name = name.trim();
        let mut items = self.builder.symbol_items(&self.ids(), name).await?;
        self.builder.check_against_index(&mut items).await?;
        for item in &mut items {
            item.found_by = FoundBy::Tool {
                name: "find_symbol".into(),
            };
        }
        Ok(ToolResult {
            note: if items.is_empty() {
                format!("no symbol named {name:?}")
            } else {
                String::new()
            },
            summary: format!("{} symbols named {name:?}", items.len()),
            items,
            queries: Vec::new(),
        })
    }

    async fn callers(&self, symbol: &str) -> Result<ToolResult> {
        let sites = self
            .builder
            .store()
            .callers(&self.ids(), symbol.trim(), MAX_MATCHES)
            .await?;
        if sites.is_empty() {
            return Ok(ToolResult::note(format!("no calls of {symbol:?} were found")));
        }
        let mut items = Vec::new();
        for site in &sites {
            // The caller's head, from the call line up to a few lines before it.
            let start = site
                .caller_start_line
                .unwrap_or(site.line)
                .max(site.line - 8)
                .max(1);
            if let Some(lines) = self
                .builder
                .store()
                .file_lines(site.repository_id, &site.path, start, site.line + 2)
                .await?
                && let Some(mut item) = self
                    .builder
                    .file_item(
                        lines,
                        FoundBy::Tool {
                            name: "callers".into(),
                        },
                    )
                    .await?
            {
                item.symbol_path = site.caller.clone();
                item.score = 0.6;
                items.push(item);
            }
        }
        Ok(ToolResult {
            summary: format!("{} calls of {symbol:?}", sites.len()),
            note: String::new(),
            items,
            queries: Vec::new(),
        })
    }

    async fn overview(&self, repository: RepositoryId) -> Result<ToolResult> {
        let mut gathered = crate::context::Gathered::default();
        self.builder.overview(repository, &mut gathered).await?;
        self.builder.check_against_index(&mut gathered.candidates).await?;
        let mut note = String::new();
        for fact in &gathered.facts {
            note.push_str(&format!("- {fact}\n"));
        }
        for item in &mut gathered.candidates {
            item.found_by = FoundBy::Tool {
                name: "repository_overview".into(),
            };
        }
        Ok(ToolResult {
            summary: format!(
                "overview: {} facts, {} files",
                gathered.facts.len(),
                gathered.candidates.len()
            ),
            note,
            items: gathered.candidates,
            queries: Vec::new(),
        })
    }

    /// Cuts a result to the token cap: the note's lines first, then items packed best first.
    fn capped(&self, mut result: ToolResult) -> ToolResult {
        let count = self.count_tokens;
        let mut note_tokens = count(&result.note);
        if note_tokens > self.max_result_tokens / 2 {
            let mut kept = String::new();
            let mut used = 0;
            for line in result.note.split_inclusive('\n') {
                let cost = count(line);
                if used + cost > self.max_result_tokens / 2 {
                    kept.push_str("(… cut)\n");
                    break;
                }
                used += cost;
                kept.push_str(line);
            }
            result.note = kept;
            note_tokens = used;
        }
        let budget = crate::context::Budget {
            tokens: self.max_result_tokens.saturating_sub(note_tokens),
            max_items: 8,
        };
        let (items, _) = pack(std::mem::take(&mut result.items), budget, &|t| count(t));
        result.items = items;
        result
    }
}
