//! Licenses: which files hold them, which license a text is, and SPDX ids for manifest strings.
//!
//! Detection normalises the text (copyright lines dropped, lowercased, every run of punctuation
//! and whitespace collapsed to one space) and then looks for phrases that only one license uses.
//! Each rule below lists *anchors* (sets of phrases that must all be present; one set is
//! enough), *supporting* phrases that raise the confidence, and *forbidden* phrases that belong
//! to a sibling license (BSD-2 must not have BSD-3's endorsement clause). The GNU family is told
//! apart by its title with the version date, or by its standard notice, and `-or-later` is chosen
//! when "or (at your option) any later version" appears outside the "How to apply these terms"
//! appendix, which every full GNU text carries.

use serde::Serialize;

use super::text::{file_name, folders, prefix_bytes};

/// Bytes of a license file that are read (the longest common texts, GPL-3.0 and AGPL-3.0, are
/// about 35 KB).
pub const MAX_LICENSE_BYTES: usize = 256 * 1024;

/// The license a text was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LicenseMatch {
    /// The SPDX identifier (`MIT`, `GPL-3.0-or-later`) or, from an `SPDX-License-Identifier`
    /// line, a common SPDX expression (`MIT OR Apache-2.0`).
    pub spdx_id: &'static str,
    /// From 0.6 (an anchor phrase alone) to 1.0 (an SPDX-License-Identifier line, or every
    /// distinctive phrase found).
    pub confidence: f32,
}

/// True for license files: `LICENSE`, `LICENCE`, `COPYING`, `UNLICENSE` with an optional
/// `.md`/`.txt`/`.rst` extension or suffix (`LICENSE-MIT`, `LICENSE.APACHE2`, `COPYING.LESSER`),
/// and `.txt` files in a REUSE `LICENSES/` folder. Third-party notices are not the project's
/// license.
pub fn is_license_path(path: &str) -> bool {
    let name = file_name(path).to_ascii_lowercase();
    if folders(path).last().is_some_and(|dir| dir == "LICENSES") && name.ends_with(".txt") {
        return true;
    }
    let stem = [".md", ".txt", ".rst", ".markdown"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(&name);
    ["license", "licence", "copying", "unlicense"].iter().any(|base| {
        stem.strip_prefix(base).is_some_and(|rest| {
            rest.is_empty() || rest.strip_prefix(['-', '_', '.']).is_some_and(is_license_suffix)
        })
    })
}

/// The suffix of `LICENSE-MIT`, `LICENSE.APACHE2`, `COPYING.LESSER` or Boost's `LICENSE_1_0`: a
/// license name or version, not a file extension (`license.rs`) or another document
/// (`LICENSE-THIRD-PARTY`).
fn is_license_suffix(suffix: &str) -> bool {
    matches!(suffix, "lesser" | "lib" | "library" | "gnu")
        || (!suffix.is_empty()
            && suffix
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '_' | '.' | '-')))
        || spdx_from_manifest(suffix).is_some()
}

/// One license's phrases (normalised: lowercase words separated by single spaces).
struct Rule {
    id: &'static str,
    anchors: &'static [&'static [&'static str]],
    supporting: &'static [&'static str],
    forbidden: &'static [&'static str],
}

const BSD_REDISTRIBUTION: &str =
    "redistribution and use in source and binary forms with or without modification are permitted";
const BSD_ENDORSE: &str = "endorse or promote products derived from this software";
const BSD_ADVERTISING: &str = "all advertising materials mentioning features or use of this software";
const BSD_RETAIN: &str = "redistributions of source code must retain the above copyright notice";
const BSD_REPRODUCE: &str = "redistributions in binary form must reproduce the above copyright notice";
const BSD_DISCLAIMER: &str = "this software is provided by the copyright holders and contributors as is";

