//! Kubernetes object-name rules (RFC 1123), for names RepoSage takes from users or builds itself.

/// Longest DNS label: a Job, a Pod's container, a label value's name part.
pub const DNS_LABEL_MAX: usize = 63;
/// Longest DNS subdomain: most object names, Secrets included.
pub const DNS_SUBDOMAIN_MAX: usize = 253;

/// True for an RFC 1123 label: 1 to 63 lower-case letters, digits and `-`, starting and ending
/// with a letter or digit.
pub fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= DNS_LABEL_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// True for an RFC 1123 subdomain, the kind of name a Secret has: at most 253 characters of
/// dot-separated labels, each a valid [DNS label](is_dns_label) (so `a..b` and `-a.b` are not).
pub fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty() && name.len() <= DNS_SUBDOMAIN_MAX && name.split('.').all(is_dns_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_rfc_1123() {
        for good in ["a", "a-b", "0", "repo-1", &"x".repeat(63)] {
            assert!(is_dns_label(good), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", "ä", &"x".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }

    #[test]
    fn every_label_of_a_subdomain_is_checked() {
        for good in ["a", "a.b", "openai-key", "team.openai-key.v2"] {
            assert!(is_dns_subdomain(good), "{good}");
        }
        let longest = [
            &*"x".repeat(63),
            &"x".repeat(63),
            &"x".repeat(63),
            &"x".repeat(61),
        ]
        .join(".");
        assert_eq!(longest.len(), 253);
        assert!(is_dns_subdomain(&longest));
        let too_long = longest + "x";
        assert_eq!(too_long.len(), 254);
        for bad in [
            "", ".", "a..b", "-a.b", "a.-b", "a-.b", "a.b.", ".a", "Bad Name", "a/b", &too_long,
        ] {
            assert!(!is_dns_subdomain(bad), "{bad}");
        }
    }
}
