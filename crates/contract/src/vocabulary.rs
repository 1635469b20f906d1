//! The vocabulary stored in the database and returned by the API: enums whose names every layer
//! (analysis, store, api-server, UI) must spell the same way: why a file was skipped, how its
//! parse went, what kind a symbol is.

use serde::{Deserialize, Serialize};

/// Why a tree entry is recorded but not analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// The path has a `..`, `.`, empty or `.git` component, or is absolute.
    UnsafePath,
    /// Excluded by the repository's `include`/`exclude` patterns.
    Excluded,
    /// Under a vendored dependency folder (`vendor/`, `node_modules/`, `third_party/`, …).
    Vendored,
    /// Generated or minified code, or a lock file.
    Generated,
    /// Larger than the file size cap.
    TooLarge,
    /// Past the cap on analysed files.
    MaxFiles,
    /// Binary content (a NUL byte anywhere: git tests the first 8000 bytes, and text with a NUL
    /// cannot be stored as Postgres text either).
    Binary,
    /// Text in an encoding other than UTF-8 (UTF-16/32 byte-order mark).
    UnsupportedEncoding,
}

impl SkipReason {
    /// Every reason.
    pub const ALL: [SkipReason; 8] = [
        SkipReason::UnsafePath,
        SkipReason::Excluded,
        SkipReason::Vendored,
        SkipReason::Generated,
        SkipReason::TooLarge,
        SkipReason::MaxFiles,
        SkipReason::Binary,
        SkipReason::UnsupportedEncoding,
    ];

    /// The stable name stored in the database and reported in run stats.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::UnsafePath => "unsafe-path",
            SkipReason::Excluded => "excluded",
            SkipReason::Vendored => "vendored",
            SkipReason::Generated => "generated",
            SkipReason::TooLarge => "too-large",
            SkipReason::MaxFiles => "max-files",
            SkipReason::Binary => "binary",
            SkipReason::UnsupportedEncoding => "unsupported-encoding",
        }
    }

    /// True when the reason depends on the blob's content (so an unchanged blob keeps it).
    pub fn depends_on_content(self) -> bool {
        matches!(
            self,
            SkipReason::Binary | SkipReason::UnsupportedEncoding | SkipReason::Generated
        )
    }
}

impl std::str::FromStr for SkipReason {
    type Err = String;

    /// The reason of a stored name ([`SkipReason::as_str`]).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        SkipReason::ALL
            .into_iter()
            .find(|reason| reason.as_str() == name)
            .ok_or_else(|| format!("no skip reason is called {name:?}"))
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How tree-sitter fared with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParseStatus {
    /// Parsed without errors.
    Parsed,
    /// Parsed, with syntax errors in the tree (analysed as far as it goes).
    SyntaxErrors,
    /// The parse ran past its deadline.
    Timeout,
    /// The parse failed otherwise (no grammar, a grammar that would not load).
    Failed,
}

impl ParseStatus {
    /// Every status.
    pub const ALL: [ParseStatus; 4] = [
        ParseStatus::Parsed,
        ParseStatus::SyntaxErrors,
        ParseStatus::Timeout,
        ParseStatus::Failed,
    ];

    /// The stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ParseStatus::Parsed => "parsed",
            ParseStatus::SyntaxErrors => "syntax-errors",
            ParseStatus::Timeout => "timeout",
            ParseStatus::Failed => "failed",
        }
    }
}

impl std::str::FromStr for ParseStatus {
    type Err = String;

    /// The status of a stored name ([`ParseStatus::as_str`]).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ParseStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
            .ok_or_else(|| format!("no parse status is called {name:?}"))
    }
}

/// The kind of a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SymbolKind {
    /// A free function.
    Function,
    /// A function defined inside a class-like container.
    Method,
    /// A class.
    Class,
    /// A struct (or record).
    Struct,
    /// An enum.
    Enum,
    /// A Rust trait or a PHP trait.
    Trait,
    /// An interface (Go, Java, C#, TypeScript, PHP, Kotlin).
    Interface,
    /// A Rust `impl` block (named after the type it implements).
    Impl,
    /// A module or namespace.
    Module,
    /// A constant.
    Constant,
    /// A macro (Rust `macro_rules!`).
    Macro,
    /// A type alias or other type definition.
    Type,
}

impl SymbolKind {
    /// Every kind.
    pub const ALL: [SymbolKind; 12] = [
        SymbolKind::Function,
        SymbolKind::Method,
        SymbolKind::Class,
        SymbolKind::Struct,
        SymbolKind::Enum,
        SymbolKind::Trait,
        SymbolKind::Interface,
        SymbolKind::Impl,
        SymbolKind::Module,
        SymbolKind::Constant,
        SymbolKind::Macro,
        SymbolKind::Type,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Method => "method",
            SymbolKind::Class => "class",
            SymbolKind::Struct => "struct",
            SymbolKind::Enum => "enum",
            SymbolKind::Trait => "trait",
            SymbolKind::Interface => "interface",
            SymbolKind::Impl => "impl",
            SymbolKind::Module => "module",
            SymbolKind::Constant => "constant",
            SymbolKind::Macro => "macro",
            SymbolKind::Type => "type",
        }
    }

    /// Functions and methods: the scopes complexity is measured for.
    pub fn is_function(self) -> bool {
        matches!(self, SymbolKind::Function | SymbolKind::Method)
    }

    /// Containers whose functions are methods.
    pub fn holds_methods(self) -> bool {
        matches!(
            self,
            SymbolKind::Class
                | SymbolKind::Struct
                | SymbolKind::Enum
                | SymbolKind::Trait
                | SymbolKind::Interface
                | SymbolKind::Impl
        )
    }
}

impl std::str::FromStr for SymbolKind {
    type Err = String;

    /// The kind of a stored name ([`SymbolKind::as_str`]).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        SymbolKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| format!("no symbol kind is called {name:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_skip_reason_reads_back_from_its_stored_name() {
        for reason in SkipReason::ALL {
            assert_eq!(reason.as_str().parse::<SkipReason>(), Ok(reason));
        }
        assert!("timeout".parse::<SkipReason>().is_err());
    }

    #[test]
    fn every_symbol_kind_reads_back_from_its_stored_name() {
        for kind in SymbolKind::ALL {
            assert_eq!(kind.as_str().parse::<SymbolKind>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn every_parse_status_reads_back_from_its_stored_name() {
        for status in ParseStatus::ALL {
            assert_eq!(status.as_str().parse::<ParseStatus>(), Ok(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }
}
