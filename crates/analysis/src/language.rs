//! Language detection by file name, extension and shebang.

/// A programming or configuration language RepoSage recognises.
#[derive(Debug, PartialEq, Eq)]
pub struct Language {
    /// Display name, e.g. `Rust`; also the key stored in the database.
    pub name: &'static str,
    /// Line comment prefixes (`//`, `#`, …).
    pub line_comments: &'static [&'static str],
    /// Block comment delimiters (`/*`, `*/`), when the language has them.
    pub block_comment: Option<(&'static str, &'static str)>,
}

/// Comment syntax: line comment prefixes and block comment delimiters.
type Syntax = (&'static [&'static str], Option<(&'static str, &'static str)>);

const C_LIKE: Syntax = (&["//"], Some(("/*", "*/")));
const HASH: Syntax = (&["#"], None);

macro_rules! languages {
    ($($ident:ident = $name:literal, $comments:expr;)*) => {
        $(
            #[doc = concat!("The ", $name, " language.")]
            pub const $ident: Language = {
                let syntax: Syntax = $comments;
                Language { name: $name, line_comments: syntax.0, block_comment: syntax.1 }
            };
        )*
        /// Every language RepoSage recognises.
        pub const ALL: &[&Language] = &[$(&$ident),*];
    };
}

languages! {
    RUST = "Rust", C_LIKE;
    PYTHON = "Python", (&["#"], Some(("\"\"\"", "\"\"\"")));
    JAVASCRIPT = "JavaScript", C_LIKE;
    TYPESCRIPT = "TypeScript", C_LIKE;
    TSX = "TSX", C_LIKE;
    GO = "Go", C_LIKE;
    JAVA = "Java", C_LIKE;
    C = "C", C_LIKE;
    CPP = "C++", C_LIKE;
    CSHARP = "C#", C_LIKE;
    RUBY = "Ruby", (&["#"], Some(("=begin", "=end")));
    PHP = "PHP", (&["//", "#"], Some(("/*", "*/")));
    KOTLIN = "Kotlin", C_LIKE;
    SWIFT = "Swift", C_LIKE;
    SCALA = "Scala", C_LIKE;
    BASH = "Bash", HASH;
    LUA = "Lua", (&["--"], Some(("--[[", "]]")));
    HASKELL = "Haskell", (&["--"], Some(("{-", "-}")));
    ELIXIR = "Elixir", HASH;
    ERLANG = "Erlang", (&["%"], None);
    CLOJURE = "Clojure", (&[";"], None);
    DART = "Dart", C_LIKE;
    R = "R", HASH;
    JULIA = "Julia", (&["#"], Some(("#=", "=#")));
    PERL = "Perl", HASH;
    OCAML = "OCaml", (&[], Some(("(*", "*)")));
    ZIG = "Zig", (&["//"], None);
    SQL = "SQL", (&["--"], Some(("/*", "*/")));
    HTML = "HTML", (&[], Some(("<!--", "-->")));
    CSS = "CSS", (&[], Some(("/*", "*/")));
    SCSS = "SCSS", C_LIKE;
    VUE = "Vue", (&["//"], Some(("<!--", "-->")));
    SVELTE = "Svelte", (&["//"], Some(("<!--", "-->")));
    MARKDOWN = "Markdown", (&[], Some(("<!--", "-->")));
    YAML = "YAML", HASH;
    TOML = "TOML", HASH;
    JSON = "JSON", (&[], None);
    XML = "XML", (&[], Some(("<!--", "-->")));
    DOCKERFILE = "Dockerfile", HASH;
    MAKEFILE = "Makefile", HASH;
    CMAKE = "CMake", HASH;
    PROTOBUF = "Protocol Buffers", C_LIKE;
    HCL = "HCL", (&["#", "//"], Some(("/*", "*/")));
    NIX = "Nix", (&["#"], Some(("/*", "*/")));
    POWERSHELL = "PowerShell", (&["#"], Some(("<#", "#>")));
    GROOVY = "Groovy", C_LIKE;
    OBJECTIVE_C = "Objective-C", C_LIKE;
    FSHARP = "F#", (&["//"], Some(("(*", "*)")));
    VISUAL_BASIC = "Visual Basic", (&["'"], None);
    RESTRUCTUREDTEXT = "reStructuredText", (&[], None);
    TEXT = "Text", (&[], None);
}