/// The rules, most specific first (on equal confidence the earlier one wins).
const RULES: &[Rule] = &[
    Rule {
        id: "Apache-2.0",
        anchors: &[&["apache license version 2 0"], &["apache license 2 0"]],
        supporting: &[
            "terms and conditions for use reproduction and distribution",
            "grant of patent license",
            "you may not use this file except in compliance with the license",
            "www apache org licenses license 2 0",
        ],
        forbidden: &[],
    },
    Rule {
        id: "MIT",
        anchors: &[&[
            "permission is hereby granted free of charge to any person obtaining a copy of this software",
        ]],
        supporting: &[
            "to deal in the software without restriction",
            "the above copyright notice and this permission notice shall be included in all copies or \
             substantial portions of the software",
            "the software is provided as is without warranty of any kind express or implied",
        ],
        forbidden: &[],
    },
    Rule {
        id: "ISC",
        anchors: &[&[
            "for any purpose with or without fee is hereby granted",
            "provided that the above copyright notice and this permission notice appear in all copies",
        ]],
        supporting: &[
            "disclaims all warranties with regard to this software",
            "be liable for any special direct indirect or consequential damages",
        ],
        forbidden: &[],
    },
    Rule {
        id: "0BSD",
        anchors: &[&["for any purpose with or without fee is hereby granted"]],
        supporting: &["disclaims all warranties with regard to this software"],
        forbidden: &["appear in all copies"],
    },
    Rule {
        id: "BSD-3-Clause",
        anchors: &[&[BSD_REDISTRIBUTION, BSD_ENDORSE]],
        supporting: &[BSD_RETAIN, BSD_REPRODUCE, "neither the name of", BSD_DISCLAIMER],
        forbidden: &[BSD_ADVERTISING],
    },
    Rule {
        id: "BSD-2-Clause",
        anchors: &[&[BSD_REDISTRIBUTION]],
        supporting: &[BSD_RETAIN, BSD_REPRODUCE, BSD_DISCLAIMER],
        forbidden: &[BSD_ENDORSE, BSD_ADVERTISING],
    },
    Rule {
        id: "MPL-2.0",
        anchors: &[
            &["mozilla public license version 2 0"],
            &["mozilla public license v 2 0"],
        ],
        supporting: &[
            "if a copy of the mpl was not distributed with this file",
            "covered software",
            "larger work",
            "secondary license",
        ],
        forbidden: &[],
    },
    Rule {
        id: "Unlicense",
        anchors: &[&["this is free and unencumbered software released into the public domain"]],
        supporting: &[
            "anyone is free to copy modify publish use compile sell or distribute this software",
            "unlicense org",
        ],
        forbidden: &[],
    },
    Rule {
        id: "CC0-1.0",
        anchors: &[
            &["cc0 1 0 universal"],
            &["creative commons", "statement of purpose", "affirmer"],
        ],
        supporting: &[
            "statement of purpose",
            "waiver",
            "public license fallback",
            "affirmer",
        ],
        forbidden: &[],
    },
    Rule {
        id: "EPL-2.0",
        anchors: &[
            &["eclipse public license v 2 0"],
            &["eclipse public license version 2 0"],
        ],
        supporting: &[
            "the accompanying program is provided under the terms of this eclipse public license",
            "secondary license",
            "commercial distribution",
        ],
        forbidden: &[],
    },
    Rule {
        id: "EPL-1.0",
        anchors: &[
            &["eclipse public license v 1 0"],
            &["eclipse public license version 1 0"],
        ],
        supporting: &[
            "the accompanying program is provided under the terms of this eclipse public license",
            "commercial distribution",
        ],
        forbidden: &[],
    },
    Rule {
        id: "BSL-1.0",
        anchors: &[
            &["boost software license version 1 0"],
            &[
                "to any person or organization obtaining a copy of the software and accompanying documentation \
               covered by this license",
            ],
        ],
        supporting: &[
            "this entire statement including the above license grant",
            "must be included in all copies of the software in whole or in part",
        ],
        forbidden: &[],
    },
    Rule {
        id: "Zlib",
        anchors: &[&[
            "the origin of this software must not be misrepresented",
            "altered source versions must be plainly marked as such",
        ]],
        supporting: &[
            "permission is granted to anyone to use this software for any purpose including commercial applications",
            "this notice may not be removed or altered from any source distribution",
        ],
        forbidden: &[],
    },
];

/// A GNU license: its ids and how its full text and its notice name it.
struct GnuLicense {
    only: &'static str,
    or_later: &'static str,
    /// The title line with its version date.
    title: &'static str,
    /// The family name in the notice, and the version words that follow "version".
    notice_family: &'static str,
    notice_version: &'static str,
}

