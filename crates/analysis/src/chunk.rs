//! Chunking: cuts one file into pieces of at most a token budget, for embedding and retrieval, along
//! its syntax tree where it has one.
//!
//! [`chunk_file`] is pure: the text and the [`Symbol`]s of [`analyze`](crate::code::analyze) in,
//! chunks out, no I/O. Tokens are counted only through the [`TokenCounter`] trait, so the embedding
//! model's own tokenizer can stand in for the [`ApproximateTokens`] estimate.
//!
//! ## Algorithm
//! Whole lines are the unit of cutting: a chunk is the lines `start..=end` (1-based, inclusive), its
//! text those lines joined with `\n`. A `\r` before a newline and a leading byte-order mark are not
//! part of a line, so a file chunks and hashes the same with either line ending. Every line's tokens
//! are counted once; the count of a range of lines is the sum of its lines' counts (a prefix sum), so
//! no growing string is ever re-counted. A chunk's own [`Chunk::token_count`] is the counter's count
//! of its text; the two agree for counters that split on white space first, as BERT's WordPiece and
//! [`ApproximateTokens`] do.
//!
//! 1. **Files with symbols.** Symbol ranges are clamped to the file and nested by their line ranges
//!    (a symbol that starts inside another but ends after it is moved to start after it; one left
//!    without lines is dropped), so the tree is well formed whatever the input. The units of the file
//!    are its top-level symbols in source order and the *gaps* between them (imports, constants,
//!    module-level code). Comment, doc-comment, attribute and decorator lines directly above a symbol
//!    (no blank line between) belong to the symbol, so a doc comment stays with what it documents.
//!    - A symbol that fits `max_tokens` is one unit.
//!    - A symbol that does not fit and holds symbols, other than a function (a class, impl, trait,
//!      module, …), is descended: its children become units the same way, and its own lines around
//!      them (the `impl X {` or `class X:` header, fields, the closing brace) are gap units whose
//!      symbol is the container. Descent stops 64 levels deep.
//!    - A function that does not fit (or any other symbol without children) is split on statement
//!      boundaries. Each piece holds as many lines as the budget allows, then gives back lines up to
//!      the best place to cut among those that leave it at least half the budget: before the least
//!      indented line (at best a statement at the body's base level), at equal indentation before a
//!      line that follows a blank line, the latest among equals; a line that continues a statement
//!      (starting with a closing bracket, `.`, `else`, `elif`, `except`, `catch` or `finally`) only
//!      when nothing else is left. A single line over the budget is a chunk of its own, never
//!      dropped.
//!    - A gap that does not fit is split the same way.
//! 2. **Small neighbours merge.** In source order, a unit joins the chunk before it while the joined
//!    lines stay within `max_tokens` and one of the two (the chunk so far or the unit) is under
//!    `min_tokens`. A chunk's `symbol_path` is the qualified name of the deepest symbol that is or
//!    contains the symbols of all its units, or when they share none (top-level neighbours), the
//!    first one's. A container's own lines do not widen it: `impl Client {` merged with the `send`
//!    below it is `Client::send`. Such lines alone have their container's path, file-level code
//!    alone has none.
//! 3. **Files without symbols** (no grammar, or a parse that found none) are cut into line windows,
//!    each as many lines as fit `max_tokens` (at least one). The next window starts `overlap_lines`
//!    lines before the previous one ended, overlapping at most half of it (so windows always advance)
//!    and less when the first line not yet covered would not fit otherwise.
//! 4. Blank lines at the edges of a chunk are left out, and a chunk of blank lines alone is none: an
//!    empty or whitespace-only file gives no chunks.
//!
//! Every line holding more than white space is in at least one chunk; chunks come in source order;
//! chunks cut along symbols never overlap (windows do, by `overlap_lines`); the output depends on the
//! input alone. The cost is linear in the size of the file, plus `O(s log s)` for `s` symbols.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde::Serialize;

use crate::Language;
use crate::code::Symbol;

