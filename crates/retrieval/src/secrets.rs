//! Secret detection and redaction.
//!
//! Every analysed file goes through [`redact`] before any of its text is stored, chunked or embedded.
//! A secret's value is replaced by `[REDACTED:<rule>]`; everything else — and in particular every
//! line break — is kept, so line numbers, line counts and the line structure of the text never
//! change (a private key block keeps its line count: each of its lines becomes one marker). The
//! [`Finding`]s say which rule matched on which line, never the value.
//!
//! # Rules
//!
//! | Rule id | What it matches | Example shape (not a real secret) |
//! |---|---|---|
//! | `private-key` | a PEM private key block, `-----BEGIN … PRIVATE KEY-----` up to its `-----END … PRIVATE KEY-----` (within 64 KiB), or, without an END line, the base64 lines that follow the BEGIN line | `-----BEGIN RSA PRIVATE KEY-----` / `MIIEow…` / `-----END RSA PRIVATE KEY-----` |
//! | `aws-access-key-id` | an AWS access key id: `AKIA`, `ASIA`, `ABIA` or `ACCA` and 16 upper-case letters or digits | `AKIA` + `IOSFODNN7EXAMPLE` |
//! | `aws-secret-access-key` | the 40-character value assigned to a key named like `aws_secret_access_key` / `AWS_SECRET_KEY` / `awsSecretAccessKey` | `aws_secret_access_key = wJalr…(40 chars)` |
//! | `github-token` | GitHub tokens: `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` and 36 letters/digits; fine-grained `github_pat_` and 22+ more | `ghp_` + 36 × `[A-Za-z0-9]` |
//! | `gitlab-token` | GitLab personal/project tokens: `glpat-` and 20+ of `[A-Za-z0-9_-]` | `glpat-` + 20 chars |
//! | `slack-token` | Slack tokens: `xoxa-`, `xoxb-`, `xoxp-`, `xoxr-`, `xoxs-` and 10+ of `[A-Za-z0-9-]` | `xoxb-1234-5678-abcd…` |
//! | `stripe-key` | Stripe live secret and restricted keys: `sk_live_` / `rk_live_` and 24+ letters/digits | `sk_live_` + 24 chars |
//! | `google-api-key` | Google API keys: `AIza` and 35 of `[A-Za-z0-9_-]` | `AIza` + 35 chars |
//! | `openai-key` | OpenAI-style keys: `sk-` (optionally `sk-proj-`, `sk-svcacct-`, `sk-admin-`) and 32+ of `[A-Za-z0-9_-]` holding a letter and a digit (also catches `sk-ant-…`) | `sk-proj-` + 48 chars |
//! | `jwt` | JSON Web Tokens: three base64url segments, the first two starting `eyJ` (a JSON object) | `eyJhbGci….eyJzdWIi….SflKxw…` |
//! | `url-password` | the password of `scheme://user:password@host`, unless a placeholder | `postgres://app:` + password + `@db:5432/app` |
//! | `generic-secret` | a value of 16+ characters assigned (`=`, `:`, `:=`, `=>`; quoted, or unquoted up to the end of the token) to a name containing `password`, `passwd`, `pwd`, `secret`, `token`, `api_key`/`apikey`/`api-key`, `access_key`, `private_key`, `client_secret`, `credential(s)`, when the value holds a letter and a digit, is not a placeholder, and its Shannon entropy is at least [`ENTROPY_THRESHOLD_HEX`] bits per character for hexadecimal values or [`ENTROPY_THRESHOLD`] otherwise | `DB_PASSWORD="Tr0ub4dor&3xyzzy"` |
//!
//! Placeholders are never reported: values holding `${`, `{{`, `{`, `<`, `%`, `$`, or made of one
//! repeated character (`xxxx…`, `****…`), or containing a word like `changeme`, `example`,
//! `placeholder`, `your_`, `dummy`, `redacted`, `xxxx` (case-insensitive). Ordinary code such as
//! `token = get_token()` or `password = request.form["password"]` does not match: unquoted values
//! must be a single token of key-like characters followed by the end of the line, a space, `,` or
//! `;`.
//!
//! The generic rule trades recall for precision: an all-letter passphrase (`correcthorsebattery…`)
//! has no digit and is not reported; the specific rules above report their shapes whatever the
//! entropy.
//!
//! # Cost
//!
//! One pass of a [`regex::RegexSet`] over the text tells which rules can match at all (for most
//! files: none, and [`redact`] returns the text borrowed). Only the rules that matched run again to
//! find their spans. All repetitions are bounded and word boundaries are ASCII, so the lazy DFA does
//! the work and the time is linear in the text's length.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};

