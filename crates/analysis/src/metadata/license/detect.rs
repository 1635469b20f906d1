//! Which license a text is: [`detect_license`] normalises the text, scores every rule of
//! [`super::rules`], tells the GNU licenses apart by title or notice, and falls back to an
//! `SPDX-License-Identifier` line or a short license name.

use super::rules::{GNU, GnuLicense, RULES, Rule};
use super::spdx::{known_expression, spdx_from_manifest};
use super::{LicenseMatch, MAX_LICENSE_BYTES};
use crate::metadata::text::prefix_bytes;

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
}
