//! OpenSSH `known_hosts` files and the verification of an SSH server's host key against them.
//!
//! An SSH fetch connects only when the key the server presents is listed for its host: no
//! `known_hosts`, an unknown host, a key of another type, a different key or a `@revoked` key all
//! refuse the connection with an error that names the host and says how to fix it.
//!
//! Supported, as OpenSSH writes and reads them (`sshd(8)`, section SSH_KNOWN_HOSTS FILE FORMAT):
//! - host patterns as comma lists of names or addresses, with `*` and `?` wildcards and `!`
//!   negation, and `[host]:port` for servers on a port other than 22;
//! - hashed host names `|1|base64(salt)|base64(HMAC-SHA1(salt, host))` (`HashKnownHosts yes`);
//! - `@revoked` lines: that key is refused, whatever host pattern the line names;
//! - `@cert-authority` lines are ignored (libgit2 presents plain host keys, never certificates),
//!   and an error mentions them so the cause is clear.
//!
//! Malformed lines are skipped, as OpenSSH skips them.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// How to fix a missing or wrong host key, appended to every refusal.
const HOW_TO_FIX: &str = "add the host's public key to the `known_hosts` file of the credentials \
Secret (e.g. the output of `ssh-keyscan -p PORT HOST`, checked against the fingerprints the Git \
host publishes)";

/// The SSH port a `known_hosts` host pattern names without brackets.
const DEFAULT_SSH_PORT: u16 = 22;

/// Why a server's host key was refused. Every message names the host and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostKeyError {
    /// The credentials hold no `known_hosts` file (or it lists no key), so nothing can be verified.
    #[error(
        "refusing to connect to {host}: its SSH host key cannot be verified because the credentials \
         have no known_hosts file; {HOW_TO_FIX}"
    )]
    NoKnownHosts {
        /// The host as `known_hosts` names it (`host`, or `[host]:port`).
        host: String,
    },
    /// `known_hosts` lists no key for the host.
    #[error(
        "refusing to connect to {host}: its SSH host key ({key_type} {fingerprint}) is not in \
         known_hosts{note}; {HOW_TO_FIX}"
    )]
    UnknownHost {
        /// The host as `known_hosts` names it.
        host: String,
        /// Type of the key the server presented.
        key_type: String,
        /// `SHA256:…` fingerprint of the key the server presented.
        fingerprint: String,
        /// Extra context (ignored `@cert-authority` lines), empty or starting with a space.
        note: String,
    },
    /// `known_hosts` lists keys for the host, but none of the type the server presented.
    #[error(
        "refusing to connect to {host}: the server presented a {key_type} host key ({fingerprint}) \
         but known_hosts lists only {known} keys for it; {HOW_TO_FIX}"
    )]
    WrongKeyType {
        /// The host as `known_hosts` names it.
        host: String,
        /// Type of the key the server presented.
        key_type: String,
        /// `SHA256:…` fingerprint of the key the server presented.
        fingerprint: String,
        /// The key types known for the host, comma-separated.
        known: String,
    },
    /// `known_hosts` lists a different key of the same type for the host.
    #[error(
        "refusing to connect to {host}: its SSH host key ({key_type} {fingerprint}) does not match \
         the one in known_hosts — someone may be intercepting the connection; if the host's key was \
         really changed, update the `known_hosts` file of the credentials Secret"
    )]
    Mismatch {
        /// The host as `known_hosts` names it.
        host: String,
        /// Type of the key the server presented.
        key_type: String,
        /// `SHA256:…` fingerprint of the key the server presented.
        fingerprint: String,
    },
    /// The presented key is marked `@revoked`.
    #[error(
        "refusing to connect to {host}: its SSH host key ({key_type} {fingerprint}) is marked \
         @revoked in known_hosts"
    )]
    Revoked {
        /// The host as `known_hosts` names it.
        host: String,
        /// Type of the key the server presented.
        key_type: String,
        /// `SHA256:…` fingerprint of the key the server presented.
        fingerprint: String,
    },
}