/// Minimum Shannon entropy (bits per character) of a non-hexadecimal value for the
/// `generic-secret` rule. A random 16-character base62 string scores about 3.7, a snake_case
/// identifier of ordinary words about 3.3.
pub const ENTROPY_THRESHOLD: f64 = 3.5;

/// Minimum Shannon entropy (bits per character) of a hexadecimal value (at most 4 for any hex
/// string) for the `generic-secret` rule.
pub const ENTROPY_THRESHOLD_HEX: f64 = 3.0;

/// Longest distance, in bytes, searched for the END line of a PEM private key block.
const PEM_MAX_BLOCK: usize = 64 * 1024;

/// Every rule id, in the order of precedence when two matches start at the same place.
pub const RULES: [&str; 12] = [
    "private-key",
    "aws-access-key-id",
    "aws-secret-access-key",
    "github-token",
    "gitlab-token",
    "slack-token",
    "stripe-key",
    "google-api-key",
    "openai-key",
    "jwt",
    "url-password",
    "generic-secret",
];

/// A secret found in a text: which rule matched, on which line. Never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Finding {
    /// The rule id (one of [`RULES`]).
    pub rule: &'static str,
    /// 1-based line of the start of the secret.
    pub line: u32,
}

/// A text with its secrets replaced by `[REDACTED:<rule>]` markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted<'a> {
    /// The text, borrowed when nothing was found. Same line count and line breaks as the input.
    pub text: Cow<'a, str>,
    /// What was found, in text order.
    pub findings: Vec<Finding>,
}

impl Redacted<'_> {
    /// Whether nothing was found (the text is then the input, unchanged).
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// How a rule's match is checked and which part of it is the secret.
struct Rule {
    id: &'static str,
    /// The pattern. The secret is capture group 1 (or 2, for alternatives) when it has groups,
    /// the whole match otherwise.
    pattern: &'static str,
    /// Extra check on the secret value.
    check: fn(&str) -> bool,
}

fn always(_: &str) -> bool {
    true
}

/// Index of the `private-key` rule in [`RULE_TABLE`]: its BEGIN line is the pattern, the block is
/// delimited in code.
const PEM_RULE: usize = 0;

const RULE_TABLE: [Rule; 12] = [
    Rule {
        id: "private-key",
        pattern: r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----",
        check: always,
    },
    Rule {
        id: "aws-access-key-id",
        pattern: r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?-u:\b)",
        check: always,
    },
    Rule {
        id: "aws-secret-access-key",
        pattern: r#"(?i)aws[_\-.]?secret[_\-.]?(?:access[_\-.]?)?key["']?\s{0,5}(?::=|=>|=|:)\s{0,5}["']?([A-Za-z0-9/+=]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        check: not_placeholder,
    },
    Rule {
        id: "github-token",
        pattern: r"(?-u:\b)(?:(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,255})(?-u:\b)",
        check: always,
    },
    Rule {
        id: "gitlab-token",
        pattern: r"(?-u:\b)glpat-[A-Za-z0-9_\-]{20,64}",
        check: always,
    },
    Rule {
        id: "slack-token",
        pattern: r"(?-u:\b)xox[abprs]-[A-Za-z0-9\-]{10,255}",
        check: always,
    },
    Rule {
        id: "stripe-key",
        pattern: r"(?-u:\b)(?:sk|rk)_live_[A-Za-z0-9]{24,255}",
        check: always,
    },
    Rule {
        id: "google-api-key",
        pattern: r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}",
        check: always,
    },
    Rule {
        id: "openai-key",
        pattern: r"(?-u:\b)sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{32,255}",
        check: has_letter_and_digit,
    },
    Rule {
        id: "jwt",
        pattern: r"(?-u:\b)eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        check: always,
    },
    Rule {
        id: "url-password",
        pattern: r#"(?-u:\b)[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s:/?#@"'<>\[\]]{1,128}:([^\s/?#@"'<>\[\]]{1,256})@[A-Za-z0-9.\-\[]"#,
        check: not_placeholder,
    },
    Rule {
        id: "generic-secret",
        pattern: r#"(?i)(?:password|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|client[_\-]?secret|credentials?)[A-Za-z0-9_\-]{0,24}["']?\s{0,5}(?::=|=>|=|:)\s{0,5}(?:["'`]([^"'`\s]{16,})["'`]|([A-Za-z0-9+/=_\-.~!@#%^&*]{16,})(?:[\s,;]|$))"#,
        check: generic_value,
    },
];

