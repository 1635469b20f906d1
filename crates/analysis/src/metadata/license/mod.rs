//! Licenses: which files hold them, which license a text is, and SPDX ids for manifest strings.
//!
//! Detection normalises the text (copyright lines dropped, lowercased, every run of punctuation
//! and whitespace collapsed to one space) and then looks for phrases that only one license uses.
//! Each rule (in `rules`) lists *anchors* (sets of phrases that must all be present; one set is
//! enough), *supporting* phrases that raise the confidence, and *forbidden* phrases that belong
//! to a sibling license (BSD-2 must not have BSD-3's endorsement clause). The GNU family is told
//! apart by its title with the version date, or by its standard notice, and `-or-later` is chosen
//! when "or (at your option) any later version" appears outside the "How to apply these terms"
//! appendix, which every full GNU text carries.
//!
//! - `detect`: [`detect_license`], which license a text is (normalisation, scoring, the GNU
//!   family), over the phrase tables of `rules`.
//! - `spdx`: [`spdx_from_manifest`], SPDX ids and expressions from the license strings of
//!   manifests (also used to read `SPDX-License-Identifier` lines and short license files).
//! - this file: [`LicenseMatch`], the read limit and which paths are license files.

mod detect;
mod rules;
mod spdx;

use serde::Serialize;

pub use self::detect::detect_license;
pub use self::spdx::spdx_from_manifest;
use super::text::{file_name, folders};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