/// What to chunk: one file and its symbols.
#[derive(Debug, Clone, Copy)]
pub struct ChunkInput<'a> {
    /// Path of the file in the repository; the start of every chunk's context header.
    pub path: &'a str,
    /// A [`Language`] name (`Rust`, `Python`, …), when known: its comment syntax tells which lines
    /// above a symbol are its doc comments.
    pub language: Option<&'a str>,
    /// The file's text.
    pub text: &'a str,
    /// Its symbols, from [`analyze`](crate::code::analyze); empty for files without a grammar.
    pub symbols: &'a [Symbol],
}

/// How big chunks may be, in tokens of a [`TokenCounter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkBudget {
    /// Most tokens in one chunk (a single longer line is the only exception).
    pub max_tokens: usize,
    /// Chunks smaller than this are merged with a neighbour when the two fit together.
    pub min_tokens: usize,
    /// Lines shared by consecutive line windows (files without symbols only).
    pub overlap_lines: usize,
}

impl Default for ChunkBudget {
    /// 256 tokens (the window of all-MiniLM-L6-v2), merging below 32, 3 lines of overlap.
    fn default() -> Self {
        ChunkBudget {
            max_tokens: 256,
            min_tokens: 32,
            overlap_lines: 3,
        }
    }
}

/// Counts the tokens a text becomes for the embedding model.
pub trait TokenCounter {
    /// Tokens of `text`, without the model's special tokens (`[CLS]`, `[SEP]`).
    fn count(&self, text: &str) -> usize;
}

/// An estimate of what a BERT WordPiece tokenizer (all-MiniLM-L6-v2's, uncased) makes of code,
/// without its vocabulary.
///
/// BERT first splits on white space and punctuation, then cuts each word into vocabulary pieces.
/// So: every character that is neither white space nor a letter or digit is one token (`_`, `.`,
/// `(`, `::` is two), as is every CJK ideograph (BERT splits those apart too); a run of letters and
/// digits is one token up to 6 characters and one more per further 4 characters or part of them
/// (`client` 1, `backoff` 2, `getUserName` 3), since common words are whole vocabulary entries and
/// rare identifiers fall apart into pieces of about 4 characters.
///
/// Calibration against the rule of thumb of about 1 token per 3.5 characters of code (white space
/// included): on this workspace's Rust sources the estimate gives 3.1 characters per token, on the Rust
/// sources of 400 crates in the Cargo registry 3.2, on CPython's `json` package 3.5. It errs towards
/// more tokens, so chunks come out a little smaller than they could rather than over the model's
/// window. (Allowing 8 characters before the second token gives 3.3, 3.4 and 3.75; allowing 4, 2.8,
/// 2.9 and 3.1.) Real WordPiece turns a word over 100 characters into one `[UNK]`; the estimate
/// counts its pieces, again erring high.
///
/// The count is additive over white space: the count of lines joined with `\n` is the sum of the
/// lines' counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApproximateTokens;

/// Letters and digits a run holds before it counts a second token.
const WHOLE_WORD_CHARS: usize = 6;
/// Letters and digits per further token of a long run.
const PIECE_CHARS: usize = 4;

impl TokenCounter for ApproximateTokens {
    fn count(&self, text: &str) -> usize {
        fn run_tokens(run: usize) -> usize {
            match run {
                0 => 0,
                _ => 1 + run.saturating_sub(WHOLE_WORD_CHARS).div_ceil(PIECE_CHARS),
            }
        }
        let mut tokens = 0usize;
        let mut run = 0usize;
        for c in text.chars() {
            if c.is_alphanumeric() && !is_cjk_ideograph(c) {
                run += 1;
                continue;
            }
            tokens += run_tokens(run);
            run = 0;
            if !c.is_whitespace() {
                tokens += 1;
            }
        }
        tokens + run_tokens(run)
    }
}

/// The code points BERT's basic tokenizer puts spaces around (`_is_chinese_char`).
fn is_cjk_ideograph(c: char) -> bool {
    matches!(
        u32::from(c),
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B820..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}

/// A piece of a file to embed and retrieve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chunk {
    /// First line (1-based).
    pub start_line: u32,
    /// Last line (inclusive).
    pub end_line: u32,
    /// Qualified name of the symbol the chunk covers or lies in (`Client::send`); `None` for
    /// file-level code and line windows.
    pub symbol_path: Option<String>,
    /// The lines `start_line..=end_line`, joined with `\n` (no line terminator at the end).
    pub text: String,
    /// Where the chunk comes from, `path · symbol path` (`src/net/client.rs · Client::send`) or the
    /// path alone: context to embed or show along with the text, kept apart from it.
    pub context_header: String,
    /// Tokens of `text`.
    pub token_count: usize,
    /// Hex BLAKE3 hash of `text`.
    pub content_hash: String,
}

