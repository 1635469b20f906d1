//! The code-aware token stream behind lexical search.
//!
//! Code does not tokenise like prose: `getUserName`, `get_user_name` and `GetUserName` should all be
//! found by `user name`, and by the whole identifier. So every identifier (a run of letters, digits
//! and `_`) yields itself, lowercased, plus its *parts*: split at `_`, at lower→upper case changes
//! (`getUser` → `get` `user`), at the end of an upper-case run before a capitalised word
//! (`HTTPClient` → `http` `client`) and between letters and digits (`utf8` → `utf` `8`). Parts
//! share the identifier's position. Tokens shorter than two characters (except digits) and longer
//! than [`MAX_TOKEN_CHARS`] are dropped.
//!
//! A chunk's stream is stored as a tsvector: the path and the symbol path with weight `A`, the text
//! with the default weight `D`, so `ts_rank` prefers chunks whose file or symbol names the query.
//! Queries go through the same tokeniser ([`tsquery`]): all words must match, each as the whole
//! identifier or, ranked below those, as all of its parts. Below both, chunks holding only some of
//! the words are ranked by BM25 over the [`ranking_terms`] (stop words left out).

use std::collections::BTreeMap;

/// Longest token kept, in characters.
pub const MAX_TOKEN_CHARS: usize = 64;
/// Positions recorded per token (Postgres keeps at most 256).
const MAX_POSITIONS: usize = 32;
/// Highest tsvector position.
const MAX_POSITION: u32 = 16_383;

/// The tokens of one identifier: the whole (lowercased) first, then its parts when there is more
/// than one.
pub fn identifier_tokens(identifier: &str) -> Vec<String> {
    let whole = identifier.trim_matches('_').to_lowercase();
    let mut tokens = Vec::new();
    if keep(&whole) {
        tokens.push(whole.clone());
    }
    let parts = split_identifier(identifier);
    if parts.len() > 1 {
        for part in parts {
            let part = part.to_lowercase();
            if keep(&part) && !tokens.contains(&part) {
                tokens.push(part);
            }
        }
    }
    tokens
}

/// The identifiers of `text`, in order.
pub fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

fn keep(token: &str) -> bool {
    let chars = token.chars().count();
    (chars >= 2 || token.chars().all(|c| c.is_ascii_digit()) && chars == 1)
        && chars <= MAX_TOKEN_CHARS
        && !token.chars().all(|c| c == '_')
}

/// Splits an identifier at `_`, case changes and letter/digit boundaries.
fn split_identifier(identifier: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    for piece in identifier.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<(usize, char)> = piece.char_indices().collect();
        let mut start = 0;
        for i in 1..chars.len() {
            let (at, c) = chars[i];
            let prev = chars[i - 1].1;
            let next = chars.get(i + 1).map(|&(_, n)| n);
            let boundary = (prev.is_lowercase() && c.is_uppercase())
                || (prev.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase))
                || (prev.is_alphabetic() && c.is_ascii_digit())
                || (prev.is_ascii_digit() && c.is_alphabetic());
            if boundary {
                parts.push(&piece[start..at]);
                start = at;
            }
        }
        parts.push(&piece[start..]);
    }
    parts
}

/// The tsvector (in Postgres' text form) of a chunk: `path` and `symbol_path` weighted `A`, `text`
/// with the default weight.
pub fn tsvector(path: &str, symbol_path: Option<&str>, text: &str) -> String {
    let mut lexemes: BTreeMap<String, Vec<(u32, bool)>> = BTreeMap::new();
    let mut position = 1u32;
    let mut add = |words: &mut dyn Iterator<Item = &str>, heading: bool| {
        for word in words {
            for token in identifier_tokens(word) {
                let positions = lexemes.entry(token).or_default();
                if positions.len() < MAX_POSITIONS {
                    positions.push((position, heading));
                }
            }
            position = (position + 1).min(MAX_POSITION);
        }
    };
    add(&mut identifiers(path), true);
    if let Some(symbol_path) = symbol_path {
        add(&mut identifiers(symbol_path), true);
    }
    add(&mut identifiers(text), false);
    let mut out = String::with_capacity(lexemes.len() * 12);
    for (lexeme, positions) in lexemes {
        if !out.is_empty() {
            out.push(' ');
        }
        push_quoted(&mut out, &lexeme);
        out.push(':');
        for (i, (position, heading)) in positions.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&position.to_string());
            if *heading {
                out.push('A');
            }
        }
    }
    out
}

/// The `tsquery`s (text form) of a query's words: chunks that hold every word, ranked in two tiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenQuery {
    /// Every word as the whole identifier: `ActiveJobServer` finds `activejobserver` only.
    pub whole: String,
    /// Every word as the whole identifier or all of its parts (`activejobserver` or `active`,
    /// `job` and `server` anywhere in the chunk); `None` when no word has parts (then it is
    /// `whole`). Its extra matches rank below the whole-identifier ones.
    pub parts: Option<String>,
}

