//! SPDX normalisation: [`spdx_from_manifest`] turns the license strings of manifests (ids,
//! expressions, common names) into canonical SPDX, over the known ids, deprecated ids and license
//! names listed here.

/// SPDX ids recognised in manifests and identifier lines.
const SPDX_IDS: &[&str] = &[
    "0BSD",
    "AFL-3.0",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "Artistic-2.0",
    "BlueOak-1.0.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-2-Clause-Patent",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "BSD-4-Clause",
    "BSL-1.0",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "CDDL-1.0",
    "CECILL-2.1",
    "ECL-2.0",
    "EPL-1.0",
    "EPL-2.0",
    "EUPL-1.1",
    "EUPL-1.2",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "ISC",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "MIT",
    "MIT-0",
    "MPL-1.1",
    "MPL-2.0",
    "MPL-2.0-no-copyleft-exception",
    "MS-PL",
    "MulanPSL-2.0",
    "NCSA",
    "OFL-1.1",
    "OSL-3.0",
    "PostgreSQL",
    "PSF-2.0",
    "Python-2.0",
    "Ruby",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "Unlicense",
    "UPL-1.0",
    "Vim",
    "WTFPL",
    "X11",
    "Zlib",
    "ZPL-2.1",
];

/// Deprecated SPDX ids and their current form.
const DEPRECATED_IDS: &[(&str, &str)] = &[
    ("GPL-2.0", "GPL-2.0-only"),
    ("GPL-2.0+", "GPL-2.0-or-later"),
    ("GPL-3.0", "GPL-3.0-only"),
    ("GPL-3.0+", "GPL-3.0-or-later"),
    ("LGPL-2.0", "LGPL-2.0-only"),
    ("LGPL-2.0+", "LGPL-2.0-or-later"),
    ("LGPL-2.1", "LGPL-2.1-only"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("LGPL-3.0", "LGPL-3.0-only"),
    ("LGPL-3.0+", "LGPL-3.0-or-later"),
    ("AGPL-3.0", "AGPL-3.0-only"),
    ("AGPL-3.0+", "AGPL-3.0-or-later"),
];

/// Common expressions an identifier line may carry, returned as static strings.
const COMMON_EXPRESSIONS: &[&str] = &[
    "MIT OR Apache-2.0",
    "Apache-2.0 OR MIT",
    "Apache-2.0 WITH LLVM-exception",
    "Apache-2.0 OR BSD-3-Clause",
    "GPL-2.0-only OR BSD-2-Clause",
    "GPL-2.0-or-later WITH Classpath-exception-2.0",
    "GPL-2.0-only WITH Linux-syscall-note",
    "Unlicense OR MIT",
    "MIT OR Unlicense",
    "LGPL-2.1-or-later OR MPL-2.0",
];

/// The static form of an id or common expression.
pub(super) fn known_expression(expression: &str) -> Option<&'static str> {
    SPDX_IDS
        .iter()
        .chain(COMMON_EXPRESSIONS)
        .find(|known| **known == expression)
        .copied()
}

/// An SPDX id by case-insensitive lookup (deprecated ids mapped to their current form).
fn spdx_id(word: &str) -> Option<&'static str> {
    if let Some(id) = SPDX_IDS.iter().find(|id| id.eq_ignore_ascii_case(word)) {
        return Some(id);
    }
    DEPRECATED_IDS
        .iter()
        .find(|(old, _)| old.eq_ignore_ascii_case(word))
        .map(|(_, new)| *new)
}