struct Compiled {
    set: RegexSet,
    rules: Vec<Regex>,
    pem_end: Regex,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    // The patterns are constants checked by the unit tests; they always compile.
    let set =
        RegexSet::new(RULE_TABLE.iter().map(|rule| rule.pattern)).expect("secret rule patterns compile");
    let rules = RULE_TABLE
        .iter()
        .map(|rule| Regex::new(rule.pattern).expect("secret rule pattern compiles"))
        .collect();
    let pem_end =
        Regex::new(r"-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----").expect("PEM END pattern compiles");
    Compiled { set, rules, pem_end }
});

/// A secret's byte range in the text and the rule that found it.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    rule: usize,
}

/// Finds the secrets in `text` and replaces each value by `[REDACTED:<rule>]`, keeping every line
/// break (see the [module documentation](self) for the rules).
///
/// Never panics; linear in the length of `text`. When nothing is found, the text is returned
/// borrowed.
pub fn redact(text: &str) -> Redacted<'_> {
    let compiled = &*COMPILED;
    let matched = compiled.set.matches(text);
    if !matched.matched_any() {
        return Redacted {
            text: Cow::Borrowed(text),
            findings: Vec::new(),
        };
    }
    let mut spans = Vec::new();
    for index in matched.iter() {
        if index == PEM_RULE {
            pem_spans(text, &compiled.rules[index], &compiled.pem_end, &mut spans);
        } else {
            rule_spans(text, index, &compiled.rules[index], &mut spans);
        }
    }
    if spans.is_empty() {
        return Redacted {
            text: Cow::Borrowed(text),
            findings: Vec::new(),
        };
    }
    spans.sort_by_key(|span| (span.start, span.rule));

    let mut out = String::with_capacity(text.len());
    let mut findings = Vec::new();
    let mut copied = 0; // bytes of `text` already handled
    let mut line: u32 = 1;
    for span in spans {
        if span.start < copied {
            continue; // overlaps an earlier (or more specific) secret
        }
        let before = &text[copied..span.start];
        line = line.saturating_add(count_newlines(before));
        out.push_str(before);
        let rule = RULE_TABLE[span.rule].id;
        findings.push(Finding { rule, line });
        let secret = &text[span.start..span.end];
        push_marker_per_line(&mut out, secret, rule);
        line = line.saturating_add(count_newlines(secret));
        copied = span.end;
    }
    out.push_str(&text[copied..]);
    Redacted {
        text: Cow::Owned(out),
        findings,
    }
}

fn count_newlines(text: &str) -> u32 {
    u32::try_from(text.bytes().filter(|&b| b == b'\n').count()).unwrap_or(u32::MAX)
}

/// Replaces every non-empty line segment of `secret` by one marker, keeping `\n` and a `\r` before
/// it.
fn push_marker_per_line(out: &mut String, secret: &str, rule: &str) {
    let mut first = true;
    for segment in secret.split('\n') {
        if !first {
            out.push('\n');
        }
        first = false;
        let (body, cr) = match segment.strip_suffix('\r') {
            Some(body) => (body, "\r"),
            None => (segment, ""),
        };
        if !body.is_empty() {
            out.push_str("[REDACTED:");
            out.push_str(rule);
            out.push(']');
        }
        out.push_str(cr);
    }
}

