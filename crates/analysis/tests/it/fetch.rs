use std::time::Duration;

use reposage_analysis::fetch::{HttpsCredentials, SshKey, ssh_endpoint};
use reposage_analysis::{Credentials, Error, FetchOptions, RefRequest, Source, open_or_fetch};
use reposage_testkit::{Entry, GitFixture};

fn options(git_ref: RefRequest) -> FetchOptions {
    FetchOptions {
        git_ref,
        // libgit2's `file://` transport cannot fetch shallow; servers (smart HTTP/SSH) get depth 1.
        depth: 0,
        ..FetchOptions::default()
    }
}

#[test]
fn source_parsing_accepts_https_ssh_scp_and_local_paths() {
    assert!(matches!(
        Source::parse("https://github.com/a/b").unwrap(),
        Source::Remote(_)
    ));
    assert!(matches!(
        Source::parse("ssh://git@github.com/a/b.git").unwrap(),
        Source::Remote(_)
    ));
    assert!(matches!(
        Source::parse("git@github.com:a/b.git").unwrap(),
        Source::Remote(_)
    ));
    let fixture = GitFixture::new();
    assert!(matches!(
        Source::parse(fixture.path().to_str().unwrap()).unwrap(),
        Source::Local(_)
    ));
}

#[test]
fn source_parsing_refuses_other_schemes_and_credentials_naming_the_rule() {
    for (input, rule) in [
        ("file:///etc", "file:// scheme is refused"),
        ("git://example.com/a", "git:// scheme is refused"),
        ("http://example.com/a", "http:// scheme is refused"),
        (
            "https://user:secret@example.com/a",
            "credentials in the URL are refused",
        ),
        (
            "https://token@example.com/a",
            "credentials in the URL are refused",
        ),
        ("ssh://git:pw@example.com/a", "credentials in the URL are refused"),
        ("ftp://example.com/a", "only https:// and ssh://"),
        (
            "/no/such/folder",
            "neither an https/ssh URL nor an existing local path",
        ),
    ] {
        let error = Source::parse(input).unwrap_err().to_string();
        assert!(error.contains(rule), "{input}: {error}");
        assert!(
            !error.contains("secret") && !error.contains(":pw"),
            "credentials leaked: {error}"
        );
    }
}

#[test]
fn a_local_repository_resolves_head_branches_tags_and_commits() {
    let fixture = GitFixture::new();
    let first = fixture.commit("main", "one", &[("a", Entry::text("1"))]);
    fixture.tag("v1", first);
    let second = fixture.commit("main", "two", &[("a", Entry::text("2"))]);
    let feature = fixture.commit("feature", "f", &[("b", Entry::text("f"))]);
    let source = Source::Local(fixture.path().to_path_buf());
    let work = tempfile::tempdir().unwrap();
    let open = |r| open_or_fetch(&source, work.path(), &options(r)).unwrap();

    let head = open(RefRequest::Default);
    assert_eq!((head.commit, head.resolved_ref.as_str()), (second, "main"));
    assert_eq!(open(RefRequest::Branch("feature".into())).commit, feature);
    assert_eq!(open(RefRequest::Tag("v1".into())).commit, first);
    assert_eq!(open(RefRequest::Commit(first.to_string())).commit, first);

    let missing = open_or_fetch(&source, work.path(), &options(RefRequest::Branch("nope".into())));
    assert!(matches!(missing, Err(Error::RefNotFound(_))));
}

#[test]
fn a_remote_fetch_takes_exactly_the_requested_ref_into_a_bare_repository() {
    let fixture = GitFixture::new();
    let main = fixture.commit("main", "one", &[("a.txt", Entry::text("main"))]);
    let release = fixture.commit("release", "r", &[("r.txt", Entry::text("release"))]);
    fixture.tag("v2", release);
    // The `file://` transport stands in for a server; `Source::parse` refuses it for users.
    let source = Source::Remote(fixture.file_url());
    let work = tempfile::tempdir().unwrap();

    let default = open_or_fetch(&source, work.path(), &options(RefRequest::Default)).unwrap();
    assert_eq!((default.commit, default.resolved_ref.as_str()), (main, "main"));
    assert!(default.repo.is_bare());
    assert!(default.fetched_bytes > 0);
    assert!(
        default.repo.find_reference("refs/heads/release").is_err(),
        "only one ref is fetched"
    );
    assert!(
        default.repo.find_reference("refs/tags/v2").is_err(),
        "tags are not fetched"
    );

    let tag = open_or_fetch(&source, work.path(), &options(RefRequest::Tag("v2".into()))).unwrap();
    assert_eq!(tag.commit, release);
    let missing = open_or_fetch(&source, work.path(), &options(RefRequest::Branch("gone".into())));
    assert!(matches!(missing, Err(Error::RefNotFound(m)) if m.contains("gone")));
}