/// License names as written in manifests, keyed by their normalised words (see [`name_key`]),
/// with the id when the text allows later versions (GNU) or `None` when "or later" makes no sense.
const NAMES: &[(&[&str], &str, Option<&str>)] = &[
    (&["mit", "expat", "mit x11"], "MIT", None),
    (
        &[
            "apache",
            "apache 2",
            "apache 2.0",
            "asl 2",
            "asl 2.0",
            "apache software 2.0",
            "apache software 2",
        ],
        "Apache-2.0",
        None,
    ),
    (
        &[
            "bsd",
            "bsd 3",
            "bsd 3 clause",
            "3 clause bsd",
            "new bsd",
            "modified bsd",
            "revised bsd",
            "bsd new",
        ],
        "BSD-3-Clause",
        None,
    ),
    (
        &[
            "bsd 2",
            "bsd 2 clause",
            "2 clause bsd",
            "simplified bsd",
            "freebsd",
            "bsd simplified",
        ],
        "BSD-2-Clause",
        None,
    ),
    (&["isc"], "ISC", None),
    (
        &["mpl 2", "mpl 2.0", "mozilla public 2.0", "mozilla public 2"],
        "MPL-2.0",
        None,
    ),
    (&["unlicense"], "Unlicense", None),
    (
        &["cc0", "cc0 1.0", "cc0 1.0 universal", "creative commons zero"],
        "CC0-1.0",
        None,
    ),
    (
        &["epl 2", "epl 2.0", "eclipse public 2.0", "eclipse public 2"],
        "EPL-2.0",
        None,
    ),
    (
        &["epl 1", "epl 1.0", "eclipse public 1.0", "eclipse public 1"],
        "EPL-1.0",
        None,
    ),
    (&["boost", "bsl 1.0", "boost 1.0"], "BSL-1.0", None),
    (&["zlib"], "Zlib", None),
    (&["wtfpl"], "WTFPL", None),
    (
        &["gpl 2", "gpl 2.0", "general public 2", "general public 2.0"],
        "GPL-2.0-only",
        Some("GPL-2.0-or-later"),
    ),
    (
        &["gpl 3", "gpl 3.0", "general public 3", "general public 3.0"],
        "GPL-3.0-only",
        Some("GPL-3.0-or-later"),
    ),
    (
        &["lgpl 2.1", "lesser general public 2.1", "lesser gpl 2.1"],
        "LGPL-2.1-only",
        Some("LGPL-2.1-or-later"),
    ),
    (
        &[
            "lgpl 3",
            "lgpl 3.0",
            "lesser general public 3",
            "lesser general public 3.0",
            "lesser gpl 3",
        ],
        "LGPL-3.0-only",
        Some("LGPL-3.0-or-later"),
    ),
    (
        &[
            "lgpl 2",
            "lgpl 2.0",
            "library general public 2",
            "library general public 2.0",
        ],
        "LGPL-2.0-only",
        Some("LGPL-2.0-or-later"),
    ),
    (
        &[
            "agpl 3",
            "agpl 3.0",
            "affero general public 3",
            "affero general public 3.0",
            "affero gpl 3",
        ],
        "AGPL-3.0-only",
        Some("AGPL-3.0-or-later"),
    ),
];

/// Filler words dropped from a license name before lookup.
const FILLER_WORDS: &[&str] = &[
    "the", "gnu", "license", "licensed", "version", "v", "software", "only",
];

/// Family names written together with their version (`gplv3`, `apache2`, `mpl2`).
const FAMILIES: &[&str] = &["gpl", "lgpl", "agpl", "apache", "mpl", "epl", "bsl", "asl", "bsd"];

/// The normalised words of a license name and whether it allows later versions: lowercase,
/// "licence" as "license", fillers dropped, family and version split (`GPLv3+` → `gpl 3`, true).
fn name_key(name: &str) -> (String, bool) {
    let mut lower = name.to_lowercase().replace("licence", "license");
    let mut or_later = false;
    for clause in [
        "or any later version",
        "any later version",
        "or-later",
        "or later",
    ] {
        if lower.contains(clause) {
            or_later = true;
            lower = lower.replace(clause, " ");
        }
    }
    let mut words = Vec::new();
    for raw in lower.split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '+')) {
        let mut word = raw.trim_matches('.');
        if let Some(stripped) = word.strip_suffix('+') {
            or_later = true;
            word = stripped;
        }
        if word.is_empty() || FILLER_WORDS.contains(&word) {
            continue;
        }
        let digits_at = word.find(|c: char| c.is_ascii_digit()).unwrap_or(word.len());
        let (alpha, version) = word.split_at(digits_at);
        let family = alpha.strip_suffix('v').unwrap_or(alpha);
        if !version.is_empty() && FAMILIES.contains(&family) {
            words.push(family.to_owned());
            words.push(version.trim_start_matches('.').to_owned());
        } else if let Some(version) = word
            .strip_prefix('v')
            .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        {
            words.push(version.to_owned());
        } else {
            words.push(word.to_owned());
        }
    }
    (words.join(" "), or_later)
}

/// The SPDX id of one license name (not an expression).
fn license_name(name: &str) -> Option<&'static str> {
    if let Some(id) = spdx_id(name.trim()) {
        return Some(id);
    }
    if name.matches('(').count() != name.matches(')').count() {
        return None;
    }
    let candidates = [
        Some(name.rsplit("::").next().unwrap_or(name).to_owned()),
        name.split_once('(').map(|(before, _)| before.to_owned()),
        name.split_once('(')
            .and_then(|(_, inner)| inner.split_once(')'))
            .map(|(inner, _)| inner.to_owned()),
    ];
    candidates.into_iter().flatten().find_map(|candidate| {
        let (key, or_later) = name_key(&candidate);
        let (_, only, later) = NAMES.iter().find(|(keys, _, _)| keys.contains(&key.as_str()))?;
        match (or_later, later) {
            (false, _) => Some(*only),
            (true, Some(later)) => Some(*later),
            (true, None) => None,
        }
    })
}

