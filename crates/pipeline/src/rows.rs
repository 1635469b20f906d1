//! Turning what `reposage_analysis` finds in a file (code analysis, chunks, metadata) into the rows
//! the store keeps.

use std::collections::HashMap;

use reposage_analysis::chunk::Chunk;
use reposage_analysis::code::{self, ParseFailure, ParseStatus, SymbolKind};
use reposage_analysis::metadata::{
    self, Manifest, ProjectFile, classify_project_file, detect_license, is_license_path, is_readme_path,
    kubernetes_objects, parse_manifest, parse_readme,
};
use reposage_analysis::{Language, SkipReason, TreeEntry};
use reposage_retrieval::lexical;
use reposage_store::{AnalysedFile, CallRow, ChunkRow, CodeRows, FileKind, FileRow, ImportRow, SymbolRow};
use reposage_store::{FileMetadata, ManifestRow, ReadmeRow};

/// The metadata a text file carries, by its path (and, for YAML, its content); `None` for the
/// ordinary files that carry none.
pub(crate) fn file_metadata(path: &str, language: Option<&str>, text: &str) -> Option<FileMetadata> {
    let mut found = FileMetadata::default();
    if is_readme_path(path) {
        let readme = parse_readme(path, text);
        found.readme = Some(ReadmeRow {
            title: readme.title,
            summary: readme.summary,
            sections: readme.sections,
        });
    }
    if is_license_path(path) {
        found.license = detect_license(text).map(|m| (m.spdx_id.to_string(), m.confidence));
    }
    if let Some(parsed) = parse_manifest(path, text) {
        let ecosystem = metadata::manifest_ecosystem(path).map_or("unknown", |e| e.as_str());
        found.manifest = Some(match parsed {
            Ok(manifest) => manifest_row(manifest),
            Err(error) => ManifestRow {
                ecosystem,
                error: Some(error.to_string()),
                ..ManifestRow::default()
            },
        });
    }
    if let Some(project_file) = classify_project_file(path) {
        found.project_file = Some((project_file.kind(), project_detail(&project_file)));
    }
    if language == Some("YAML") && !path.starts_with(".github/") {
        found.kubernetes_objects = kubernetes_objects(text)
            .into_iter()
            .map(|o| (o.api_version, o.kind, o.name))
            .collect();
    }
    (!found.is_empty()).then_some(found)
}

fn manifest_row(manifest: Manifest) -> ManifestRow {
    ManifestRow {
        ecosystem: manifest.ecosystem.as_str(),
        name: manifest.name,
        version: manifest.version,
        description: manifest.description,
        homepage: manifest.homepage,
        repository_url: manifest.repository,
        license: manifest.license,
        entry_points: manifest.entry_points,
        workspace_members: manifest.workspace_members,
        dependencies: manifest
            .dependencies
            .into_iter()
            .map(|d| (d.name, d.version_req, d.kind.as_str()))
            .collect(),
        error: None,
    }
}

/// The project file's details (CI provider, chart folder, entry-point language) as JSON.
fn project_detail(file: &ProjectFile) -> serde_json::Value {
    let mut value = serde_json::to_value(file).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("type");
    }
    value
}

/// What tree-sitter found, as rows; a failed parse is recorded on the file and the run goes on.
pub(crate) fn code_rows(parsed: Result<code::FileAnalysis, ParseFailure>) -> CodeRows {
    let analysis = match parsed {
        Ok(analysis) => analysis,
        Err(failure) => {
            return CodeRows {
                parse_status: failure.status(),
                parse_error: Some(failure.to_string()),
                functions: 0,
                complexity: 0,
                max_complexity: 0,
                halstead_volume: 0.0,
                maintainability: 0.0,
                symbols: Vec::new(),
                imports: Vec::new(),
                calls: Vec::new(),
            };
        }
    };
    let metrics = analysis.metrics;
    CodeRows {
        parse_status: if analysis.has_syntax_errors {
            ParseStatus::SyntaxErrors
        } else {
            ParseStatus::Parsed
        },
        parse_error: None,
        functions: metrics.functions as i32,
        complexity: metrics.complexity as i32,
        max_complexity: metrics.max_complexity as i32,
        halstead_volume: metrics.halstead_volume,
        maintainability: metrics.maintainability,
        symbols: analysis
            .symbols
            .into_iter()
            .map(|s| SymbolRow {
                kind: s.kind,
                complexity: s.metrics.map(|m| m.complexity as i32),
                max_nesting: s.metrics.map(|m| m.max_nesting as i32),
                lines: s.metrics.map(|m| m.lines as i32),
                name: s.name,
                qualified_name: s.qualified_name,
                signature: s.signature,
                doc: s.doc,
                visibility: s.visibility,
                start_line: s.start_line as i32,
                end_line: s.end_line as i32,
                start_byte: s.start_byte as i32,
                end_byte: s.end_byte as i32,
                parent: s.parent,
            })
            .collect(),
        imports: analysis
            .imports
            .into_iter()
            .map(|i| ImportRow {
                target: i.target,
                line: i.line as i32,
            })
            .collect(),
        calls: analysis
            .calls
            .into_iter()
            .map(|c| CallRow {
                caller: c.caller,
                callee: c.callee,
                line: c.line as i32,
            })
            .collect(),
    }
}

/// A file recorded with the reason it was not analysed (its language still told by its name).
pub(crate) fn skipped(row: FileRow, reason: SkipReason) -> AnalysedFile {
    AnalysedFile {
        row: FileRow {
            language: Language::detect(&row.path, None).map(|l| l.name.to_string()),
            skip_reason: Some(reason),
            ..row
        },
        code: None,
        metadata: None,
        chunks: Vec::new(),
    }
}

pub(crate) fn empty_row(entry: &TreeEntry, kind: FileKind) -> FileRow {
    FileRow {
        path: entry.path.clone(),
        kind,
        blob_sha: Some(entry.oid.to_string()),
        language: None,
        size_bytes: entry.size as i64,
        lines: 0,
        code_lines: 0,
        comment_lines: 0,
        blank_lines: 0,
        skip_reason: None,
        symlink_target: None,
    }
}

/// A file's chunks as rows, each with its symbol's kind (the first symbol of a qualified name, as
/// overloads share one) and its full-text search tokens.
pub(crate) fn chunk_rows(path: &str, chunks: Vec<Chunk>, symbols: &[code::Symbol]) -> Vec<ChunkRow> {
    let mut kinds: HashMap<&str, SymbolKind> = HashMap::with_capacity(symbols.len());
    for symbol in symbols {
        kinds.entry(symbol.qualified_name.as_str()).or_insert(symbol.kind);
    }
    chunks
        .into_iter()
        .map(|c| ChunkRow {
            symbol_kind: c.symbol_path.as_deref().and_then(|path| kinds.get(path).copied()),
            search_tokens: lexical::tsvector(path, c.symbol_path.as_deref(), &c.text),
            content_hash: c.content_hash,
            symbol_path: c.symbol_path,
            start_line: c.start_line as i32,
            end_line: c.end_line as i32,
            context_header: c.context_header,
            text: c.text,
            token_count: c.token_count as i32,
        })
        .collect()
}