/// Exact file names that decide the language regardless of extension.
const FILE_NAMES: &[(&str, &Language)] = &[
    ("Dockerfile", &DOCKERFILE),
    ("Containerfile", &DOCKERFILE),
    ("Makefile", &MAKEFILE),
    ("GNUmakefile", &MAKEFILE),
    ("makefile", &MAKEFILE),
    ("CMakeLists.txt", &CMAKE),
    ("Rakefile", &RUBY),
    ("Gemfile", &RUBY),
    ("Jenkinsfile", &GROOVY),
    ("Vagrantfile", &RUBY),
    ("BUILD", &PYTHON),
    ("BUILD.bazel", &PYTHON),
    ("WORKSPACE", &PYTHON),
    (".bashrc", &BASH),
    (".bash_profile", &BASH),
    (".zshrc", &BASH),
    ("Cargo.lock", &TOML),
    ("go.mod", &TEXT),
    ("go.sum", &TEXT),
];

const EXTENSIONS: &[(&str, &Language)] = &[
    ("rs", &RUST),
    ("py", &PYTHON),
    ("pyi", &PYTHON),
    ("pyw", &PYTHON),
    ("js", &JAVASCRIPT),
    ("mjs", &JAVASCRIPT),
    ("cjs", &JAVASCRIPT),
    ("jsx", &JAVASCRIPT),
    ("ts", &TYPESCRIPT),
    ("mts", &TYPESCRIPT),
    ("cts", &TYPESCRIPT),
    ("tsx", &TSX),
    ("go", &GO),
    ("java", &JAVA),
    ("c", &C),
    ("h", &C),
    ("cc", &CPP),
    ("cpp", &CPP),
    ("cxx", &CPP),
    ("c++", &CPP),
    ("hh", &CPP),
    ("hpp", &CPP),
    ("hxx", &CPP),
    ("ipp", &CPP),
    ("cs", &CSHARP),
    ("rb", &RUBY),
    ("rake", &RUBY),
    ("gemspec", &RUBY),
    ("php", &PHP),
    ("kt", &KOTLIN),
    ("kts", &KOTLIN),
    ("swift", &SWIFT),
    ("scala", &SCALA),
    ("sc", &SCALA),
    ("sh", &BASH),
    ("bash", &BASH),
    ("zsh", &BASH),
    ("lua", &LUA),
    ("hs", &HASKELL),
    ("ex", &ELIXIR),
    ("exs", &ELIXIR),
    ("erl", &ERLANG),
    ("hrl", &ERLANG),
    ("clj", &CLOJURE),
    ("cljs", &CLOJURE),
    ("cljc", &CLOJURE),
    ("dart", &DART),
    ("r", &R),
    ("jl", &JULIA),
    ("pl", &PERL),
    ("pm", &PERL),
    ("ml", &OCAML),
    ("mli", &OCAML),
    ("zig", &ZIG),
    ("sql", &SQL),
    ("html", &HTML),
    ("htm", &HTML),
    ("css", &CSS),
    ("scss", &SCSS),
    ("sass", &SCSS),
    ("less", &CSS),
    ("vue", &VUE),
    ("svelte", &SVELTE),
    ("md", &MARKDOWN),
    ("markdown", &MARKDOWN),
    ("yaml", &YAML),
    ("yml", &YAML),
    ("toml", &TOML),
    ("json", &JSON),
    ("jsonc", &JSON),
    ("xml", &XML),
    ("csproj", &XML),
    ("fsproj", &XML),
    ("vbproj", &XML),
    ("props", &XML),
    ("targets", &XML),
    ("pom", &XML),
    ("cmake", &CMAKE),
    ("mk", &MAKEFILE),
    ("proto", &PROTOBUF),
    ("tf", &HCL),
    ("tfvars", &HCL),
    ("hcl", &HCL),
    ("nix", &NIX),
    ("ps1", &POWERSHELL),
    ("psm1", &POWERSHELL),
    ("groovy", &GROOVY),
    ("gradle", &GROOVY),
    ("m", &OBJECTIVE_C),
    ("mm", &OBJECTIVE_C),
    ("fs", &FSHARP),
    ("fsx", &FSHARP),
    ("vb", &VISUAL_BASIC),
    ("rst", &RESTRUCTUREDTEXT),
    ("txt", &TEXT),
];