/// Cuts `input` into chunks of at most `budget.max_tokens` tokens (see the [module docs](self)).
pub fn chunk_file(input: &ChunkInput, budget: &ChunkBudget, tokens: &dyn TokenCounter) -> Vec<Chunk> {
    let lines = Lines::new(input.text, tokens);
    let Some(last) = lines.blank.iter().rposition(|blank| !blank) else {
        return Vec::new();
    };
    let forest = Forest::new(input.symbols, input.text, lines.len());
    let groups = if forest.roots.is_empty() {
        windows(&lines, budget, last)
    } else {
        let language = input.language.and_then(Language::by_name);
        let units = Units::collect(&lines, &forest, budget, language);
        merge(&lines, &forest, budget, units)
    };
    groups
        .into_iter()
        .map(|group| {
            let symbol_path = group
                .node
                .map(|n| forest.name(n))
                .filter(|name| !name.is_empty())
                .map(str::to_string);
            lines.chunk(input.path, group.start, group.end, symbol_path, tokens)
        })
        .collect()
}

/// The lines of a file and their token counts.
struct Lines<'t> {
    lines: Vec<&'t str>,
    blank: Vec<bool>,
    /// `prefix[i]`: tokens of the lines before line `i` (0-based).
    prefix: Vec<usize>,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str, tokens: &dyn TokenCounter) -> Self {
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines: Vec<&str> = body
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .collect();
        if body.ends_with('\n') {
            lines.pop();
        }
        let blank = lines.iter().map(|line| line.trim().is_empty()).collect();
        let mut prefix = Vec::with_capacity(lines.len() + 1);
        let mut total = 0usize;
        prefix.push(0);
        for line in &lines {
            total = total.saturating_add(tokens.count(line));
            prefix.push(total);
        }
        Lines { lines, blank, prefix }
    }

    fn len(&self) -> usize {
        self.lines.len()
    }

    /// Tokens of the lines `start..=end`.
    fn tokens(&self, start: usize, end: usize) -> usize {
        self.prefix[end + 1].saturating_sub(self.prefix[start])
    }

    /// The last line `end` in `start..=limit` with `start..=end` within `max` tokens; `None` when
    /// line `start` alone is over.
    fn last_fitting(&self, start: usize, limit: usize, max: usize) -> Option<usize> {
        let ceiling = self.prefix[start].saturating_add(max);
        let fitting = self.prefix[start + 1..=limit + 1].partition_point(|&total| total <= ceiling);
        fitting.checked_sub(1).map(|extra| start + extra)
    }

    /// `start..=end` without its blank lines at either edge; `None` when all are blank.
    fn trim(&self, mut start: usize, mut end: usize) -> Option<(usize, usize)> {
        while start <= end && self.blank[start] {
            start += 1;
        }
        while end > start && self.blank[end] {
            end -= 1;
        }
        (start <= end).then_some((start, end))
    }

    /// How good a cut just before `line` is, best first: a line that starts a statement (rather
    /// than continue one), the shallower the better, after a blank line before one that is not;
    /// `None` for a blank line.
    fn cut_rank(&self, line: usize) -> Option<(bool, usize, bool)> {
        if self.blank[line] {
            return None;
        }
        let after_blank = line > 0 && self.blank[line - 1];
        Some((
            continues_statement(self.lines[line]),
            self.indent(line),
            !after_blank,
        ))
    }

    fn indent(&self, line: usize) -> usize {
        self.lines[line]
            .chars()
            .take_while(|c| c.is_whitespace())
            .map(|c| if c == '\t' { 4 } else { 1 })
            .sum()
    }

    fn chunk(
        &self,
        path: &str,
        start: usize,
        end: usize,
        symbol_path: Option<String>,
        tokens: &dyn TokenCounter,
    ) -> Chunk {
        let text = self.lines[start..=end].join("\n");
        let context_header = match &symbol_path {
            Some(symbol) => format!("{path} · {symbol}"),
            None => path.to_string(),
        };
        Chunk {
            start_line: line_number(start),
            end_line: line_number(end),
            symbol_path,
            token_count: tokens.count(&text),
            content_hash: blake3::hash(text.as_bytes()).to_hex().to_string(),
            text,
            context_header,
        }
    }
}