/// The [`TokenQuery`] of `words`; `None` when no word has a token.
pub fn tsquery<'a>(words: impl IntoIterator<Item = &'a str>) -> Option<TokenQuery> {
    let (mut whole_clauses, mut parts_clauses) = (Vec::new(), Vec::new());
    let mut any_parts = false;
    for word in words {
        for identifier in identifiers(word) {
            let tokens = identifier_tokens(identifier);
            let Some((whole, parts)) = tokens.split_first() else {
                continue;
            };
            let mut clause = String::new();
            push_quoted(&mut clause, whole);
            whole_clauses.push(clause.clone());
            if parts.len() > 1 {
                any_parts = true;
                clause = format!("( {clause} | ( ");
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        clause.push_str(" & ");
                    }
                    push_quoted(&mut clause, part);
                }
                clause.push_str(" ) )");
            }
            parts_clauses.push(clause);
        }
    }
    (!whole_clauses.is_empty()).then(|| TokenQuery {
        whole: whole_clauses.join(" & "),
        parts: any_parts.then(|| parts_clauses.join(" & ")),
    })
}

/// English words that say nothing about code: a question's grammar ("where is the … when …").
/// Never ranking terms; still matched when a query is all of them.
const STOPWORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "been", "before", "being", "between", "both", "but", "by", "can", "could", "did", "do", "does",
    "doing", "done", "down", "during", "each", "else", "ever", "every", "few", "for", "from", "further",
    "get", "gets", "got", "had", "has", "have", "having", "he", "her", "here", "him", "his", "how",
    "however", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "let", "lets", "like", "made",
    "make", "makes", "many", "may", "me", "might", "more", "most", "much", "must", "my", "no", "nor", "not",
    "now", "of", "off", "on", "once", "one", "only", "or", "other", "our", "out", "over", "own", "part",
    "same", "say", "says", "she", "should", "so", "some", "such", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "thing", "things", "this", "those", "through", "to", "too", "under",
    "until", "up", "upon", "us", "very", "was", "way", "we", "were", "what", "whatever", "when", "where",
    "whether", "which", "while", "who", "whom", "whose", "why", "will", "with", "within", "without", "would",
    "you", "your",
];

/// Whether `token` (lowercase) is an English stop word.
pub fn is_stopword(token: &str) -> bool {
    STOPWORDS.binary_search(&token).is_ok()
}

/// The distinct tokens of `words` to rank by (each identifier whole and its parts), stop words
/// left out, in order of first appearance.
pub fn ranking_terms<'a>(words: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in words {
        for identifier in identifiers(word) {
            for token in identifier_tokens(identifier) {
                if !is_stopword(&token) && !terms.contains(&token) {
                    terms.push(token);
                }
            }
        }
    }
    terms
}

/// Suffixes that inflect an English word (`release` → `releases`, `released`, `releasing`).
const SUFFIXES: &[&str] = &["s", "es", "ed", "d", "ing", "er", "ers"];

/// Other forms `token` may take in code and prose, for a ranking term to match whichever the code
/// uses: a question asks for "rejected versions" where the code says `reject` and `versions`.
/// Candidates only (`parsed` gives `parse` and `pars`); those that occur nowhere weigh nothing.
/// Words of letters only, of four letters or more; the token itself is not included.
pub fn inflections(token: &str) -> Vec<String> {
    if token.len() < 4 || !token.bytes().all(|b| b.is_ascii_lowercase()) {
        return Vec::new();
    }
    let mut stems = vec![token.to_string()];
    if let Some(stem) = token.strip_suffix("ies") {
        stems.push(format!("{stem}y"));
    }
    for suffix in SUFFIXES {
        if let Some(stem) = token.strip_suffix(suffix).filter(|s| s.len() >= 3) {
            stems.push(stem.to_string());
            // `stopped` → `stop`, `parsing` → `parse`.
            let bytes = stem.as_bytes();
            if bytes.len() >= 4 && bytes[bytes.len() - 1] == bytes[bytes.len() - 2] {
                stems.push(stem[..stem.len() - 1].to_string());
            }
            if *suffix == "ing" || *suffix == "ed" || *suffix == "er" {
                stems.push(format!("{stem}e"));
            }
        }
    }
    let mut forms: Vec<String> = Vec::new();
    for stem in &stems {
        let mut add = |form: String| {
            if form != token && !forms.contains(&form) {
                forms.push(form);
            }
        };
        add(stem.clone());
        for suffix in SUFFIXES {
            add(format!("{stem}{suffix}"));
        }
        if let Some(bare) = stem.strip_suffix('e') {
            add(format!("{bare}ing"));
        }
    }
    forms
}