/// Interpreters named on a `#!` line.
const INTERPRETERS: &[(&str, &Language)] = &[
    ("python", &PYTHON),
    ("python3", &PYTHON),
    ("bash", &BASH),
    ("sh", &BASH),
    ("zsh", &BASH),
    ("dash", &BASH),
    ("node", &JAVASCRIPT),
    ("deno", &TYPESCRIPT),
    ("ruby", &RUBY),
    ("perl", &PERL),
    ("php", &PHP),
    ("lua", &LUA),
    ("Rscript", &R),
    ("julia", &JULIA),
    ("pwsh", &POWERSHELL),
];

impl Language {
    /// The language of `path`, from its file name, its extension or, failing both, the shebang on
    /// `first_line`.
    pub fn detect(path: &str, first_line: Option<&str>) -> Option<&'static Language> {
        let file_name = path.rsplit('/').next().unwrap_or(path);
        if let Some((_, lang)) = FILE_NAMES.iter().find(|(name, _)| *name == file_name) {
            return Some(lang);
        }
        if file_name.starts_with("Dockerfile.") || file_name.ends_with(".dockerfile") {
            return Some(&DOCKERFILE);
        }
        if let Some((_, ext)) = file_name.rsplit_once('.').filter(|(stem, _)| !stem.is_empty()) {
            let ext = ext.to_ascii_lowercase();
            if let Some((_, lang)) = EXTENSIONS.iter().find(|(e, _)| *e == ext) {
                return Some(lang);
            }
        }
        first_line.and_then(Self::from_shebang)
    }

    /// The language named by a `#!` line (`#!/usr/bin/env python3`, `#!/bin/bash -e`).
    pub fn from_shebang(line: &str) -> Option<&'static Language> {
        let rest = line.strip_prefix("#!")?.trim();
        let mut words = rest.split_whitespace();
        let mut program = words.next()?.rsplit('/').next()?;
        if program == "env" {
            program = words.find(|w| !w.starts_with('-'))?;
        }
        let program = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        INTERPRETERS
            .iter()
            .find(|(name, _)| name.trim_end_matches(|c: char| c.is_ascii_digit()) == program)
            .map(|(_, lang)| *lang)
    }

    /// The language with this display name.
    pub fn by_name(name: &str) -> Option<&'static Language> {
        ALL.iter().copied().find(|l| l.name == name)
    }

    /// True for data, markup and prose formats (as opposed to code).
    pub fn is_prose_or_data(&self) -> bool {
        matches!(
            self.name,
            "Markdown" | "reStructuredText" | "Text" | "JSON" | "YAML" | "TOML" | "XML"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_file_name_extension_and_shebang() {
        assert_eq!(Language::detect("src/main.rs", None), Some(&RUST));
        assert_eq!(Language::detect("web/App.TSX", None), Some(&TSX));
        assert_eq!(Language::detect("build/Dockerfile", None), Some(&DOCKERFILE));
        assert_eq!(Language::detect("Dockerfile.prod", None), Some(&DOCKERFILE));
        assert_eq!(
            Language::detect("bin/tool", Some("#!/usr/bin/env python3")),
            Some(&PYTHON)
        );
        assert_eq!(Language::detect("bin/run", Some("#!/bin/bash -eu")), Some(&BASH));
        assert_eq!(
            Language::detect("bin/run", Some("#!/usr/bin/node")),
            Some(&JAVASCRIPT)
        );
        assert_eq!(Language::detect(".gitignore", None), None);
        assert_eq!(Language::detect("LICENSE", Some("MIT License")), None);
    }

    #[test]
    fn recognises_at_least_twenty_five_programming_languages() {
        let code = ALL.iter().filter(|l| !l.is_prose_or_data()).count();
        assert!(code >= 25, "{code}");
        assert_eq!(Language::by_name("Go"), Some(&GO));
    }
}