/// The 1-based number of a 0-based line index.
fn line_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// A symbol placed in the tree of line ranges.
struct Node {
    /// Index in the input's symbols.
    symbol: usize,
    /// First line (0-based) after clamping and nesting.
    start: usize,
    /// Last line (0-based, inclusive).
    end: usize,
    parent: Option<usize>,
    depth: usize,
    children: Vec<usize>,
}

/// The symbols of a file nested by their line ranges: children lie within their parent, siblings
/// are disjoint and in source order.
struct Forest<'s> {
    symbols: &'s [Symbol],
    nodes: Vec<Node>,
    roots: Vec<usize>,
}

impl<'s> Forest<'s> {
    fn new(symbols: &'s [Symbol], text: &str, line_count: usize) -> Self {
        let mut forest = Forest {
            symbols,
            nodes: Vec::new(),
            roots: Vec::new(),
        };
        // (start, longest first, input order): containers come before what they contain
        let mut pending: BinaryHeap<Reverse<(usize, Reverse<usize>, usize)>> = symbols
            .iter()
            .enumerate()
            .filter_map(|(index, symbol)| {
                let (start, end) = clamp(symbol, text, line_count)?;
                Some(Reverse((start, Reverse(end), index)))
            })
            .collect();
        let mut open: Vec<usize> = Vec::new();
        while let Some(Reverse((start, Reverse(end), symbol))) = pending.pop() {
            while open.last().is_some_and(|&top| forest.nodes[top].end < start) {
                open.pop();
            }
            let parent = open.last().copied();
            if let Some(top) = parent {
                let top_end = forest.nodes[top].end;
                if end > top_end {
                    // starts inside `top` but ends after it: the part after it stands on its own
                    pending.push(Reverse((top_end + 1, Reverse(end), symbol)));
                    continue;
                }
            }
            let id = forest.nodes.len();
            let depth = parent.map_or(0, |p| forest.nodes[p].depth + 1);
            forest.nodes.push(Node {
                symbol,
                start,
                end,
                parent,
                depth,
                children: Vec::new(),
            });
            match parent {
                Some(p) => forest.nodes[p].children.push(id),
                None => forest.roots.push(id),
            }
            open.push(id);
        }
        forest
    }

    fn children(&self, container: Option<usize>) -> &[usize] {
        match container {
            Some(node) => &self.nodes[node].children,
            None => &self.roots,
        }
    }

    fn symbol(&self, node: usize) -> &Symbol {
        &self.symbols[self.nodes[node].symbol]
    }

    fn name(&self, node: usize) -> &str {
        let symbol = self.symbol(node);
        match symbol.qualified_name.as_str() {
            "" => &symbol.name,
            qualified => qualified,
        }
    }

    /// The deepest node that is or contains both.
    fn common(&self, mut a: usize, mut b: usize) -> Option<usize> {
        while self.nodes[a].depth > self.nodes[b].depth {
            a = self.nodes[a].parent?;
        }
        while self.nodes[b].depth > self.nodes[a].depth {
            b = self.nodes[b].parent?;
        }
        while a != b {
            a = self.nodes[a].parent?;
            b = self.nodes[b].parent?;
        }
        Some(a)
    }
}

/// A symbol's lines as 0-based indexes within the file, or `None` when it starts after the end.
fn clamp(symbol: &Symbol, text: &str, line_count: usize) -> Option<(usize, usize)> {
    let start = usize::try_from(symbol.start_line).ok()?.saturating_sub(1);
    if start >= line_count {
        return None;
    }
    let mut end = usize::try_from(symbol.end_line).ok()?.saturating_sub(1);
    // a node that takes its line's newline in ends at the start of the next line
    let (start_byte, end_byte) = (symbol.start_byte as usize, symbol.end_byte as usize);
    if end > start && end_byte > start_byte && text.as_bytes().get(end_byte - 1) == Some(&b'\n') {
        end -= 1;
    }
    Some((start, end.clamp(start, line_count - 1)))
}