/// The secret spans of an ordinary rule: capture group 1 or 2 when the pattern has groups (the
/// first that took part in the match), the whole match otherwise; kept when `check` accepts.
fn rule_spans(text: &str, index: usize, regex: &Regex, spans: &mut Vec<Span>) {
    let check = RULE_TABLE[index].check;
    if regex.captures_len() == 1 {
        for found in regex.find_iter(text) {
            if check(found.as_str()) {
                spans.push(Span {
                    start: found.start(),
                    end: found.end(),
                    rule: index,
                });
            }
        }
        return;
    }
    for captures in regex.captures_iter(text) {
        let value = captures.get(1).or_else(|| captures.get(2));
        if let Some(value) = value
            && check(value.as_str())
        {
            spans.push(Span {
                start: value.start(),
                end: value.end(),
                rule: index,
            });
        }
    }
}

/// PEM private key blocks: each BEGIN line up to the first END line after it (within
/// [`PEM_MAX_BLOCK`] bytes and before the next BEGIN); without one, the BEGIN line and the
/// base64/header lines that follow it. Linear: the END lines are found in one pass.
fn pem_spans(text: &str, begin: &Regex, end: &Regex, spans: &mut Vec<Span>) {
    let begins: Vec<(usize, usize)> = begin.find_iter(text).map(|m| (m.start(), m.end())).collect();
    let ends: Vec<usize> = end.find_iter(text).map(|m| m.end()).collect();
    let mut next_end = 0; // index into `ends`
    for (i, &(start, begin_end)) in begins.iter().enumerate() {
        while next_end < ends.len() && ends[next_end] <= begin_end {
            next_end += 1;
        }
        let next_begin = begins.get(i + 1).map_or(text.len(), |&(s, _)| s);
        let block_end = ends
            .get(next_end)
            .copied()
            .filter(|&e| e <= next_begin && e - start <= PEM_MAX_BLOCK)
            .unwrap_or_else(|| base64_run_end(&text[..next_begin], begin_end));
        spans.push(Span {
            start,
            end: block_end,
            rule: PEM_RULE,
        });
    }
}

/// The end of the run of PEM body lines (base64 lines, `Proc-Type:`/`DEK-Info:` headers) that
/// follow the BEGIN line ending at `from`; `text` ends where the search must stop. The rest of the
/// BEGIN line itself is kept, and trailing line breaks are not included.
fn base64_run_end(text: &str, from: usize) -> usize {
    let mut end = from;
    let mut offset = from;
    for (n, line) in text[from..].split_inclusive('\n').enumerate() {
        let content = line.trim_end_matches(['\n', '\r']);
        if n > 0 {
            let body = content.trim();
            let is_body = !body.is_empty()
                && (body
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
                    || body.starts_with("Proc-Type:")
                    || body.starts_with("DEK-Info:"));
            if !is_body {
                break;
            }
            end = offset + content.len();
        }
        offset += line.len();
    }
    end
}

/// Whether `value` holds both an ASCII letter and an ASCII digit.
fn has_letter_and_digit(value: &str) -> bool {
    value.bytes().any(|b| b.is_ascii_alphabetic()) && value.bytes().any(|b| b.is_ascii_digit())
}

/// Words that mark a value as an example or a template, not a secret.
const PLACEHOLDER_WORDS: [&str; 14] = [
    "changeme",
    "change_me",
    "change-me",
    "example",
    "placeholder",
    "your_",
    "your-",
    "yourpassword",
    "dummy",
    "redacted",
    "xxxx",
    "replace_me",
    "replaceme",
    "insert_",
];

/// Whole values that are placeholders.
const PLACEHOLDER_VALUES: [&str; 8] = [
    "password", "passwd", "pass", "pwd", "secret", "token", "changeme", "none",
];