const GNU: &[GnuLicense] = &[
    GnuLicense {
        only: "AGPL-3.0-only",
        or_later: "AGPL-3.0-or-later",
        title: "gnu affero general public license version 3 19 november 2007",
        notice_family: "gnu affero general public license",
        notice_version: "3",
    },
    GnuLicense {
        only: "LGPL-3.0-only",
        or_later: "LGPL-3.0-or-later",
        title: "gnu lesser general public license version 3 29 june 2007",
        notice_family: "gnu lesser general public license",
        notice_version: "3",
    },
    GnuLicense {
        only: "LGPL-2.1-only",
        or_later: "LGPL-2.1-or-later",
        title: "gnu lesser general public license version 2 1 february 1999",
        notice_family: "gnu lesser general public license",
        notice_version: "2 1",
    },
    GnuLicense {
        only: "LGPL-2.0-only",
        or_later: "LGPL-2.0-or-later",
        title: "gnu library general public license version 2 june 1991",
        notice_family: "gnu library general public license",
        notice_version: "2",
    },
    GnuLicense {
        only: "GPL-3.0-only",
        or_later: "GPL-3.0-or-later",
        title: "gnu general public license version 3 29 june 2007",
        notice_family: "gnu general public license",
        notice_version: "3",
    },
    GnuLicense {
        only: "GPL-2.0-only",
        or_later: "GPL-2.0-or-later",
        title: "gnu general public license version 2 june 1991",
        notice_family: "gnu general public license",
        notice_version: "2",
    },
];

/// The "or (at your option) any later version" clause, normalised.
const OR_LATER: &str = " at your option any later version ";
/// Where the appendix of a full GNU text starts (its sample notice has the or-later clause).
const GNU_APPENDIX: &str = " how to apply these terms to your new ";

/// The license of a license text (a LICENSE file, or a source header), or `None` when no rule
/// matches. An `SPDX-License-Identifier:` line wins over the text.
pub fn detect_license(text: &str) -> Option<LicenseMatch> {
    let text = prefix_bytes(text, MAX_LICENSE_BYTES);
    if let Some(id) = spdx_identifier_line(text) {
        return Some(LicenseMatch {
            spdx_id: id,
            confidence: 1.0,
        });
    }
    let normalised = normalise(text);
    let mut candidates: Vec<(LicenseMatch, usize)> = detect_gnu(&normalised).into_iter().collect();
    for rule in RULES {
        if let Some((confidence, at)) = score(rule, &normalised) {
            let found = LicenseMatch {
                spdx_id: rule.id,
                confidence,
            };
            candidates.push((found, at));
        }
    }
    // A file may carry several texts (the project's license, then a vendored file's): among the
    // candidates close to the best confidence, the one that comes first is the project's.
    let best = candidates
        .iter()
        .map(|(m, _)| m.confidence)
        .fold(0.0_f32, f32::max);
    candidates
        .into_iter()
        .filter(|(m, _)| m.confidence >= best - CONFIDENCE_MARGIN)
        .min_by_key(|(_, at)| *at)
        .map(|(m, _)| m)
        .or_else(|| short_name(text))
}

/// How far below the best confidence an earlier license text still wins.
const CONFIDENCE_MARGIN: f32 = 0.2;

/// 0.6 for an anchor, plus up to 0.4 for the supporting phrases found, and where the earliest
/// anchor starts; `None` without an anchor or with a forbidden phrase.
fn score(rule: &Rule, normalised: &str) -> Option<(f32, usize)> {
    let has = |phrase: &str| find_phrase(normalised, phrase).is_some();
    let at = rule
        .anchors
        .iter()
        .filter_map(|set| {
            let positions: Option<Vec<usize>> = set.iter().map(|p| find_phrase(normalised, p)).collect();
            positions.and_then(|p| p.into_iter().min())
        })
        .min()?;
    if rule.forbidden.iter().any(|p| has(p)) {
        return None;
    }
    let found = rule.supporting.iter().filter(|p| has(p)).count();
    let support = if rule.supporting.is_empty() {
        1.0
    } else {
        found as f32 / rule.supporting.len() as f32
    };
    Some((0.6 + 0.4 * support, at))
}