#[test]
fn a_fetch_over_the_byte_cap_is_aborted() {
    let fixture = GitFixture::new();
    // incompressible content, so the pack really is this large
    let mut noise = Vec::with_capacity(256 * 1024);
    let mut x: u32 = 12345;
    for _ in 0..256 * 1024 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        noise.push((x >> 16) as u8);
    }
    fixture.commit("main", "big", &[("blob.bin", Entry::File(noise))]);
    let source = Source::Remote(fixture.file_url());
    let work = tempfile::tempdir().unwrap();
    let capped = FetchOptions {
        max_bytes: 64 * 1024,
        timeout: Duration::from_secs(60),
        ..options(RefRequest::Default)
    };
    let error = open_or_fetch(&source, work.path(), &capped).unwrap_err();
    assert!(matches!(error, Error::TooLarge { limit: 65536 }), "{error}");
}

#[test]
fn https_credentials_never_print_the_password() {
    let credentials = HttpsCredentials {
        username: "git".into(),
        password: "s3cr3t-token".into(),
    };
    let printed = format!(
        "{credentials:?} {:?}",
        FetchOptions {
            credentials: Credentials {
                https: Some(credentials.clone()),
                ..Credentials::default()
            },
            ..FetchOptions::default()
        }
    );
    assert!(!printed.contains("s3cr3t"), "{printed}");
}

#[test]
fn ssh_keys_never_print_the_key_or_the_passphrase() {
    let key = SshKey {
        username: Some("git".into()),
        private_key: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n".into(),
        passphrase: Some("correct-horse".into()),
    };
    let printed = format!(
        "{key:?} {:?}",
        Credentials {
            ssh_key: Some(key.clone()),
            ..Credentials::default()
        }
    );
    assert!(
        !printed.contains("b3BlbnNzaC1rZXkt") && !printed.contains("correct-horse"),
        "{printed}"
    );
}