/// Normalises a license string from a manifest to SPDX: an expression of known ids keeps its
/// structure with canonical ids and upper-case operators (`mit or apache-2.0` →
/// `MIT OR Apache-2.0`, Cargo's legacy `MIT/Apache-2.0` → `MIT OR Apache-2.0`); a common name maps
/// to its id (`Apache 2.0`, `apache2`, `The Apache Software License, Version 2.0` → `Apache-2.0`;
/// `BSD`, `New BSD` → `BSD-3-Clause`; `Simplified BSD` → `BSD-2-Clause`; `GPLv3+` →
/// `GPL-3.0-or-later`; `License :: OSI Approved :: MIT License` → `MIT`). Conservative: anything
/// else, including `UNLICENSED`, `SEE LICENSE IN …`, `proprietary`, a bare `GPL` or a `LicenseRef`,
/// is `None`.
pub fn spdx_from_manifest(value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() || value.len() > 200 {
        return None;
    }
    if let Some(expression) = expression(value) {
        return Some(expression);
    }
    if let Some(id) = license_name(value) {
        return Some(id.to_owned());
    }
    // "MIT or Apache 2.0", "MIT, Apache-2.0": every part a known name.
    let lower = value.to_lowercase();
    let (separator, operator) = [(" or ", "OR"), (" and ", "AND"), (" / ", "OR"), (", ", "OR")]
        .into_iter()
        .find(|(separator, _)| lower.contains(separator))?;
    let ids: Option<Vec<&str>> = lower.split(separator).map(license_name).collect();
    let ids = ids.filter(|ids| ids.len() > 1)?;
    Some(ids.join(&format!(" {operator} ")))
}

/// An SPDX expression whose every id is known, rebuilt canonically.
fn expression(value: &str) -> Option<String> {
    let spaced = value.replace('(', " ( ").replace(')', " ) ").replace('/', " OR ");
    let mut out: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut expect_operand = true;
    let mut after_with = false;
    for token in spaced.split_whitespace() {
        let operator = ["OR", "AND", "WITH"]
            .into_iter()
            .find(|op| op.eq_ignore_ascii_case(token));
        match (token, operator) {
            ("(", _) if expect_operand => depth += 1,
            (")", _) if !expect_operand && depth > 0 => depth -= 1,
            (_, Some(op)) if !expect_operand => {
                after_with = op == "WITH";
                expect_operand = true;
                out.push(op.to_owned());
                continue;
            }
            (_, None) if expect_operand && after_with => {
                let valid = token
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
                if !valid {
                    return None;
                }
                out.push(token.to_owned());
                after_with = false;
                expect_operand = false;
                continue;
            }
            (_, None) if expect_operand => {
                out.push(spdx_id(token)?.to_owned());
                expect_operand = false;
                continue;
            }
            _ => return None,
        }
        out.push(token.to_owned());
    }
    if expect_operand || depth != 0 {
        return None;
    }
    Some(out.join(" ").replace("( ", "(").replace(" )", ")"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_license_strings_are_normalised_conservatively() {
        for (value, expected) in [
            ("MIT", Some("MIT")),
            ("mit", Some("MIT")),
            ("MIT OR Apache-2.0", Some("MIT OR Apache-2.0")),
            ("MIT/Apache-2.0", Some("MIT OR Apache-2.0")),
            (
                "(MIT or apache-2.0) AND Unicode-DFS-2016",
                Some("(MIT OR Apache-2.0) AND Unicode-DFS-2016"),
            ),
            (
                "Apache-2.0 WITH LLVM-exception",
                Some("Apache-2.0 WITH LLVM-exception"),
            ),
            ("Apache 2.0", Some("Apache-2.0")),
            ("apache2", Some("Apache-2.0")),
            ("Apache License, Version 2.0", Some("Apache-2.0")),
            ("The Apache Software License, Version 2.0", Some("Apache-2.0")),
            ("ASL 2.0", Some("Apache-2.0")),
            ("BSD", Some("BSD-3-Clause")),
            ("BSD License", Some("BSD-3-Clause")),
            ("New BSD License", Some("BSD-3-Clause")),
            ("BSD 3-Clause", Some("BSD-3-Clause")),
            ("Simplified BSD", Some("BSD-2-Clause")),
            ("GPLv3", Some("GPL-3.0-only")),
            ("GPLv3+", Some("GPL-3.0-or-later")),
            ("GPL-2.0", Some("GPL-2.0-only")),
            ("GNU General Public License v3 (GPLv3)", Some("GPL-3.0-only")),
            (
                "GNU Lesser General Public License v2.1 or later",
                Some("LGPL-2.1-or-later"),
            ),
            ("License :: OSI Approved :: MIT License", Some("MIT")),
            ("Mozilla Public License 2.0", Some("MPL-2.0")),
            ("MIT or Apache 2.0", Some("MIT OR Apache-2.0")),
            ("GPL", None),
            ("UNLICENSED", None),
            ("SEE LICENSE IN LICENSE.txt", None),
            ("Proprietary", None),
            ("MIT OR", None),
            ("(MIT", None),
            ("", None),
        ] {
            assert_eq!(spdx_from_manifest(value).as_deref(), expected, "{value}");
        }
    }
}
