//! The phrase tables detection matches: one [`Rule`] per license (anchors, supporting and
//! forbidden phrases) and one [`GnuLicense`] per GNU license (title and notice wording).

/// One license's phrases (normalised: lowercase words separated by single spaces).
pub(super) struct Rule {
    pub(super) id: &'static str,
    pub(super) anchors: &'static [&'static [&'static str]],
    pub(super) supporting: &'static [&'static str],
    pub(super) forbidden: &'static [&'static str],
}

const BSD_REDISTRIBUTION: &str =
    "redistribution and use in source and binary forms with or without modification are permitted";
const BSD_ENDORSE: &str = "endorse or promote products derived from this software";
const BSD_ADVERTISING: &str = "all advertising materials mentioning features or use of this software";
const BSD_RETAIN: &str = "redistributions of source code must retain the above copyright notice";
const BSD_REPRODUCE: &str = "redistributions in binary form must reproduce the above copyright notice";
const BSD_DISCLAIMER: &str = "this software is provided by the copyright holders and contributors as is";

/// The rules, most specific first (on equal confidence the earlier one wins).
pub(super) const RULES: &[Rule] = &[
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
pub(super) struct GnuLicense {
    pub(super) only: &'static str,
    pub(super) or_later: &'static str,
    /// The title line with its version date.
    pub(super) title: &'static str,
    /// The family name in the notice, and the version words that follow "version".
    pub(super) notice_family: &'static str,
    pub(super) notice_version: &'static str,
}

pub(super) const GNU: &[GnuLicense] = &[
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