/// Whether `value` is a real-looking value rather than a placeholder or template.
fn not_placeholder(value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    if value.contains(['$', '{', '<', '%']) {
        return false;
    }
    let mut bytes = value.bytes();
    if let Some(first) = bytes.next()
        && bytes.all(|b| b == first)
    {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDER_VALUES.contains(&lower.as_str()) {
        return false;
    }
    !PLACEHOLDER_WORDS.iter().any(|word| lower.contains(word))
}

/// The `generic-secret` check: not a placeholder, a letter and a digit, entropy above threshold.
fn generic_value(value: &str) -> bool {
    if !not_placeholder(value) || !has_letter_and_digit(value) {
        return false;
    }
    let threshold = if value.bytes().all(|b| b.is_ascii_hexdigit()) {
        ENTROPY_THRESHOLD_HEX
    } else {
        ENTROPY_THRESHOLD
    };
    shannon_entropy(value) >= threshold
}

/// Shannon entropy of the bytes of `value`, in bits per byte.
pub fn shannon_entropy(value: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in value.bytes() {
        counts[usize::from(b)] += 1;
    }
    let len = value.len() as f64;
    if len == 0.0 {
        return 0.0;
    }
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds test secrets from parts so this file holds no secret-shaped literal.
    fn cat(parts: &[&str]) -> String {
        parts.concat()
    }

    fn rules_of(text: &str) -> Vec<&'static str> {
        redact(text).findings.iter().map(|f| f.rule).collect()
    }

    fn assert_redacted(text: &str, rule: &str, secret: &str) {
        let redacted = redact(text);
        assert_eq!(
            redacted.findings.iter().map(|f| f.rule).collect::<Vec<_>>(),
            vec![rule],
            "in {text:?}"
        );
        assert!(
            !redacted.text.contains(secret),
            "secret left in {:?}",
            redacted.text
        );
        assert!(redacted.text.contains(&format!("[REDACTED:{rule}]")));
        assert_eq!(redacted.text.lines().count(), text.lines().count());
    }

    fn assert_clean(text: &str) {
        let redacted = redact(text);
        assert!(
            redacted.is_clean(),
            "unexpected findings {:?} in {text:?}",
            redacted.findings
        );
        assert!(matches!(redacted.text, Cow::Borrowed(_)));
    }

    #[test]
    fn every_rule_pattern_compiles_and_ids_match_the_list() {
        let _ = &*COMPILED;
        assert_eq!(RULE_TABLE.map(|r| r.id), RULES);
    }

    #[test]
    fn ordinary_code_is_returned_borrowed_and_unchanged() {
        assert_clean("fn main() {\n    let token = get_token();\n    println!(\"{token}\");\n}\n");
        assert_clean("password = request.form[\"password\"]\n");
        assert_clean("tokens = tokenize(source_text_with_many_words)\n");
        assert_clean("let secret_key_path = config.secret_key_path.clone();\n");
        assert_clean("");
    }

    #[test]
    fn a_pem_private_key_block_becomes_one_marker_per_line() {
        let key = cat(&[
            "-----BEGIN RSA ",
            "PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq98\nAbCdEf0123456789+/==\n",
            "-----END RSA ",
            "PRIVATE KEY-----",
        ]);
        let text = format!("before\nconst KEY: &str = \"\n{key}\n\";\nafter\n");
        let redacted = redact(&text);
        assert_eq!(
            redacted.findings,
            vec![Finding {
                rule: "private-key",
                line: 3
            }]
        );
        assert_eq!(
            redacted.text,
            "before\nconst KEY: &str = \"\n[REDACTED:private-key]\n[REDACTED:private-key]\n\
             [REDACTED:private-key]\n[REDACTED:private-key]\n\";\nafter\n"
        );
    }

    #[test]
    fn a_pem_block_in_a_string_literal_with_escaped_newlines_is_redacted() {
        let text = cat(&[
            "key = \"-----BEGIN ",
            "PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0\\n-----END ",
            "PRIVATE KEY-----\"\nnext_line()\n",
        ]);
        let redacted = redact(&text);
        assert_eq!(redacted.text, "key = \"[REDACTED:private-key]\"\nnext_line()\n");
    }

    #[test]
    fn a_pem_block_without_end_redacts_its_base64_lines_only() {
        let text = cat(&[
            "-----BEGIN OPENSSH ",
            "PRIVATE KEY-----\r\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\r\nAAAAAAAB\r\n\r\nfn after() {}\r\n",
        ]);
        let redacted = redact(&text);
        assert_eq!(
            redacted.text,
            "[REDACTED:private-key]\r\n[REDACTED:private-key]\r\n[REDACTED:private-key]\r\n\r\nfn after() {}\r\n"
        );
        // A BEGIN marker alone in code (a PEM parser) only loses its own line.
        let code = cat(&[
            "const BEGIN: &str = \"-----BEGIN ",
            "PRIVATE KEY-----\";\nfn parse() {}\n",
        ]);
        let redacted = redact(&code);
        assert_eq!(
            redacted.text,
            "const BEGIN: &str = \"[REDACTED:private-key]\";\nfn parse() {}\n"
        );
        assert_clean(
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n",
        );
        assert_clean("-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0\n-----END CERTIFICATE-----\n");
    }

    #[test]
    fn aws_access_key_ids_are_redacted() {
        let id = cat(&["AKIA", "IOSFODNN7EXAMPLE"]);
        assert_redacted(&format!("aws_access_key_id = {id}\n"), "aws-access-key-id", &id);
        let id = cat(&["ASIA", "Y34FZKBOKMUTVV7A"]);
        assert_redacted(&format!("\"{id}\""), "aws-access-key-id", &id);
        assert_clean("AKIASHORT1234\nXAKIAIOSFODNN7EXAMPL1 is not one\n");
    }

    #[test]
    fn aws_secret_keys_in_assignments_are_redacted() {
        let secret = cat(&["wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYEXAMPLEKEY"]);
        assert_eq!(secret.len(), 40);
        // The AWS documentation's own example key is a placeholder ("EXAMPLE").
        assert_clean(&format!("aws_secret_access_key = {secret}\n"));
        let secret = cat(&["Qx7Zp1drTJvcXLB89wLaQ", "yq/R2mrT1V+3kt0nAb4"]);
        assert_eq!(secret.len(), 40);
        assert_redacted(
            &format!("AWS_SECRET_ACCESS_KEY=\"{secret}\"\n"),
            "aws-secret-access-key",
            &secret,
        );
        assert_redacted(
            &format!("awsSecretAccessKey: {secret}\n"),
            "aws-secret-access-key",
            &secret,
        );
        assert_clean("aws_secret_access_key = os.environ[\"AWS_SECRET_ACCESS_KEY\"]\n");
    }

    #[test]
    fn github_tokens_are_redacted() {
        for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
            let token = cat(&[prefix, "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"]);
            assert_redacted(&format!("GH={token}"), "github-token", &token);
        }
        let pat = cat(&["github_pat_", "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"]);
        assert_redacted(&format!("token: {pat}\n"), "github-token", &pat);
        assert_clean("ghp_short and ghp_ alone\n");
    }

    #[test]
    fn gitlab_slack_stripe_and_google_keys_are_redacted() {
        let gitlab = cat(&["glpat-", "xR4nd0mT0k3nV4lu3zzQ"]);
        assert_redacted(&format!("{gitlab}\n"), "gitlab-token", &gitlab);
        let slack = cat(&["xoxb-", "123456789012-1234567890123-AbCdEfGh"]);
        assert_redacted(&format!("slack = '{slack}'"), "slack-token", &slack);
        let stripe = cat(&["sk_live_", "4eC39HqLyjWDarjtT1zdp7dc"]);
        assert_redacted(&format!("Stripe.key({stripe})"), "stripe-key", &stripe);
        let restricted = cat(&["rk_live_", "4eC39HqLyjWDarjtT1zdp7dcXY"]);
        assert_redacted(&restricted, "stripe-key", &restricted);
        let google = cat(&["AIza", "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"]);
        assert_redacted(&format!("key={google}&q=x"), "google-api-key", &google);
        assert_clean("sk_test_4eC39HqLyjWDarjtT1zdp7dc is a test key\nglpat- xoxb- AIza\n");
    }

    #[test]
    fn openai_style_keys_are_redacted() {
        let key = cat(&["sk-", "proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90"]);
        assert_redacted(&format!("client = OpenAI(api_key={key})"), "openai-key", &key);
        let key = cat(&["sk-", "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa"]);
        assert_redacted(&format!("{key}\n"), "openai-key", &key);
        // A long dash-separated word is no key.
        assert_clean("--sk-the-quick-brown-fox-jumps-over-the-lazy-dog-again\n");
    }

    #[test]
    fn jwts_are_redacted() {
        let jwt = cat(&[
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
            ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ",
            ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        ]);
        assert_redacted(&format!("Authorization: Bearer {jwt}\n"), "jwt", &jwt);
        assert_clean("eyJhbGciOiJIUzI1NiJ9 alone is a header\n");
    }

    #[test]
    fn passwords_in_urls_are_redacted_but_placeholders_are_not() {
        let text = cat(&[
            "DATABASE_URL=postgres://app:",
            "s3cr3tPw",
            "@db.internal:5432/app\n",
        ]);
        let redacted = redact(&text);
        assert_eq!(rules_of(&text), vec!["url-password"]);
        assert_eq!(
            redacted.text,
            "DATABASE_URL=postgres://app:[REDACTED:url-password]@db.internal:5432/app\n"
        );
        assert_clean("postgres://postgres@127.0.0.1:5432/reposage\n");
        assert_clean("https://user:password@example.com/\n");
        assert_clean("url = f\"https://{user}:{password}@{host}/\"\n");
        assert_clean("redis://:${REDIS_PASSWORD}@redis:6379\n");
        assert_clean("amqp://guest:<password>@rabbit\n");
        assert_clean("https://example.com:8443/path@v2\n");
    }

    #[test]
    fn high_entropy_assignments_are_redacted() {
        let value = cat(&["Tr0ub4dor", "&3xyzzy"]);
        assert_redacted(&format!("DB_PASSWORD=\"{value}\"\n"), "generic-secret", &value);
        let value = cat(&["9f86d081884c7d65", "9a2feaa0c55ad015"]);
        assert_redacted(&format!("client_secret: {value}\n"), "generic-secret", &value);
        let value = cat(&["q8Zr2mXv", "L0pTn5Wc"]);
        assert_redacted(&format!("\"apiKey\": \"{value}\","), "generic-secret", &value);
        assert_redacted(&format!("auth_token := `{value}`"), "generic-secret", &value);
        assert_redacted(&format!("SECRET_KEY = {value}\n"), "generic-secret", &value);
    }

    #[test]
    fn placeholders_and_low_entropy_values_are_not_secrets() {
        assert_clean("password = \"changeme\"\n");
        assert_clean("password: \"${DB_PASSWORD_FROM_THE_ENVIRONMENT}\"\n");
        assert_clean("api_key = \"<your-api-key-goes-here>\"\n");
        assert_clean("token = \"xxxxxxxxxxxxxxxxxxxxxxxx\"\n");
        assert_clean("secret: \"{{ .Values.secretValue1 }}\"\n");
        assert_clean("API_KEY=your_api_key_here_12345\n");
        assert_clean("password = \"aaaaaaaa11111111\"\n");
        assert_clean("token_type = \"bearer_token_without_digits\"\n");
        assert_clean("private_key_file = \"/etc/ssl/private/server.key\"\n");
        assert_clean("secret = \"short1\"\n");
    }

    #[test]
    fn findings_carry_rule_and_line_never_the_value() {
        let token = cat(&["ghp_", "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"]);
        let id = cat(&["AKIA", "IOSFODNN7EXAMPLE"]);
        let text = format!("a\r\nb = \"{token}\"\r\n\r\nc {id}\r\n");
        let redacted = redact(&text);
        assert_eq!(
            redacted.findings,
            vec![
                Finding {
                    rule: "github-token",
                    line: 2
                },
                Finding {
                    rule: "aws-access-key-id",
                    line: 4
                },
            ]
        );
        let debug = format!("{redacted:?}");
        assert!(!debug.contains(&token) && !debug.contains(&id));
        assert_eq!(
            redacted.text,
            "a\r\nb = \"[REDACTED:github-token]\"\r\n\r\nc [REDACTED:aws-access-key-id]\r\n"
        );
    }

    #[test]
    fn a_specific_rule_wins_over_the_generic_one() {
        let key = cat(&["sk-", "proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90"]);
        assert_eq!(rules_of(&format!("OPENAI_API_KEY=\"{key}\"")), vec!["openai-key"]);
    }

    #[test]
    fn redacting_twice_finds_nothing_new() {
        let key = cat(&[
            "-----BEGIN EC ",
            "PRIVATE KEY-----\nMHcCAQEEIBYr\n-----END EC ",
            "PRIVATE KEY-----\n",
        ]);
        let token = cat(&["glpat-", "xR4nd0mT0k3nV4lu3zzQ"]);
        let text = format!("{key}token = \"{token}\"\n");
        let once = redact(&text).text.into_owned();
        assert!(redact(&once).is_clean(), "{once}");
    }

    #[test]
    fn hostile_text_never_panics_and_keeps_its_lines() {
        let long_line = "a=".repeat(200_000);
        let inputs = [
            "\u{feff}pässwörd = \"ünïcødé1234567890ß\"\n".to_string(),
            "токен = \"абвгдежзийклмнопр1\"\r\n".to_string(),
            long_line.clone(),
            format!("password = \"{}\"", "Z9".repeat(100_000)),
            "-----BEGIN PRIVATE KEY-----".repeat(10_000),
            cat(&["-----BEGIN ", "PRIVATE KEY-----\n"]).repeat(1000),
            "postgres://u:".repeat(5000),
            "eyJ".repeat(10_000),
            "\r\r\n\n\r".repeat(1000),
            "\u{0}\u{1}password=\u{0}".repeat(100),
            "x://a:b@".repeat(10_000),
        ];
        for input in &inputs {
            let redacted = redact(input);
            assert_eq!(
                count_newlines(&redacted.text),
                count_newlines(input),
                "line count changed for input starting {:?}",
                &input.chars().take(40).collect::<String>()
            );
        }
    }

    /// Linear time, checked by counts of work rather than the clock: the output of a 4 MB text
    /// full of secrets is about as long as the input and every secret is found once.
    #[test]
    fn a_few_megabytes_full_of_secrets_are_redacted_in_one_pass() {
        let token = cat(&["ghp_", "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"]);
        let line = format!("let x = compute(a, b); // {token}\n");
        let lines = 4_000_000 / line.len();
        let text = line.repeat(lines);
        let redacted = redact(&text);
        assert_eq!(redacted.findings.len(), lines);
        assert_eq!(
            redacted.findings.last().map(|f| f.line),
            u32::try_from(lines).ok()
        );
        assert!(!redacted.text.contains(&token));
    }

    /// Prints how redaction time grows from 1 MB to 4 MB for ordinary and adversarial texts (a
    /// ratio near 4 is linear). A measurement, not an assertion: wall-clock times are for
    /// benchmarks.
    #[test]
    fn redaction_time_grows_linearly_with_the_text() {
        let token = cat(&["ghp_", "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"]);
        let shapes = [
            (
                "ordinary code",
                "fn f(a: u32) -> u32 { let token = get(a); a + 1 }\n".to_string(),
            ),
            ("secrets", format!("let t = \"{token}\"; // x\n")),
            ("unterminated assignments", "password=\"".to_string()),
            ("long unquoted values", "token = abc123".to_string()),
            ("url-like runs", "a://b".to_string()),
            ("BEGIN markers", cat(&["-----BEGIN ", "PRIVATE KEY-----"])),
            ("jwt-like runs", "eyJhbGciOiJIUzI1NiJ9.".to_string()),
        ];
        for (name, unit) in shapes {
            let mut times = Vec::new();
            for megabytes in [1, 4] {
                let text = unit.repeat(megabytes * 1_000_000 / unit.len());
                let started = std::time::Instant::now();
                let redacted = redact(&text);
                times.push(started.elapsed());
                assert_eq!(count_newlines(&redacted.text), count_newlines(&text));
            }
            eprintln!(
                "{name}: 1 MB {:?}, 4 MB {:?}, ratio {:.1}",
                times[0],
                times[1],
                times[1].as_secs_f64() / times[0].as_secs_f64().max(1e-9)
            );
        }
    }

    #[test]
    fn entropy_of_known_strings() {
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-9);
        assert!((shannon_entropy("0123456789abcdef") - 4.0).abs() < 1e-9);
    }
}