/// Descent stops this deep; deeper containers are split like functions.
const MAX_DEPTH: usize = 64;

/// A run of lines that chunks as one piece unless merged with its neighbours.
#[derive(Debug, Clone, Copy)]
struct Unit {
    /// First line (0-based, not blank).
    start: usize,
    /// Last line (inclusive, not blank).
    end: usize,
    /// The symbol it covers, or for a gap the container it lies in.
    node: Option<usize>,
    /// Lines of a container between its symbols (or of the file, outside any).
    gap: bool,
}

/// Collects the units of a file with symbols (step 1 of the module docs).
struct Units<'a> {
    lines: &'a Lines<'a>,
    forest: &'a Forest<'a>,
    budget: &'a ChunkBudget,
    language: Option<&'static Language>,
    units: Vec<Unit>,
}

impl<'a> Units<'a> {
    fn collect(
        lines: &'a Lines<'a>,
        forest: &'a Forest<'a>,
        budget: &'a ChunkBudget,
        language: Option<&'static Language>,
    ) -> Vec<Unit> {
        let mut this = Units {
            lines,
            forest,
            budget,
            language,
            units: Vec::new(),
        };
        this.walk();
        this.units
    }

    /// Goes through the symbols depth first, with an explicit stack of the containers descended.
    fn walk(&mut self) {
        struct Frame {
            container: Option<usize>,
            next_child: usize,
            /// First line not yet in a unit.
            cursor: usize,
            /// Last line of the container.
            end: usize,
        }
        let mut stack = vec![Frame {
            container: None,
            next_child: 0,
            cursor: 0,
            end: self.lines.len() - 1,
        }];
        let forest = self.forest;
        while let Some(frame) = stack.last_mut() {
            let container = frame.container;
            let Some(&child) = forest.children(container).get(frame.next_child) else {
                let (cursor, end) = (frame.cursor, frame.end);
                stack.pop();
                self.gap(cursor, end, container);
                continue;
            };
            frame.next_child += 1;
            let cursor = frame.cursor;
            let node = &forest.nodes[child];
            frame.cursor = node.end + 1;
            let start = self.leading_decorations(node.start, cursor);
            if start > cursor {
                self.gap(cursor, start - 1, container);
            }
            if self.lines.tokens(start, node.end) <= self.budget.max_tokens {
                self.push(start, node.end, Some(child), false);
            } else if !node.children.is_empty()
                && !forest.symbol(child).kind.is_function()
                && stack.len() <= MAX_DEPTH
            {
                stack.push(Frame {
                    container: Some(child),
                    next_child: 0,
                    cursor: start,
                    end: node.end,
                });
            } else {
                self.split(start, node.end, Some(child), false);
            }
        }
    }

    /// The first of the comment and attribute lines right above line `start` (none before `floor`).
    fn leading_decorations(&self, start: usize, floor: usize) -> usize {
        let mut first = start;
        while first > floor && !self.lines.blank[first - 1] && self.is_decoration(first - 1) {
            first -= 1;
        }
        first
    }

    /// A comment, attribute or decorator line.
    fn is_decoration(&self, line: usize) -> bool {
        const GENERIC_COMMENTS: &[&str] = &["//", "#", "--"];
        let text = self.lines.lines[line].trim();
        let (comments, c_block) = match self.language {
            Some(language) => (
                language.line_comments,
                language.block_comment.is_some_and(|(open, _)| open == "/*"),
            ),
            None => (GENERIC_COMMENTS, true),
        };
        comments.iter().any(|prefix| text.starts_with(prefix))
            || (c_block && (text.starts_with("/*") || text.starts_with('*')))
            || text.starts_with("#[")
            || text.starts_with('@')
            || (text.starts_with('[') && text.ends_with(']'))
    }