/// Where `phrase` occurs as whole words of `normalised` (which is padded with spaces).
fn find_phrase(normalised: &str, phrase: &str) -> Option<usize> {
    normalised.find(&format!(" {phrase} "))
}

/// A GNU license by its full-text title (confidence 0.95) or its standard notice (0.9), and where
/// it starts; the earliest one in the text wins.
fn detect_gnu(normalised: &str) -> Option<(LicenseMatch, usize)> {
    let titled = GNU
        .iter()
        .filter_map(|gnu| normalised.find(&format!(" {} ", gnu.title)).map(|at| (at, gnu)))
        .min_by_key(|(at, _)| *at);
    if let Some((at, gnu)) = titled {
        let before_appendix = normalised
            .find(GNU_APPENDIX)
            .map_or(normalised, |at| &normalised[..at]);
        let or_later = before_appendix.contains(OR_LATER);
        let found = LicenseMatch {
            spdx_id: if or_later { gnu.or_later } else { gnu.only },
            confidence: 0.95,
        };
        return Some((found, at));
    }
    GNU.iter()
        .filter_map(|gnu| notice(normalised, gnu).map(|(at, or_later)| (at, or_later, gnu)))
        .min_by_key(|(at, _, _)| *at)
        .map(|(at, or_later, gnu)| {
            let found = LicenseMatch {
                spdx_id: if or_later { gnu.or_later } else { gnu.only },
                confidence: 0.9,
            };
            (found, at)
        })
}

/// Where the standard notice "… under the terms of the GNU General Public License as published
/// by the Free Software Foundation, either version 3 of the License, or (at your option) any later
/// version" (or "… License version 3 as published by …") names this license, and whether it
/// allows later versions.
fn notice(normalised: &str, gnu: &GnuLicense) -> Option<(usize, bool)> {
    let published = format!(
        " {} as published by the free software foundation ",
        gnu.notice_family
    );
    let versioned = format!(
        " {} version {} as published by the free software foundation ",
        gnu.notice_family, gnu.notice_version
    );
    let mut from = 0;
    while let Some(found) = normalised[from..].find(&published) {
        let at = from + found;
        from = at + published.len() - 1;
        let after = &normalised[from..];
        let after = after.strip_prefix(" either").unwrap_or(after);
        let Some(version) = after.strip_prefix(" version ") else {
            continue;
        };
        let Some(rest) = version.strip_prefix(gnu.notice_version) else {
            continue;
        };
        // "version 2 1" must not be read as "version 2".
        if !(rest.starts_with(" of ") || rest.starts_with(" or ") || rest.starts_with(" only ")) {
            continue;
        }
        let clause = prefix_bytes(rest, 80);
        return Some((at, clause.contains(OR_LATER)));
    }
    if let Some(at) = normalised.find(&versioned) {
        let clause = prefix_bytes(&normalised[at + versioned.len() - 1..], 80);
        return Some((at, clause.contains(OR_LATER)));
    }
    None
}

/// Words that, after "copyright" at the start of a line, show that the line is part of the
/// license body ("copyright notice …") rather than a copyright statement.
const COPYRIGHT_BODY_WORDS: &[&str] = &[
    "notice",
    "notices",
    "holder",
    "holders",
    "owner",
    "owners",
    "and",
    "law",
    "laws",
    "license",
    "licenses",
    "statement",
    "statements",
    "permission",
    "permissions",
    "infringement",
    "or",
    "claims",
    "interest",
    "protection",
    "is",
    "in",
    "to",
    "on",
    "of",
    "for",
    "treaty",
    "treaties",
    "rights",
];

/// True for a copyright statement line (`Copyright (c) 2024 Jane`, `(c) Acme`, `© 2020`).
fn is_copyright_line(line: &str) -> bool {
    let line = line
        .trim_start_matches(|c: char| !c.is_alphanumeric() && c != '(' && c != '©')
        .to_lowercase();
    if line.starts_with("(c)") || line.starts_with('©') {
        return true;
    }
    let Some(rest) = line.strip_prefix("copyright") else {
        return false;
    };
    let next = rest
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| !w.is_empty())
        .unwrap_or("");
    !rest.starts_with(char::is_alphanumeric) && !COPYRIGHT_BODY_WORDS.contains(&next)
}

