//! Which remote URLs RepoSage may fetch from, checked before any network traffic.
//!
//! Rules, in order (the first that applies decides):
//! 1. Only `https://`, `ssh://` and scp-like `user@host:path` URLs; `file://`, `git://`, `http://`
//!    and every other scheme are refused (see [`Source::parse`](crate::Source::parse)).
//! 2. No credentials in the URL: user names are allowed for ssh (`git@`), passwords never.
//! 3. A host named in the allowlist (exact, case-insensitive) is accepted as is: on-prem Git servers
//!    on private addresses must be named explicitly.
//! 4. Otherwise the host must resolve, and every address it resolves to must be public: loopback,
//!    private (RFC 1918, unique-local), link-local (including the cloud metadata address
//!    169.254.169.254), carrier-grade NAT, unspecified, broadcast, multicast, documentation and
//!    IPv4-mapped/compatible forms of those are refused.
//!
//! libgit2 resolves the host again when it connects, so a DNS server that answers differently the
//! second time (rebinding) is not stopped here; the Job's NetworkPolicy is the second line.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};

use crate::{Error, Result};

/// The policy: which hosts are allowed despite resolving to non-public addresses.
#[derive(Debug, Clone, Default)]
pub struct UrlPolicy {
    allowed_hosts: Vec<String>,
}

impl UrlPolicy {
    /// A policy that additionally accepts the named hosts (lower-cased, exact match).
    pub fn with_allowed_hosts(hosts: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            allowed_hosts: hosts.into_iter().map(|h| h.into().to_ascii_lowercase()).collect(),
        }
    }

    /// Checks `url` (already accepted by [`Source::parse`](crate::Source::parse) as remote),
    /// resolving its host. The error names the rule that refused it.
    pub fn check(&self, url: &str) -> Result<()> {
        let (host, port) = host_and_port(url)?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if self.allowed_hosts.contains(&host) {
            return Ok(());
        }
        if host == "localhost" || host.ends_with(".localhost") {
            return Err(refused(&host, "it is the local machine"));
        }
        let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => (host.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| Error::InvalidSource(format!("cannot resolve host {host}: {e}")))?
                .map(|a| a.ip())
                .collect(),
        };
        if addresses.is_empty() {
            return Err(Error::InvalidSource(format!(
                "host {host} resolves to no address"
            )));
        }
        for ip in addresses {
            if let Some(why) = non_public(ip) {
                return Err(refused(&host, &format!("it resolves to {ip}, {why}")));
            }
        }
        Ok(())
    }
}

fn refused(host: &str, why: &str) -> Error {
    Error::InvalidSource(format!(
        "host {host} is refused because {why}; name it in the allowed hosts to fetch from it anyway"
    ))
}

/// The host and port of an https, ssh or scp-like URL.
fn host_and_port(url: &str) -> Result<(String, u16)> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("ssh://") {
        let parsed = url::Url::parse(url).map_err(|e| Error::InvalidSource(format!("invalid URL: {e}")))?;
        if parsed.password().is_some() || (parsed.scheme() == "https" && !parsed.username().is_empty()) {
            return Err(Error::InvalidSource(
                "credentials in the URL are refused: pass them with --credentials-dir".into(),
            ));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::InvalidSource("the URL has no host".into()))?;
        let port = parsed.port_or_known_default().unwrap_or(22);
        return Ok((host.to_string(), port));
    }
    // scp-like: user@host:path
    let (user_host, _) = url
        .split_once(':')
        .ok_or_else(|| Error::InvalidSource("expected user@host:path".into()))?;
    let host = user_host.rsplit_once('@').map_or(user_host, |(_, h)| h);
    if host.is_empty() {
        return Err(Error::InvalidSource("the URL has no host".into()));
    }
    Ok((host.to_string(), 22))
}

/// Why `ip` is not a public address, or `None` when it is.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped().or_else(|| embedded_v4(v6)) {
                return non_public_v4(v4);
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() {
                Some("the unspecified address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a unique-local (private) address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if first == 0x2001 && v6.segments()[1] == 0x0db8 {
                Some("a documentation address")
            } else {
                None
            }
        }
    }
}