/// A parsed `known_hosts` file. Host keys are public: `Debug` may show them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownHosts {
    entries: Vec<Entry>,
    cert_authorities: usize,
    skipped: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    revoked: bool,
    hosts: Hosts,
    key_type: String,
    key: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Hosts {
    /// `|1|salt|hmac`: one host name, hashed.
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
    /// Comma-separated patterns, lowercased.
    Patterns(Vec<Pattern>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    negated: bool,
    glob: String,
}

impl KnownHosts {
    /// Parses the text of a `known_hosts` file. Blank lines and `#` comments are ignored; malformed
    /// lines are skipped (counted by [`KnownHosts::skipped_lines`]).
    pub fn parse(text: &str) -> KnownHosts {
        let mut known = KnownHosts::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace().peekable();
            let mut revoked = false;
            match fields.peek().copied() {
                Some("@cert-authority") => {
                    known.cert_authorities += 1;
                    continue;
                }
                Some("@revoked") => {
                    revoked = true;
                    fields.next();
                }
                Some(marker) if marker.starts_with('@') => {
                    known.skipped += 1;
                    continue;
                }
                _ => {}
            }
            let (Some(hosts), Some(key_type), Some(key)) = (fields.next(), fields.next(), fields.next())
            else {
                known.skipped += 1;
                continue;
            };
            let (Some(hosts), Ok(key)) = (parse_hosts(hosts), STANDARD.decode(key)) else {
                known.skipped += 1;
                continue;
            };
            known.entries.push(Entry {
                revoked,
                hosts,
                key_type: key_type.to_string(),
                key,
            });
        }
        known
    }

    /// True when the file lists no usable key (only comments, `@cert-authority` or bad lines).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many `@cert-authority` lines were ignored.
    pub fn cert_authority_lines(&self) -> usize {
        self.cert_authorities
    }

    /// How many malformed lines were skipped.
    pub fn skipped_lines(&self) -> usize {
        self.skipped
    }

    /// Checks the host key `key` (the SSH wire-format public key blob, as in `known_hosts` after
    /// base64 decoding) that the server `host`:`port` presented. `key_type` is its type name
    /// (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, …); the type embedded in the blob wins
    /// when it is readable.
    pub fn verify(&self, host: &str, port: u16, key_type: &str, key: &[u8]) -> Result<(), HostKeyError> {
        verify(Some(self), host, port, key_type, key)
    }
}

/// Checks a presented host key against `known_hosts`, or refuses it when there is none.
pub fn verify(
    known_hosts: Option<&KnownHosts>,
    host: &str,
    port: u16,
    key_type: &str,
    key: &[u8],
) -> Result<(), HostKeyError> {
    let name = host_name(host, port);
    let Some(known) = known_hosts.filter(|k| !k.is_empty()) else {
        return Err(HostKeyError::NoKnownHosts { host: name });
    };
    let key_type = blob_key_type(key).unwrap_or(key_type).to_string();
    let fingerprint = fingerprint(key);
    if known.entries.iter().any(|e| e.revoked && e.key == key) {
        return Err(HostKeyError::Revoked {
            host: name,
            key_type,
            fingerprint,
        });
    }
    let for_host: Vec<&Entry> = known
        .entries
        .iter()
        .filter(|e| !e.revoked && e.hosts.matches(&name))
        .collect();
    if for_host.iter().any(|e| e.key_type == key_type && e.key == key) {
        return Ok(());
    }
    if for_host.iter().any(|e| e.key_type == key_type) {
        return Err(HostKeyError::Mismatch {
            host: name,
            key_type,
            fingerprint,
        });
    }
    if !for_host.is_empty() {
        let mut known: Vec<&str> = for_host.iter().map(|e| e.key_type.as_str()).collect();
        known.sort_unstable();
        known.dedup();
        return Err(HostKeyError::WrongKeyType {
            host: name,
            key_type,
            fingerprint,
            known: known.join(", "),
        });
    }
    let note = match known.cert_authorities {
        0 => String::new(),
        n => format!(
            " (its {n} @cert-authority line(s) are ignored: host certificates are not supported, \
             list the host's own key)"
        ),
    };
    Err(HostKeyError::UnknownHost {
        host: name,
        key_type,
        fingerprint,
        note,
    })
}