/// The text without copyright lines, lowercased, "licence" spelled "license", every run of
/// non-alphanumeric characters one space, padded with a space at both ends.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    for line in text.lines().filter(|l| !is_copyright_line(l)) {
        for c in line.chars() {
            if c.is_alphanumeric() {
                out.extend(c.to_lowercase());
            } else if !out.ends_with(' ') {
                out.push(' ');
            }
        }
        if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.replace(" licence ", " license ")
        .replace(" licences ", " licenses ")
}

/// The id of an `SPDX-License-Identifier:` line in the first 100 lines.
fn spdx_identifier_line(text: &str) -> Option<&'static str> {
    const TAG: &str = "spdx-license-identifier:";
    text.lines().take(100).find_map(|line| {
        let lower = line.to_ascii_lowercase();
        let at = lower.find(TAG)?;
        let value = line[at + TAG.len()..]
            .trim()
            .trim_end_matches("*/")
            .trim_end_matches("-->")
            .trim_end_matches("#}")
            .trim();
        known_expression(&spdx_from_manifest(value)?)
    })
}

/// A license file that is only a short name (`MIT`, `Apache 2.0`): confidence 0.6.
fn short_name(text: &str) -> Option<LicenseMatch> {
    let text = text.trim();
    if text.is_empty() || text.len() > 80 || text.lines().count() > 2 {
        return None;
    }
    let id = known_expression(&spdx_from_manifest(&text.replace('\n', " "))?)?;
    Some(LicenseMatch {
        spdx_id: id,
        confidence: 0.6,
    })
}

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
fn known_expression(expression: &str) -> Option<&'static str> {
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

    fn id(text: &str) -> Option<&'static str> {
        detect_license(text).map(|m| m.spdx_id)
    }

    const MIT: &str = "MIT License\n\nCopyright (c) 2019-2024 Jane Q. Developer <jane@example.com> and the Ferrite contributors\n\n\
        Permission is hereby granted, free of charge, to any person obtaining a copy\n\
        of this software and associated documentation files (the \"Software\"), to deal\n\
        in the Software without restriction, including without limitation the rights\n\
        to use, copy, modify, merge, publish, distribute, sublicense, and/or sell\n\
        copies of the Software, and to permit persons to whom the Software is\n\
        furnished to do so, subject to the following conditions:\n\n\
        The above copyright notice and this permission notice shall be included in all\n\
        copies or substantial portions of the Software.\n\n\
        THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR\n\
        IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY.\n";

    const BSD_3: &str = "Copyright (c) 2013, The Acme Authors\nAll rights reserved.\n\n\
        Redistribution and use in source and binary forms, with or without\n\
        modification, are permitted provided that the following conditions are met:\n\n\
        1. Redistributions of source code must retain the above copyright notice, this\n   list of conditions and the following disclaimer.\n\n\
        2. Redistributions in binary form must reproduce the above copyright notice,\n   this list of conditions and the following disclaimer in the documentation\n   and/or other materials provided with the distribution.\n\n\
        3. Neither the name of the copyright holder nor the names of its\n   contributors may be used to endorse or promote products derived from\n   this software without specific prior written permission.\n\n\
        THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS \"AS IS\"\n\
        AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE\n";

    #[test]
    fn license_paths_are_recognised() {
        for path in [
            "LICENSE",
            "LICENSE.md",
            "licence.txt",
            "COPYING",
            "COPYING.LESSER",
            "LICENSE-MIT",
            "LICENSE-APACHE",
            "LICENSE.APACHE2",
            "UNLICENSE",
            "LICENSES/Apache-2.0.txt",
            "sub/crate/LICENSE",
        ] {
            assert!(is_license_path(path), "{path}");
        }
        for path in [
            "src/license.rs",
            "LICENSE-THIRD-PARTY",
            "licenses.json",
            "docs/licensing.md",
            "LICENSEE",
        ] {
            assert!(!is_license_path(path), "{path}");
        }
    }

    #[test]
    fn mit_with_a_custom_copyright_line_is_mit_with_full_confidence() {
        let found = detect_license(MIT).unwrap();
        assert_eq!(found.spdx_id, "MIT");
        assert_eq!(found.confidence, 1.0);
    }

    #[test]
    fn an_apache_excerpt_with_its_distinctive_sentences_is_apache() {
        let text = "\n                                 Apache License\n                           Version 2.0, January 2004\n\
                    http://www.apache.org/licenses/\n\n   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION\n\n\
                    1. Definitions.\n\n      \"License\" shall mean the terms and conditions for use, reproduction,\n\
                    and distribution as defined by Sections 1 through 9 of this document.\n\n\
                    3. Grant of Patent License. Subject to the terms and conditions of\n      this License, each Contributor hereby grants to You a perpetual,\n";
        let found = detect_license(text).unwrap();
        assert_eq!(found.spdx_id, "Apache-2.0");
        assert!((found.confidence - 0.8).abs() < 1e-6, "{}", found.confidence);
        let header = "// Licensed under the Apache License, Version 2.0 (the \"License\");\n\
                      // you may not use this file except in compliance with the License.\n\
                      // You may obtain a copy of the License at\n//\n//     http://www.apache.org/licenses/LICENSE-2.0\n";
        assert_eq!(id(header), Some("Apache-2.0"));
    }

    #[test]
    fn bsd_three_clause_and_two_clause_are_told_apart_by_the_endorsement_clause() {
        assert_eq!(id(BSD_3), Some("BSD-3-Clause"));
        let two_clause = BSD_3.replace(
            "3. Neither the name of the copyright holder nor the names of its\n   contributors may be used to endorse or promote products derived from\n   this software without specific prior written permission.\n\n",
            "",
        );
        assert_ne!(two_clause, BSD_3);
        assert_eq!(id(&two_clause), Some("BSD-2-Clause"));
    }

    #[test]
    fn the_first_of_several_license_texts_is_the_projects() {
        let text = format!(
            "BSD 3-Clause License\n\n{BSD_3}\n-----\n\nsrc/simd.rs is licensed under the MIT license:\n\n{MIT}"
        );
        assert_eq!(id(&text), Some("BSD-3-Clause"));
        let text = format!("{MIT}\n-----\n{BSD_3}");
        assert_eq!(id(&text), Some("MIT"));
    }

    #[test]
    fn isc_and_zero_bsd_are_not_mit() {
        let isc = "ISC License\n\nCopyright (c) 2004-2010 by Internet Systems Consortium, Inc. (\"ISC\")\n\n\
                   Permission to use, copy, modify, and/or distribute this software for any\n\
                   purpose with or without fee is hereby granted, provided that the above\n\
                   copyright notice and this permission notice appear in all copies.\n\n\
                   THE SOFTWARE IS PROVIDED \"AS IS\" AND ISC DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE\n";
        assert_eq!(id(isc), Some("ISC"));
        let zero_bsd = "Permission to use, copy, modify, and/or distribute this software for any\n\
                        purpose with or without fee is hereby granted.\n\n\
                        THE SOFTWARE IS PROVIDED \"AS IS\" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE\n";
        assert_eq!(id(zero_bsd), Some("0BSD"));
    }

    #[test]
    fn gnu_notices_choose_the_family_version_and_or_later() {
        let gpl3_or_later = "    This program is free software: you can redistribute it and/or modify\n\
            it under the terms of the GNU General Public License as published by\n\
            the Free Software Foundation, either version 3 of the License, or\n\
            (at your option) any later version.\n";
        assert_eq!(
            detect_license(gpl3_or_later),
            Some(LicenseMatch {
                spdx_id: "GPL-3.0-or-later",
                confidence: 0.9
            })
        );
        let lgpl21 = "This library is free software; you can redistribute it and/or modify it under the terms of \
                      the GNU Lesser General Public License as published by the Free Software Foundation; either \
                      version 2.1 of the License, or (at your option) any later version.";
        assert_eq!(id(lgpl21), Some("LGPL-2.1-or-later"));
        let gpl2_only = "under the terms of the GNU General Public License version 2 as published by the Free Software Foundation.";
        assert_eq!(id(gpl2_only), Some("GPL-2.0-only"));
        let agpl = "under the terms of the GNU Affero General Public License as published by the Free Software \
                    Foundation, either version 3 of the License, or (at your option) any later version.";
        assert_eq!(id(agpl), Some("AGPL-3.0-or-later"));
    }

    #[test]
    fn a_full_gnu_text_is_only_unless_a_notice_precedes_its_appendix() {
        let full = "                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n\n\
            Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>\n\
            Everyone is permitted to copy and distribute verbatim copies\n\n\
            If you develop a new program, and you want it to be of the greatest possible use to the public, \
            consider the GNU Lesser General Public License instead of this License.\n\n\
            How to Apply These Terms to Your New Programs\n\n\
            This program is free software: you can redistribute it and/or modify it under the terms of the GNU \
            General Public License as published by the Free Software Foundation, either version 3 of the \
            License, or (at your option) any later version.\n";
        assert_eq!(id(full), Some("GPL-3.0-only"));
        let with_notice = format!(
            "Acme is free software: you can redistribute it under the terms of the GNU General Public License \
             as published by the Free Software Foundation, either version 3 of the License, or (at your option) \
             any later version.\n\n{full}"
        );
        assert_eq!(id(&with_notice), Some("GPL-3.0-or-later"));
        let lgpl3 = "GNU LESSER GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n\nThis version of the GNU Lesser \
                     General Public License incorporates the terms and conditions of version 3 of the GNU General \
                     Public License";
        assert_eq!(id(lgpl3), Some("LGPL-3.0-only"));
    }

    #[test]
    fn other_licenses_are_recognised_by_their_anchor_phrases() {
        for (text, expected) in [
            (
                "This is free and unencumbered software released into the public domain.\n\nAnyone is free to \
                 copy, modify, publish, use, compile, sell, or distribute this software",
                "Unlicense",
            ),
            (
                "Mozilla Public License Version 2.0\n==================================\n1. Definitions\n\
                 1.4. \"Covered Software\" means Source Code Form",
                "MPL-2.0",
            ),
            (
                "This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0. If a copy \
                 of the MPL was not distributed with this file, You can obtain one at https://mozilla.org/MPL/2.0/.",
                "MPL-2.0",
            ),
            (
                "Creative Commons Legal Code\n\nCC0 1.0 Universal\n\nStatement of Purpose",
                "CC0-1.0",
            ),
            (
                "Eclipse Public License - v 2.0\n\nTHE ACCOMPANYING PROGRAM IS PROVIDED UNDER THE TERMS OF THIS \
                 ECLIPSE PUBLIC LICENSE",
                "EPL-2.0",
            ),
            (
                "Boost Software License - Version 1.0 - August 17th, 2003\n\nPermission is hereby granted, free \
                 of charge, to any person or organization obtaining a copy of the software and accompanying \
                 documentation covered by this license",
                "BSL-1.0",
            ),
            (
                "1. The origin of this software must not be misrepresented; you must not claim that you wrote \
                 the original software.\n2. Altered source versions must be plainly marked as such, and must not \
                 be misrepresented as being the original software.",
                "Zlib",
            ),
            (
                "SPDX-License-Identifier: MIT OR Apache-2.0\n",
                "MIT OR Apache-2.0",
            ),
            (
                "/* SPDX-License-Identifier: GPL-2.0+ */\nint main() {}",
                "GPL-2.0-or-later",
            ),
            ("Apache 2.0\n", "Apache-2.0"),
        ] {
            assert_eq!(id(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn unknown_and_hostile_texts_are_not_a_license() {
        assert_eq!(id(""), None);
        assert_eq!(id("All rights reserved. Do not copy."), None);
        assert_eq!(id("GPL"), None);
        assert_eq!(id(&"\u{0}\u{ff}Ω".repeat(200_000)), None);
        assert_eq!(id(&"copyright ".repeat(100_000)), None);
        let mit_in_a_huge_file = format!("{MIT}{}", "x ".repeat(1_000_000));
        assert_eq!(id(&mit_in_a_huge_file), Some("MIT"));
    }

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