    /// Lines of `container` between its symbols: one unit, or split when over the budget.
    fn gap(&mut self, start: usize, end: usize, container: Option<usize>) {
        let Some((start, end)) = self.lines.trim(start, end) else {
            return;
        };
        if self.lines.tokens(start, end) <= self.budget.max_tokens {
            self.push(start, end, container, true);
        } else {
            self.split(start, end, container, true);
        }
    }

    fn push(&mut self, start: usize, end: usize, node: Option<usize>, gap: bool) {
        if let Some((start, end)) = self.lines.trim(start, end) {
            self.units.push(Unit {
                start,
                end,
                node,
                gap,
            });
        }
    }

    /// Splits `start..=end` on statement boundaries into pieces within the budget.
    fn split(&mut self, start: usize, end: usize, node: Option<usize>, gap: bool) {
        let lines = self.lines;
        let max = self.budget.max_tokens;
        let mut piece = start;
        while piece <= end {
            if lines.blank[piece] {
                piece += 1;
                continue;
            }
            let Some(fits) = lines.last_fitting(piece, end, max) else {
                self.push(piece, piece, node, gap);
                piece += 1;
                continue;
            };
            if fits == end {
                self.push(piece, end, node, gap);
                break;
            }
            // cut before the best line of those that leave the piece at least half the budget
            let half = lines.prefix[piece].saturating_add(max / 2);
            let first = piece + 1 + lines.prefix[piece + 1..=fits + 1].partition_point(|&total| total < half);
            let mut cut = fits + 1;
            let mut best = None;
            for line in first..=fits + 1 {
                if let Some(rank) = lines.cut_rank(line)
                    && best.is_none_or(|best| rank <= best)
                {
                    (cut, best) = (line, Some(rank));
                }
            }
            self.push(piece, cut - 1, node, gap);
            piece = cut;
        }
    }
}

/// A line that carries on the statement above it rather than starting one.
fn continues_statement(line: &str) -> bool {
    const CONTINUATIONS: &[&str] = &["else", "elif", "except", "catch", "finally"];
    let text = line.trim_start();
    if text.starts_with(['}', ')', ']', '.']) {
        return true;
    }
    let word_end = text
        .find(|c: char| !c.is_alphanumeric() && c != '_')
        .unwrap_or(text.len());
    CONTINUATIONS.contains(&&text[..word_end])
}

/// Lines that become one chunk.
struct Group {
    start: usize,
    end: usize,
    /// The symbol whose qualified name is the chunk's symbol path.
    node: Option<usize>,
}

/// Merges small neighbouring units (step 2 of the module docs).
fn merge(lines: &Lines, forest: &Forest, budget: &ChunkBudget, units: Vec<Unit>) -> Vec<Group> {
    struct Open {
        start: usize,
        end: usize,
        tokens: usize,
        symbols: SharedPath,
        gaps: SharedPath,
    }
    impl Open {
        fn new(unit: &Unit, tokens: usize, forest: &Forest) -> Self {
            let mut open = Open {
                start: unit.start,
                end: unit.end,
                tokens,
                symbols: SharedPath::default(),
                gaps: SharedPath::default(),
            };
            open.add(unit, forest);
            open
        }

        fn add(&mut self, unit: &Unit, forest: &Forest) {
            let path = if unit.gap {
                &mut self.gaps
            } else {
                &mut self.symbols
            };
            path.add(unit.node, forest);
        }

        fn close(self) -> Group {
            let path = if self.symbols.seen {
                self.symbols
            } else {
                self.gaps
            };
            Group {
                start: self.start,
                end: self.end,
                node: path.common.or(path.first),
            }
        }
    }
    let mut groups = Vec::new();
    let mut open: Option<Open> = None;
    for unit in units {
        let tokens = lines.tokens(unit.start, unit.end);
        if let Some(current) = &mut open {
            let joined = lines.tokens(current.start, unit.end);
            let small = current.tokens < budget.min_tokens || tokens < budget.min_tokens;
            if joined <= budget.max_tokens && small {
                current.end = unit.end;
                current.tokens = joined;
                current.add(&unit, forest);
                continue;
            }
        }
        groups.extend(open.take().map(Open::close));
        open = Some(Open::new(&unit, tokens, forest));
    }
    groups.extend(open.map(Open::close));
    groups
}