/// A `tsquery` (text form) matching any of `lexemes` anywhere, and one matching any of them with
/// weight `A` (in the path or symbol path) only.
pub fn term_tsqueries<S: AsRef<str>>(lexemes: &[S]) -> (String, String) {
    let (mut anywhere, mut heading) = (String::new(), String::new());
    for (i, lexeme) in lexemes.iter().enumerate() {
        if i > 0 {
            anywhere.push_str(" | ");
            heading.push_str(" | ");
        }
        push_quoted(&mut anywhere, lexeme.as_ref());
        push_quoted(&mut heading, lexeme.as_ref());
        heading.push_str(":A");
    }
    if lexemes.len() > 1 {
        (format!("( {anywhere} )"), format!("( {heading} )"))
    } else {
        (anywhere, heading)
    }
}

/// Appends `lexeme` single-quoted, with quotes and backslashes escaped.
fn push_quoted(out: &mut String, lexeme: &str) {
    out.push('\'');
    for c in lexeme.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_split_at_case_underscores_and_digits() {
        assert_eq!(
            identifier_tokens("getUserName"),
            ["getusername", "get", "user", "name"]
        );
        assert_eq!(
            identifier_tokens("backoff_send"),
            ["backoff_send", "backoff", "send"]
        );
        assert_eq!(identifier_tokens("HTTPClient"), ["httpclient", "http", "client"]);
        assert_eq!(
            identifier_tokens("utf8_decode"),
            ["utf8_decode", "utf", "8", "decode"]
        );
        assert_eq!(identifier_tokens("__init__"), ["init"]);
        assert_eq!(identifier_tokens("x"), Vec::<String>::new());
        assert_eq!(identifier_tokens("Größe"), ["größe"]);
    }

    #[test]
    fn tsvector_weights_path_and_symbol_and_merges_positions() {
        let v = tsvector("src/net.rs", Some("Client::send"), "fn send() { send_all() }");
        assert_eq!(
            v,
            "'all':8 'client':4A 'fn':6 'net':2A 'rs':3A 'send':5A,7,8 'send_all':8 'src':1A"
        );
    }

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        assert!(
            STOPWORDS.windows(2).all(|w| w[0] < w[1]),
            "STOPWORDS must stay sorted and distinct"
        );
        assert!(is_stopword("where") && is_stopword("the") && !is_stopword("release"));
    }

    #[test]
    fn ranking_terms_split_identifiers_and_skip_stopwords() {
        assert_eq!(
            ranking_terms([
                "Where",
                "is",
                "the",
                "pre-release",
                "of",
                "matches_tilde",
                "release?"
            ]),
            ["pre", "release", "matches_tilde", "matches", "tilde"]
        );
        assert_eq!(
            term_tsqueries(&["it's"]),
            ("'it''s'".to_string(), "'it''s':A".to_string())
        );
        assert_eq!(
            term_tsqueries(&["reject", "rejected"]),
            (
                "( 'reject' | 'rejected' )".to_string(),
                "( 'reject':A | 'rejected':A )".to_string()
            )
        );
    }

    #[test]
    fn inflections_reach_the_forms_code_uses() {
        let forms = |t: &str| inflections(t);
        for (token, form) in [
            ("rejected", "reject"),
            ("releases", "release"),
            ("release", "releases"),
            ("parsing", "parse"),
            ("parsed", "parse"),
            ("stopped", "stop"),
            ("entries", "entry"),
            ("match", "matches"),
            ("matcher", "match"),
            ("ordered", "order"),
        ] {
            assert!(
                forms(token).contains(&form.to_string()),
                "{token} → {form}: {:?}",
                forms(token)
            );
        }
        assert!(
            !forms("release").contains(&"release".to_string()),
            "the token itself is not a variant"
        );
        assert!(forms("id").is_empty() && forms("utf8").is_empty() && forms("größe").is_empty());
    }

    #[test]
    fn quotes_in_lexemes_are_escaped() {
        let mut out = String::new();
        push_quoted(&mut out, r"it's\");
        assert_eq!(out, r"'it''s\\'");
    }

    #[test]
    fn tsquery_matches_whole_identifiers_then_all_parts() {
        assert_eq!(
            tsquery(["backoffSend", "retry"]),
            Some(TokenQuery {
                whole: "'backoffsend' & 'retry'".into(),
                parts: Some("( 'backoffsend' | ( 'backoff' & 'send' ) ) & 'retry'".into()),
            })
        );
        assert_eq!(tsquery(["::", "x"]), None);
        assert_eq!(
            tsquery(["a.b_c"]),
            Some(TokenQuery {
                whole: "'b_c'".into(),
                parts: None
            }),
            "`b_c` has one part of two characters or more: nothing looser to search"
        );
    }
}