/// The name `known_hosts` files use for `host` on `port`: `host` on port 22, `[host]:port` otherwise.
pub fn host_name(host: &str, port: u16) -> String {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if port == DEFAULT_SSH_PORT {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// The `SHA256:…` fingerprint of a public key blob, as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(key)))
}

/// The `|1|salt|hash` form of `host_name` (a name as [`host_name`] builds it) with this salt, as
/// `ssh-keygen -H` writes it.
pub fn hash_host_name(host_name: &str, salt: &[u8]) -> String {
    format!(
        "|1|{}|{}",
        STANDARD.encode(salt),
        STANDARD.encode(hmac_sha1(salt, host_name))
    )
}

fn hmac_sha1(salt: &[u8], name: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail; an empty MAC would match nothing.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(salt) else {
        return Vec::new();
    };
    mac.update(name.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The key type at the start of an SSH public key blob (a length-prefixed string).
fn blob_key_type(key: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(key.get(..4)?.try_into().ok()?) as usize;
    let name = key.get(4..4usize.checked_add(len)?)?;
    std::str::from_utf8(name).ok().filter(|n| !n.is_empty())
}

fn parse_hosts(field: &str) -> Option<Hosts> {
    if let Some(hashed) = field.strip_prefix("|1|") {
        let (salt, hash) = hashed.split_once('|')?;
        return Some(Hosts::Hashed {
            salt: STANDARD.decode(salt).ok()?,
            hash: STANDARD.decode(hash).ok()?,
        });
    }
    if field.starts_with('|') {
        return None; // an unknown hash format
    }
    let patterns: Vec<Pattern> = field
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.strip_prefix('!') {
            Some(glob) => Pattern {
                negated: true,
                glob: glob.to_ascii_lowercase(),
            },
            None => Pattern {
                negated: false,
                glob: p.to_ascii_lowercase(),
            },
        })
        .collect();
    (!patterns.is_empty()).then_some(Hosts::Patterns(patterns))
}

impl Hosts {
    /// Whether `name` (as [`host_name`] builds it) is one of these hosts.
    fn matches(&self, name: &str) -> bool {
        match self {
            Hosts::Hashed { salt, hash } => {
                let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(salt) else {
                    return false;
                };
                mac.update(name.as_bytes());
                mac.verify_slice(hash).is_ok()
            }
            Hosts::Patterns(patterns) => {
                // A matching negated pattern excludes the host whatever else matches.
                if patterns.iter().any(|p| p.negated && glob_match(&p.glob, name)) {
                    return false;
                }
                patterns.iter().any(|p| !p.negated && glob_match(&p.glob, name))
            }
        }
    }
}

/// `*` (any run of characters) and `?` (one character) wildcards, as OpenSSH's `match_pattern`.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SSH public key blob: the type string, then `body` as one more string.
    fn blob(key_type: &str, body: &[u8]) -> Vec<u8> {
        let mut blob = Vec::new();
        for part in [key_type.as_bytes(), body] {
            blob.extend((part.len() as u32).to_be_bytes());
            blob.extend(part);
        }
        blob
    }

    fn ed25519(seed: u8) -> Vec<u8> {
        blob("ssh-ed25519", &[seed; 32])
    }

    fn line(hosts: &str, key: &[u8]) -> String {
        let key_type = blob_key_type(key).unwrap();
        format!("{hosts} {key_type} {} comment@example\n", STANDARD.encode(key))
    }

    #[test]
    fn a_plain_host_name_with_its_key_is_accepted_case_insensitively() {
        let key = ed25519(1);
        let known = KnownHosts::parse(&line("github.com", &key));
        assert_eq!(known.verify("GitHub.com", 22, "ssh-ed25519", &key), Ok(()));
    }

    #[test]
    fn comma_lists_and_wildcards_match_and_negation_excludes() {
        let key = ed25519(2);
        let known = KnownHosts::parse(&line(
            "git.example.com,10.0.0.7,*.corp.example,!evil.corp.example",
            &key,
        ));
        for host in ["git.example.com", "10.0.0.7", "a.corp.example"] {
            assert_eq!(known.verify(host, 22, "ssh-ed25519", &key), Ok(()), "{host}");
        }
        for host in ["evil.corp.example", "example.com"] {
            assert!(
                matches!(
                    known.verify(host, 22, "ssh-ed25519", &key),
                    Err(HostKeyError::UnknownHost { .. })
                ),
                "{host}"
            );
        }
    }

    #[test]
    fn a_hashed_entry_matches_only_its_host() {
        let key = ed25519(3);
        // the salt and HMAC `ssh-keygen -H` would write for this host
        let salt: Vec<u8> = (0u8..20).collect();
        let hashed = hash_host_name("git.example.com", &salt);
        assert!(hashed.starts_with("|1|AAECAwQFBgcICQoLDA0ODxAREhM=|"), "{hashed}");
        let known = KnownHosts::parse(&line(&hashed, &key));
        assert_eq!(known.verify("git.example.com", 22, "ssh-ed25519", &key), Ok(()));
        assert!(matches!(
            known.verify("other.example.com", 22, "ssh-ed25519", &key),
            Err(HostKeyError::UnknownHost { .. })
        ));
    }

    #[test]
    fn a_hashed_entry_written_by_ssh_keygen_is_recognised() {
        // HMAC-SHA1 with key "salt" over "example.com", computed independently (RFC 2104 test
        // vectors exercise the same construction): base64 of the 20-byte MAC.
        let salt = b"salt";
        let expected = {
            let mut mac = Hmac::<Sha1>::new_from_slice(salt).unwrap();
            mac.update(b"example.com");
            STANDARD.encode(mac.finalize().into_bytes())
        };
        assert_eq!(
            hash_host_name("example.com", salt),
            format!("|1|c2FsdA==|{expected}")
        );
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?")
        assert_eq!(
            hmac_sha1(b"Jefe", "what do ya want for nothing?"),
            [
                0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74, 0x16, 0xd5, 0xf1, 0x84, 0xdf,
                0x9c, 0x25, 0x9a, 0x7c, 0x79
            ]
        );
    }

    #[test]
    fn a_server_on_another_port_needs_the_bracketed_port_form() {
        let key = ed25519(4);
        let known = KnownHosts::parse(&line("[git.example.com]:2222", &key));
        assert_eq!(known.verify("git.example.com", 2222, "ssh-ed25519", &key), Ok(()));
        assert!(known.verify("git.example.com", 22, "ssh-ed25519", &key).is_err());
        // and the plain form is for port 22 only, as in OpenSSH
        let plain = KnownHosts::parse(&line("git.example.com", &key));
        let error = plain
            .verify("git.example.com", 2222, "ssh-ed25519", &key)
            .unwrap_err();
        assert!(error.to_string().contains("[git.example.com]:2222"), "{error}");
        // hashed names hash the bracketed form
        let salt = [7u8; 20];
        let hashed = KnownHosts::parse(&line(&hash_host_name("[127.0.0.1]:2222", &salt), &key));
        assert_eq!(hashed.verify("127.0.0.1", 2222, "ssh-ed25519", &key), Ok(()));
    }

    #[test]
    fn a_revoked_key_is_refused_even_when_it_is_also_listed() {
        let key = ed25519(5);
        let text = format!(
            "{}@revoked * {}",
            line("git.example.com", &key),
            line("", &key).trim_start()
        );
        let known = KnownHosts::parse(&text);
        let error = known
            .verify("git.example.com", 22, "ssh-ed25519", &key)
            .unwrap_err();
        assert!(matches!(error, HostKeyError::Revoked { .. }), "{error}");
        assert!(error.to_string().contains("@revoked"), "{error}");
    }

    #[test]
    fn a_key_of_another_type_is_refused_naming_the_known_types() {
        let known_key = blob("ssh-rsa", &[9; 64]);
        let presented = ed25519(6);
        let known = KnownHosts::parse(&line("git.example.com", &known_key));
        let error = known
            .verify("git.example.com", 22, "ssh-ed25519", &presented)
            .unwrap_err();
        assert!(
            matches!(&error, HostKeyError::WrongKeyType { known, key_type, .. }
                if known == "ssh-rsa" && key_type == "ssh-ed25519"),
            "{error}"
        );
    }

    #[test]
    fn a_different_key_of_the_same_type_is_a_mismatch_naming_the_host_and_fingerprint() {
        let known = KnownHosts::parse(&line("git.example.com", &ed25519(7)));
        let presented = ed25519(8);
        let error = known
            .verify("git.example.com", 22, "ssh-ed25519", &presented)
            .unwrap_err();
        assert!(matches!(error, HostKeyError::Mismatch { .. }), "{error}");
        let message = error.to_string();
        assert!(message.contains("git.example.com"), "{message}");
        assert!(message.contains(&fingerprint(&presented)), "{message}");
        assert!(message.contains("known_hosts"), "{message}");
    }

    #[test]
    fn no_known_hosts_refuses_and_says_how_to_fix_it() {
        let error = verify(None, "git.example.com", 22, "ssh-ed25519", &ed25519(1)).unwrap_err();
        assert_eq!(
            error,
            HostKeyError::NoKnownHosts {
                host: "git.example.com".into()
            }
        );
        let message = error.to_string();
        assert!(
            message.contains("git.example.com")
                && message.contains("`known_hosts` file of the credentials Secret"),
            "{message}"
        );
        // a file with only comments counts as none
        let empty = KnownHosts::parse("# nothing\n\n");
        assert!(matches!(
            empty.verify("git.example.com", 22, "ssh-ed25519", &ed25519(1)),
            Err(HostKeyError::NoKnownHosts { .. })
        ));
    }

    #[test]
    fn cert_authority_lines_are_ignored_with_a_note_and_bad_lines_skipped() {
        let key = ed25519(10);
        let text = format!(
            "@cert-authority *.example.com {}\nonly-two-fields ssh-ed25519\nhost ssh-ed25519 !!notbase64!!\n{}",
            STANDARD.encode(&key),
            line("other.example.org", &ed25519(11))
        );
        let known = KnownHosts::parse(&text);
        assert_eq!((known.cert_authority_lines(), known.skipped_lines()), (1, 2));
        let error = known
            .verify("git.example.com", 22, "ssh-ed25519", &key)
            .unwrap_err();
        assert!(error.to_string().contains("@cert-authority"), "{error}");
    }

    #[test]
    fn the_fingerprint_is_ssh_keygen_s_sha256_form() {
        // `ssh-keygen -lf` of this public key prints SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU
        let key = STANDARD
            .decode("AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")
            .unwrap();
        assert_eq!(
            fingerprint(&key),
            "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU"
        );
    }

    #[test]
    fn glob_matching_handles_stars_and_question_marks() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match("git?.example.com", "git1.example.com"));
        assert!(!glob_match("git?.example.com", "git.example.com"));
        assert!(glob_match("*.example.*", "a.example.org"));
        assert!(!glob_match("*.example.com", "example.com"));
        assert!(glob_match("[host]:22*", "[host]:2222"));
    }
}