#[test]
fn a_credentials_folder_yields_https_or_ssh_credentials_and_names_bad_files_without_their_contents() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    assert!(matches!(
        Credentials::from_dir(dir.path()).unwrap(),
        Credentials {
            https: None,
            ssh_key: None,
            known_hosts: None
        }
    ));

    write("password", "tok3n\n");
    let https = Credentials::from_dir(dir.path()).unwrap().https.unwrap();
    assert_eq!(
        (https.username.as_str(), https.password.as_str()),
        ("git", "tok3n")
    );
    std::fs::remove_file(dir.path().join("password")).unwrap();

    write("identity", "not a key at all: hunter2");
    let error = Credentials::from_dir(dir.path()).unwrap_err().to_string();
    assert!(error.contains("not a PEM or OpenSSH private key"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");

    write(
        "identity",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    );
    write("passphrase", "pass\n");
    write(
        "known_hosts",
        "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n",
    );
    let ssh = Credentials::from_dir(dir.path()).unwrap();
    let key = ssh.ssh_key.unwrap();
    assert_eq!(key.passphrase.as_deref(), Some("pass"));
    assert!(!ssh.known_hosts.unwrap().is_empty());

    std::fs::remove_file(dir.path().join("identity")).unwrap();
    let error = Credentials::from_dir(dir.path()).unwrap_err().to_string();
    assert!(error.contains("passphrase but no identity"), "{error}");
}

#[test]
fn ssh_endpoints_are_read_from_ssh_and_scp_like_urls() {
    assert_eq!(
        ssh_endpoint("ssh://git@Git.Example.com:2222/org/repo.git"),
        Some(("git.example.com".into(), 2222))
    );
    assert_eq!(
        ssh_endpoint("ssh://git.example.com/org/repo.git"),
        Some(("git.example.com".into(), 22))
    );
    assert_eq!(
        ssh_endpoint("git@github.com:org/re@po.git"),
        Some(("github.com".into(), 22))
    );
    assert_eq!(ssh_endpoint("[::1]:org/repo"), Some(("::1".into(), 22)));
    assert_eq!(ssh_endpoint("https://github.com/org/repo"), None);
}

/// A real OpenSSH server on 127.0.0.1 serving `git-upload-pack`, for end-to-end SSH fetches.
mod sshd {
    use std::net::{TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    pub const SSHD: &str = "/usr/sbin/sshd";
    pub const PASSPHRASE: &str = "correct horse battery staple";

    /// sshd running in the foreground with a temporary config, host key and authorized user key.
    pub struct Server {
        child: Child,
        pub dir: tempfile::TempDir,
        pub port: u16,
        pub user: String,
    }

    fn run(command: &mut Command) -> String {
        let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
        assert!(
            output.status.success(),
            "{command:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn keygen(path: &Path, passphrase: &str) {
        run(Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-C",
                "reposage-test",
                "-N",
                passphrase,
                "-f",
            ])
            .arg(path));
    }

    impl Server {
        /// Starts sshd, failing (never skipping) with how to install it when it is missing.
        pub fn start() -> Server {
            assert!(
                Path::new(SSHD).exists(),
                "{SSHD} not found: the SSH fetch tests need a real OpenSSH server; install it with \
                 `apt-get install openssh-server` (scripts/test.sh does this through scripts/lib.sh)"
            );
            let dir = tempfile::tempdir().unwrap();
            let user = run(Command::new("id").arg("-un")).trim().to_string();
            keygen(&dir.path().join("host_ed25519"), "");
            keygen(&dir.path().join("user_ed25519"), PASSPHRASE);
            std::fs::copy(
                dir.path().join("user_ed25519.pub"),
                dir.path().join("authorized_keys"),
            )
            .unwrap();
            // sshd as root needs its privilege separation folder (the package's service makes it).
            if run(Command::new("id").arg("-u")).trim() == "0" {
                std::fs::create_dir_all("/run/sshd").unwrap();
            }
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let d = dir.path().display();
            let config = format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\nPidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
                 PermitRootLogin prohibit-password\nAllowUsers {user}\n\
                 SetEnv PATH=/usr/lib/git-core:/usr/bin:/bin\n"
            );
            let config_path = dir.path().join("sshd_config");
            std::fs::write(&config_path, config).unwrap();
            let log = std::fs::File::create(dir.path().join("sshd.log")).unwrap();
            let child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {SSHD}: {e}"));
            let mut server = Server {
                child,
                dir,
                port,
                user,
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                if let Ok(Some(status)) = server.child.try_wait() {
                    panic!("sshd exited with {status}: {}", server.log());
                }
                assert!(Instant::now() < deadline, "sshd did not listen: {}", server.log());
                std::thread::sleep(Duration::from_millis(50));
            }
            server
        }

        pub fn log(&self) -> String {
            std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
        }

        pub fn url(&self, repository: &Path) -> String {
            format!(
                "ssh://{}@127.0.0.1:{}{}",
                self.user,
                self.port,
                repository.display()
            )
        }

        /// The server's host public key line (`ssh-ed25519 AAAA… comment`).
        pub fn host_key(&self) -> String {
            std::fs::read_to_string(self.dir.path().join("host_ed25519.pub")).unwrap()
        }

        pub fn user_key(&self) -> String {
            std::fs::read_to_string(self.user_key_path()).unwrap()
        }

        pub fn user_key_path(&self) -> PathBuf {
            self.dir.path().join("user_ed25519")
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn ssh_options(server: &sshd::Server, known_hosts: Option<&str>, passphrase: &str) -> FetchOptions {
    FetchOptions {
        timeout: Duration::from_secs(60),
        credentials: Credentials {
            ssh_key: Some(SshKey {
                username: None,
                private_key: server.user_key(),
                passphrase: Some(passphrase.into()),
            }),
            known_hosts: known_hosts.map(reposage_analysis::known_hosts::KnownHosts::parse),
            https: None,
        },
        // a real server: shallow, exactly as in production
        ..FetchOptions::default()
    }
}

fn ssh_fixture() -> (GitFixture, git2::Oid) {
    let fixture = GitFixture::new();
    fixture.commit("main", "one", &[("a.txt", Entry::text("first"))]);
    let head = fixture.commit("main", "two", &[("a.txt", Entry::text("second"))]);
    (fixture, head)
}

#[test]
fn an_ssh_fetch_with_a_passphrase_protected_key_and_a_matching_host_key_succeeds_shallow() {
    let server = sshd::Server::start();
    let (fixture, head) = ssh_fixture();
    let url = server.url(fixture.path());
    // the URL policy refuses loopback unless the explicit allowlist names it
    assert!(Source::parse(&url).is_ok());
    assert!(reposage_analysis::UrlPolicy::default().check(&url).is_err());
    reposage_analysis::UrlPolicy::with_allowed_hosts(["127.0.0.1"])
        .check(&url)
        .expect("allowed host");

    let known_hosts = format!("[127.0.0.1]:{} {}", server.port, server.host_key());
    let work = tempfile::tempdir().unwrap();
    let checkout = open_or_fetch(
        &Source::Remote(url.clone()),
        work.path(),
        &ssh_options(&server, Some(&known_hosts), sshd::PASSPHRASE),
    )
    .unwrap_or_else(|e| panic!("{e}\nsshd log:\n{}", server.log()));
    assert_eq!((checkout.commit, checkout.resolved_ref.as_str()), (head, "main"));
    assert!(checkout.repo.is_shallow(), "depth 1 over SSH");
    assert!(checkout.fetched_bytes > 0);

    // a hashed known_hosts entry (as `HashKnownHosts yes` writes it) verifies the same key
    let name = reposage_analysis::known_hosts::host_name("127.0.0.1", server.port);
    let hashed = format!(
        "{} {}",
        reposage_analysis::known_hosts::hash_host_name(&name, b"0123456789abcdefghij"),
        server.host_key()
    );
    let work = tempfile::tempdir().unwrap();
    let checkout = open_or_fetch(
        &Source::Remote(url),
        work.path(),
        &ssh_options(&server, Some(&hashed), sshd::PASSPHRASE),
    )
    .unwrap_or_else(|e| panic!("{e}\nsshd log:\n{}", server.log()));
    assert_eq!(checkout.commit, head);
}

#[test]
fn an_ssh_fetch_without_a_matching_host_key_is_refused_naming_the_host_and_the_fix() {
    let server = sshd::Server::start();
    let (fixture, _) = ssh_fixture();
    let url = server.url(fixture.path());
    let host = format!("[127.0.0.1]:{}", server.port);
    let other_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    let key_body = server.host_key().split_whitespace().nth(1).unwrap().to_string();
    for (known_hosts, expected) in [
        (None, "no known_hosts file"),
        (
            Some(format!("other.example.com {}", server.host_key())),
            "is not in known_hosts",
        ),
        (Some(format!("{host} {other_key}")), "does not match"),
        (
            Some(format!(
                "{host} {}\n@revoked * {}",
                server.host_key(),
                server.host_key()
            )),
            "@revoked",
        ),
        // the plain name is for port 22 only: a server on another port needs [host]:port
        (
            Some(format!("127.0.0.1 {}", server.host_key())),
            "is not in known_hosts",
        ),
    ] {
        let work = tempfile::tempdir().unwrap();
        let error = open_or_fetch(
            &Source::Remote(url.clone()),
            work.path(),
            &ssh_options(&server, known_hosts.as_deref(), sshd::PASSPHRASE),
        )
        .unwrap_err();
        assert!(matches!(error, Error::HostKey(_)), "{known_hosts:?}: {error:?}");
        let message = error.to_string();
        assert!(message.contains(expected), "{known_hosts:?}: {message}");
        assert!(message.contains(&host), "{message}");
        assert!(!message.contains(&key_body) && !message.contains(sshd::PASSPHRASE));
    }
    // nothing was authenticated: the refusal came before the key was offered
    let log = server.log();
    assert!(!log.contains("Accepted publickey"), "{log}");
}

#[test]
fn a_wrong_passphrase_fails_without_printing_the_key_or_the_passphrase() {
    let server = sshd::Server::start();
    let (fixture, _) = ssh_fixture();
    let known_hosts = format!("[127.0.0.1]:{} {}", server.port, server.host_key());
    let work = tempfile::tempdir().unwrap();
    let wrong = "not the passphrase";
    let error = open_or_fetch(
        &Source::Remote(server.url(fixture.path())),
        work.path(),
        &ssh_options(&server, Some(&known_hosts), wrong),
    )
    .unwrap_err();
    let message = format!("{error} {error:?}");
    assert!(message.contains("passphrase is wrong"), "{message}");
    let key_line = server.user_key().lines().nth(1).unwrap().to_string();
    assert!(
        !message.contains(wrong) && !message.contains(&key_line),
        "{message}"
    );
    assert!(server.user_key_path().exists());
}