/// The IPv4 address inside an IPv4-compatible (`::a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`) address.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let compatible = s[..6].iter().all(|x| *x == 0) && (s[6] != 0 || s[7] > 1);
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|x| *x == 0);
    (compatible || nat64).then(|| Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8))
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address (cloud metadata lives there)")
    } else if ip.is_unspecified() || a == 0 {
        Some("the unspecified network")
    } else if ip.is_broadcast() {
        Some("the broadcast address")
    } else if ip.is_multicast() || a >= 240 {
        Some("a multicast or reserved address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a carrier-grade NAT address")
    } else if ip.is_documentation() || (a == 198 && (b == 18 || b == 19)) {
        Some("a documentation or benchmarking address")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_reason(url: &str) -> String {
        UrlPolicy::default().check(url).unwrap_err().to_string()
    }

    #[test]
    fn loopback_private_link_local_and_metadata_hosts_are_refused() {
        for (url, why) in [
            ("https://localhost/a/b", "the local machine"),
            ("https://127.0.0.1/a/b", "loopback"),
            ("https://[::1]/a/b", "loopback"),
            ("https://10.0.0.5/a/b", "private"),
            ("https://172.16.3.4/a/b", "private"),
            ("ssh://git@192.168.1.10/a/b.git", "private"),
            ("git@192.168.1.10:a/b.git", "private"),
            ("https://169.254.169.254/latest/meta-data", "link-local"),
            ("https://[fe80::1]/a", "link-local"),
            ("https://[fd00::1]/a", "unique-local"),
            ("https://[::ffff:127.0.0.1]/a", "loopback"),
            ("https://[::ffff:169.254.169.254]/a", "link-local"),
            ("https://100.64.0.1/a", "carrier-grade NAT"),
            ("https://0.0.0.0/a", "unspecified"),
            ("https://224.0.0.1/a", "multicast"),
        ] {
            let reason = refused_reason(url);
            assert!(reason.contains(why), "{url}: {reason}");
            assert!(
                reason.contains("allowed hosts"),
                "the message says how to allow it: {reason}"
            );
        }
    }

    #[test]
    fn hosts_that_resolve_to_loopback_are_refused_after_resolution() {
        // `localhost.` with a trailing dot is not caught by name, only by what it resolves to
        let reason = refused_reason("https://localhost./a/b");
        assert!(
            reason.contains("loopback") || reason.contains("cannot resolve"),
            "{reason}"
        );
    }

    #[test]
    fn public_addresses_pass_and_the_allowlist_admits_named_private_hosts() {
        UrlPolicy::default()
            .check("https://140.82.112.3/org/repo")
            .unwrap();
        UrlPolicy::default()
            .check("ssh://git@[2606:4700::1111]/org/repo")
            .unwrap();
        let on_prem = UrlPolicy::with_allowed_hosts(["git.internal.example", "10.1.2.3"]);
        on_prem.check("https://10.1.2.3/team/repo.git").unwrap();
        on_prem.check("git@GIT.internal.example:team/repo.git").unwrap();
        assert!(on_prem.check("https://10.1.2.4/team/repo.git").is_err());
    }

    #[test]
    fn passwords_in_urls_are_refused_even_for_allowed_hosts() {
        let policy = UrlPolicy::default();
        assert!(
            policy
                .check("https://user:pw@140.82.112.3/a")
                .unwrap_err()
                .to_string()
                .contains("credentials")
        );
        assert!(
            policy
                .check("ssh://git:pw@140.82.112.3/a")
                .unwrap_err()
                .to_string()
                .contains("credentials")
        );
    }

    #[test]
    fn unresolvable_hosts_are_reported() {
        let reason = refused_reason("https://no-such-host.invalid/a/b");
        assert!(
            reason.contains("cannot resolve host no-such-host.invalid"),
            "{reason}"
        );
    }
}