/// The symbols of merged units: the deepest that is or contains them all, and the first.
#[derive(Default)]
struct SharedPath {
    seen: bool,
    /// `None` once two share no symbol (or one is file-level code).
    common: Option<usize>,
    first: Option<usize>,
}

impl SharedPath {
    fn add(&mut self, node: Option<usize>, forest: &Forest) {
        self.common = match (self.seen, self.common, node) {
            (false, _, node) => node,
            (true, Some(a), Some(b)) => forest.common(a, b),
            (true, _, _) => None,
        };
        self.first = self.first.or(node);
        self.seen = true;
    }
}

/// Line windows over a file without symbols (step 3 of the module docs); `last` is its last line
/// that is not blank.
fn windows(lines: &Lines, budget: &ChunkBudget, last: usize) -> Vec<Group> {
    let max = budget.max_tokens;
    let mut groups: Vec<Group> = Vec::new();
    // the first line not yet in a window
    let mut uncovered = lines.blank.iter().position(|blank| !blank).unwrap_or(last);
    loop {
        let start = match groups.last() {
            None => uncovered,
            Some(previous) => {
                let previous_lines = previous.end - previous.start + 1;
                let overlap = budget.overlap_lines.min(previous_lines / 2);
                let mut start = (previous.end + 1 - overlap).max(previous.start + 1);
                while start < uncovered && (lines.blank[start] || lines.tokens(start, uncovered) > max) {
                    start += 1;
                }
                start
            }
        };
        let end = lines
            .last_fitting(start, last, max)
            .unwrap_or(start)
            .max(uncovered);
        let (start, end) = lines.trim(start, end).unwrap_or((uncovered, uncovered));
        groups.push(Group {
            start,
            end,
            node: None,
        });
        match (end + 1..=last).find(|&l| !lines.blank[l]) {
            Some(next) => uncovered = next,
            None => return groups,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::SymbolKind;

    /// One token per white-space separated word.
    struct Words;

    impl TokenCounter for Words {
        fn count(&self, text: &str) -> usize {
            text.split_whitespace().count()
        }
    }

    fn budget(max_tokens: usize, min_tokens: usize, overlap_lines: usize) -> ChunkBudget {
        ChunkBudget {
            max_tokens,
            min_tokens,
            overlap_lines,
        }
    }

    fn symbol(name: &str, kind: SymbolKind, start_line: u32, end_line: u32) -> Symbol {
        Symbol {
            name: name.to_string(),
            kind,
            qualified_name: name.to_string(),
            signature: String::new(),
            doc: None,
            visibility: None,
            start_line,
            end_line,
            start_byte: 0,
            end_byte: 0,
            parent: None,
            metrics: None,
        }
    }

    fn chunks(text: &str, symbols: &[Symbol], budget: &ChunkBudget) -> Vec<Chunk> {
        let input = ChunkInput {
            path: "f.rs",
            language: Some("Rust"),
            text,
            symbols,
        };
        chunk_file(&input, budget, &Words)
    }

    fn ranges(chunks: &[Chunk]) -> Vec<(u32, u32, Option<&str>)> {
        chunks
            .iter()
            .map(|c| (c.start_line, c.end_line, c.symbol_path.as_deref()))
            .collect()
    }

    #[test]
    fn approximate_tokens_counts_word_pieces_and_punctuation() {
        let count = |text: &str| ApproximateTokens.count(text);
        assert_eq!(count(""), 0);
        assert_eq!(count("  \n\t "), 0);
        assert_eq!(count("client"), 1);
        assert_eq!(count("backoff"), 2);
        assert_eq!(count("getUserName"), 3);
        assert_eq!(count("backoff_send"), 4, "back ##off _ send");
        assert_eq!(count("let response = client.send(request).await?;"), 15);
        assert_eq!(count("数据"), 2, "CJK ideographs one each");
        assert_eq!(count("naïve café"), 2);
        assert_eq!(
            count("a\nb"),
            count("a") + count("b"),
            "additive over white space"
        );
    }

    #[test]
    fn approximate_tokens_is_near_one_token_per_three_and_a_half_characters_of_code() {
        let code = include_str!("chunk.rs");
        let ratio = code.chars().count() as f64 / ApproximateTokens.count(code) as f64;
        assert!((3.0..=3.8).contains(&ratio), "{ratio}");
    }

    #[test]
    fn empty_and_blank_files_have_no_chunks() {
        for text in ["", "\n\n", "\u{feff}  \t\r\n \n", "\u{feff}"] {
            assert_eq!(chunks(text, &[], &ChunkBudget::default()), [], "{text:?}");
        }
    }

    #[test]
    fn windows_overlap_and_always_advance() {
        let text = "a\nb\nc\nd\ne\nf\ng\n";
        let windows = chunks(text, &[], &budget(3, 0, 1));
        assert_eq!(ranges(&windows), [(1, 3, None), (3, 5, None), (5, 7, None)]);
        // an overlap as large as the window is capped at half of it
        let windows = chunks(text, &[], &budget(2, 0, 10));
        assert_eq!(
            ranges(&windows),
            [
                (1, 2, None),
                (2, 3, None),
                (3, 4, None),
                (4, 5, None),
                (5, 6, None),
                (6, 7, None)
            ]
        );
    }

    #[test]
    fn a_window_gives_up_overlap_for_a_line_that_would_not_fit_otherwise() {
        let text = "a\nb\nc\nd e f\ng";
        let windows = chunks(text, &[], &budget(3, 0, 1));
        assert_eq!(ranges(&windows), [(1, 3, None), (4, 4, None), (5, 5, None)]);
    }

    #[test]
    fn out_of_range_and_inverted_symbols_are_clamped_to_the_file() {
        let text = "fn a() {\n    x();\n}\n\nfn b() {}\n";
        let symbols = [
            symbol("a", SymbolKind::Function, 0, 3),
            symbol("b", SymbolKind::Function, 5, 4000),
            symbol("ghost", SymbolKind::Function, 90, 95),
            symbol("inverted", SymbolKind::Function, 5, 1),
        ];
        let got = chunks(text, &symbols, &budget(40, 0, 0));
        assert_eq!(ranges(&got), [(1, 3, Some("a")), (5, 5, Some("b"))]);
    }

    #[test]
    fn overlapping_symbols_are_nested_or_moved_after_their_neighbour() {
        let text = (1..=12)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let symbols = [
            symbol("A", SymbolKind::Class, 1, 6),
            symbol("B", SymbolKind::Class, 4, 10),
            symbol("C", SymbolKind::Function, 5, 5),
            symbol("A", SymbolKind::Class, 1, 6),
        ];
        let got = chunks(&text, &symbols, &budget(4, 0, 0));
        let covered: Vec<u32> = got.iter().flat_map(|c| c.start_line..=c.end_line).collect();
        assert_eq!(covered, (1..=12).collect::<Vec<_>>(), "{got:#?}");
        assert!(got.iter().all(|c| c.token_count <= 4));
    }

    #[test]
    fn deeply_nested_and_duplicated_containers_do_not_exhaust_the_stack() {
        let depth = 20_000u32;
        let mut text = String::new();
        for i in 0..depth {
            text.push_str(&format!("mod m{i} {{\n"));
        }
        text.push_str("x\n");
        for _ in 0..depth {
            text.push_str("}\n");
        }
        let total = 2 * depth + 1;
        let mut symbols: Vec<Symbol> = (0..depth)
            .map(|i| symbol("m", SymbolKind::Module, i + 1, total - i))
            .collect();
        symbols.extend((0..depth).map(|_| symbol("dup", SymbolKind::Class, 1, total)));
        let got = chunks(&text, &symbols, &budget(40, 8, 0));
        let covered: Vec<u32> = got.iter().flat_map(|c| c.start_line..=c.end_line).collect();
        assert_eq!(covered, (1..=total).collect::<Vec<_>>());
    }

    #[test]
    fn a_symbol_ending_with_its_newline_ends_on_its_own_line() {
        let text = "def f():\n    pass\nx = 1\n";
        let mut f = symbol("f", SymbolKind::Function, 1, 3);
        f.end_byte = 18; // just after "    pass\n"
        let got = chunks(text, &[f], &budget(3, 0, 0));
        assert_eq!(ranges(&got), [(1, 2, Some("f")), (3, 3, None)]);
    }
}
