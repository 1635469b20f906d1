//! Opening a local repository or fetching a remote one, and resolving the requested ref to a commit.
//!
//! Remote repositories are fetched into a fresh bare repository: exactly one ref, shallow (depth 1),
//! without tags, submodules, LFS, hooks or filters; no worktree is ever written. The byte cap and the
//! deadline are enforced from libgit2's transfer-progress callback, which aborts the transfer.
//!
//! Credentials come from a mounted Secret ([`Credentials::from_dir`]): a token or password for
//! https, a private key (and passphrase) for ssh. Every SSH connection verifies the server's host key
//! against the Secret's `known_hosts` in libgit2's certificate callback before anything else is
//! sent; without a matching key it is refused (see [`crate::known_hosts`]). Key material and
//! passwords never appear in `Debug` output, logs or errors.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use git2::{
    AutotagOption, CertificateCheckStatus, Cred, CredentialType, Direction, Oid, Remote, RemoteCallbacks,
    Repository,
};

use crate::known_hosts::{self, KnownHosts};
use crate::{Error, Result};

/// Where a repository comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A git repository on local disk (local mode).
    Local(PathBuf),
    /// An `https://`, `ssh://` or scp-like (`git@host:org/repo`) URL.
    Remote(String),
}

impl Source {
    /// Parses a URL or a local path. Refuses `file://`, `git://` and `http://` and any other scheme,
    /// and credentials inside a URL, naming the rule that refused it.
    pub fn parse(input: &str) -> Result<Source> {
        let lower = input.to_ascii_lowercase();
        for refused in ["file://", "git://", "http://"] {
            if lower.starts_with(refused) {
                return Err(Error::InvalidSource(format!(
                    "the {refused} scheme is refused: use https:// or ssh://"
                )));
            }
        }
        if let Some(rest) = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("ssh://"))
        {
            let authority = rest.split('/').next().unwrap_or_default();
            let userinfo = authority.rsplit_once('@').map(|(u, _)| u);
            if lower.starts_with("https://") && userinfo.is_some()
                || userinfo.is_some_and(|u| u.contains(':'))
            {
                return Err(Error::InvalidSource(
                    "credentials in the URL are refused: pass them with --credentials-dir".into(),
                ));
            }
            return Ok(Source::Remote(input.to_string()));
        }
        if lower.contains("://") {
            return Err(Error::InvalidSource(
                "only https:// and ssh:// URLs are accepted".into(),
            ));
        }
        let path = Path::new(input);
        if path.exists() {
            return Ok(Source::Local(path.to_path_buf()));
        }
        if let Some((user_host, _)) = input.split_once(':')
            && user_host.contains('@')
        {
            return Ok(Source::Remote(input.to_string()));
        }
        Err(Error::InvalidSource(format!(
            "{input:?} is neither an https/ssh URL nor an existing local path"
        )))
    }
}

/// The revision to index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RefRequest {
    /// The remote's default branch (for a local repository: its `HEAD`).
    #[default]
    Default,
    /// A branch.
    Branch(String),
    /// A tag (annotated tags are peeled to their commit).
    Tag(String),
    /// A full commit sha.
    Commit(String),
}

impl RefRequest {
    /// How the request reads in run records (`None` for the default branch).
    pub fn describe(&self) -> Option<&str> {
        match self {
            RefRequest::Default => None,
            RefRequest::Branch(name) | RefRequest::Tag(name) | RefRequest::Commit(name) => Some(name),
        }
    }
}

/// Username and password (or token) for https remotes.
#[derive(Clone)]
pub struct HttpsCredentials {
    /// The user name (`git` or anything the host accepts with a token).
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl std::fmt::Debug for HttpsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// An SSH private key (PEM or OpenSSH format) and its passphrase. `Debug` never prints either.
#[derive(Clone)]
pub struct SshKey {
    /// User to log in as when the URL names none (default `git`).
    pub username: Option<String>,
    /// The private key, as the `identity` file holds it.
    pub private_key: String,
    /// The passphrase of an encrypted key.
    pub passphrase: Option<String>,
}

impl std::fmt::Debug for SshKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshKey")
            .field("username", &self.username)
            .field("private_key", &"<redacted>")
            .field("passphrase", &self.passphrase.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Git credentials: what a mounted Secret holds. Empty by default (public https repositories).
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Token or password for https remotes.
    pub https: Option<HttpsCredentials>,
    /// Private key for ssh remotes.
    pub ssh_key: Option<SshKey>,
    /// Host keys SSH servers are verified against; an SSH fetch without it is refused.
    pub known_hosts: Option<KnownHosts>,
}

/// Largest credentials file read (a Kubernetes Secret holds at most 1 MiB in all).
const MAX_CREDENTIAL_FILE: u64 = 1024 * 1024;

impl Credentials {
    /// Reads a credentials folder (a mounted Secret):
    /// - `username` and `password` (or a token) for https; `username` defaults to `git`;
    /// - `identity` (or `ssh-privatekey`, the key of a `kubernetes.io/ssh-auth` Secret): an SSH
    ///   private key in PEM or OpenSSH format, with an optional `passphrase`; `username` then names
    ///   the SSH user when the URL has none;
    /// - `known_hosts`: the OpenSSH host keys SSH servers are verified against.
    ///
    /// Errors name the file, never its contents.
    pub fn from_dir(dir: &Path) -> Result<Credentials> {
        let read = |name: &str| -> Result<Option<String>> {
            let path = dir.join(name);
            let io = |source| Error::Io {
                path: path.display().to_string(),
                source,
            };
            match std::fs::metadata(&path) {
                Ok(meta) if meta.len() > MAX_CREDENTIAL_FILE => {
                    return Err(Error::Credentials(format!(
                        "{} is larger than {MAX_CREDENTIAL_FILE} bytes",
                        path.display()
                    )));
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io(e)),
            }
            let bytes = std::fs::read(&path).map_err(io)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::Credentials(format!("{} is not UTF-8 text", path.display())))?;
            Ok(Some(text))
        };
        let line = |text: String| text.trim_end_matches(['\n', '\r']).to_string();
        let username = read("username")?.map(line);
        let password = read("password")?.map(line);
        let identity = match read("identity")? {
            Some(key) => Some(key),
            None => read("ssh-privatekey")?,
        };
        let passphrase = read("passphrase")?.map(line);
        let known_hosts = read("known_hosts")?.map(|text| KnownHosts::parse(&text));

        let ssh_key = match identity {
            Some(private_key) => {
                if !(private_key.contains("-----BEGIN ") && private_key.contains("PRIVATE KEY-----")) {
                    return Err(Error::Credentials(format!(
                        "{} is not a PEM or OpenSSH private key",
                        dir.join("identity").display()
                    )));
                }
                Some(SshKey {
                    username: username.clone(),
                    private_key,
                    passphrase,
                })
            }
            None if passphrase.is_some() => {
                return Err(Error::Credentials(format!(
                    "{} has a passphrase but no identity (SSH private key)",
                    dir.display()
                )));
            }
            None => None,
        };
        let https = match (username, password) {
            (username, Some(password)) => Some(HttpsCredentials {
                username: username.unwrap_or_else(|| "git".into()),
                password,
            }),
            (Some(_), None) if ssh_key.is_none() => {
                return Err(Error::Credentials(format!(
                    "{} has a username but no password",
                    dir.display()
                )));
            }
            _ => None,
        };
        Ok(Credentials {
            https,
            ssh_key,
            known_hosts,
        })
    }
}

/// How to fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Which revision.
    pub git_ref: RefRequest,
    /// Abort a fetch that receives more bytes than this.
    pub max_bytes: u64,
    /// Abort a fetch still running after this long.
    pub timeout: Duration,
    /// Shallow depth (1 = just the commit); 0 fetches full history.
    pub depth: i32,
    /// Credentials and SSH host keys.
    pub credentials: Credentials,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            git_ref: RefRequest::Default,
            max_bytes: 2 * 1024 * 1024 * 1024,
            timeout: Duration::from_secs(600),
            depth: 1,
            credentials: Credentials::default(),
        }
    }
}

/// A repository opened at a resolved commit.
pub struct Checkout {
    /// The repository (bare for fetched ones); read objects from its database.
    pub repo: Repository,
    /// The resolved commit.
    pub commit: Oid,
    /// The ref it was resolved from, e.g. `main`, `v1.2.0`, or the sha itself for a commit request.
    pub resolved_ref: String,
    /// Bytes received over the network (0 for a local repository).
    pub fetched_bytes: u64,
}

impl std::fmt::Debug for Checkout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkout")
            .field("path", &self.repo.path())
            .field("commit", &self.commit)
            .field("resolved_ref", &self.resolved_ref)
            .field("fetched_bytes", &self.fetched_bytes)
            .finish()
    }
}

/// Opens a local repository, or fetches a remote one into `work_dir`, and resolves the ref.
pub fn open_or_fetch(source: &Source, work_dir: &Path, options: &FetchOptions) -> Result<Checkout> {
    match source {
        Source::Local(path) => open_local(path, &options.git_ref),
        Source::Remote(url) => fetch_remote(url, work_dir, options),
    }
}

fn open_local(path: &Path, git_ref: &RefRequest) -> Result<Checkout> {
    let repo = Repository::open(path)?;
    let (commit, resolved_ref) = match git_ref {
        RefRequest::Default => {
            let head = repo.head()?;
            let name = head.shorthand().unwrap_or("HEAD").to_string();
            (head.peel_to_commit()?.id(), name)
        }
        RefRequest::Branch(branch) => {
            let reference = repo
                .find_reference(&format!("refs/heads/{branch}"))
                .or_else(|_| repo.find_reference(&format!("refs/remotes/origin/{branch}")))
                .map_err(|_| Error::RefNotFound(format!("branch {branch}")))?;
            (reference.peel_to_commit()?.id(), branch.clone())
        }
        RefRequest::Tag(tag) => {
            let reference = repo
                .find_reference(&format!("refs/tags/{tag}"))
                .map_err(|_| Error::RefNotFound(format!("tag {tag}")))?;
            (reference.peel_to_commit()?.id(), tag.clone())
        }
        RefRequest::Commit(sha) => {
            let oid = Oid::from_str(sha).map_err(|_| Error::RefNotFound(format!("commit {sha}")))?;
            let commit = repo
                .find_commit(oid)
                .map_err(|_| Error::RefNotFound(format!("commit {sha}")))?;
            (commit.id(), sha.clone())
        }
    };
    Ok(Checkout {
        repo,
        commit,
        resolved_ref,
        fetched_bytes: 0,
    })
}

/// Where a fetched ref is stored in the bare repository.
const FETCHED_REF: &str = "refs/reposage/fetched";

fn fetch_remote(url: &str, work_dir: &Path, options: &FetchOptions) -> Result<Checkout> {
    let dir = work_dir.join("repository.git");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let repo = Repository::init_bare(&dir)?;
    let deadline = Instant::now() + options.timeout;
    let endpoint = ssh_endpoint(url);
    // The reason a callback aborted the transfer: it beats libgit2's generic message.
    let failure: Cell<Option<Error>> = Cell::new(None);
    let (refspec, resolved_ref) = {
        let mut remote = repo.remote_anonymous(url)?;
        let callbacks = callbacks(options, endpoint.clone(), &failure);
        resolve_remote_ref(&mut remote, callbacks, options, deadline)
            .map_err(|e| failure.take().unwrap_or(e))?
    };

    let received = Cell::new(0u64);
    {
        let mut remote = repo.remote_anonymous(url)?;
        let mut callbacks = callbacks(options, endpoint, &failure);
        callbacks.transfer_progress(|progress| {
            received.set(progress.received_bytes() as u64);
            if progress.received_bytes() as u64 > options.max_bytes {
                failure.set(Some(Error::TooLarge {
                    limit: options.max_bytes,
                }));
                return false;
            }
            if Instant::now() > deadline {
                failure.set(Some(Error::Timeout {
                    seconds: options.timeout.as_secs(),
                }));
                return false;
            }
            true
        });
        let mut fetch = git2::FetchOptions::new();
        fetch
            .remote_callbacks(callbacks)
            .download_tags(AutotagOption::None)
            .update_fetchhead(false)
            .depth(options.depth);
        let result = remote.fetch(&[refspec.as_str()], Some(&mut fetch), None);
        if let Some(error) = failure.take() {
            return Err(error);
        }
        result.map_err(ssh_key_error)?;
    }
    let commit = repo.find_reference(FETCHED_REF)?.peel_to_commit()?.id();
    Ok(Checkout {
        repo,
        commit,
        resolved_ref,
        fetched_bytes: received.get(),
    })
}

/// Lists the remote's refs (no objects are transferred) and picks the refspec for the request.
fn resolve_remote_ref(
    remote: &mut Remote<'_>,
    callbacks: RemoteCallbacks<'_>,
    options: &FetchOptions,
    deadline: Instant,
) -> Result<(String, String)> {
    let connection = remote
        .connect_auth(Direction::Fetch, Some(callbacks), None)
        .map_err(ssh_key_error)?;
    if Instant::now() > deadline {
        return Err(Error::Timeout {
            seconds: options.timeout.as_secs(),
        });
    }
    let heads: Vec<(String, Oid)> = connection
        .list()?
        .iter()
        .map(|head| (head.name().to_string(), head.oid()))
        .collect();
    let has = |name: &str| heads.iter().any(|(n, _)| n == name);
    Ok(match &options.git_ref {
        RefRequest::Default => {
            let default = connection
                .default_branch()
                .ok()
                .and_then(|buf| buf.as_str().map(str::to_string).ok())
                .ok_or_else(|| Error::RefNotFound("the remote's default branch".into()))?;
            let short = default
                .strip_prefix("refs/heads/")
                .unwrap_or(&default)
                .to_string();
            (format!("+{default}:{FETCHED_REF}"), short)
        }
        RefRequest::Branch(branch) => {
            let full = format!("refs/heads/{branch}");
            if !has(&full) {
                return Err(Error::RefNotFound(format!("branch {branch}")));
            }
            (format!("+{full}:{FETCHED_REF}"), branch.clone())
        }
        RefRequest::Tag(tag) => {
            let full = format!("refs/tags/{tag}");
            if !has(&full) {
                return Err(Error::RefNotFound(format!("tag {tag}")));
            }
            (format!("+{full}:{FETCHED_REF}"), tag.clone())
        }
        RefRequest::Commit(sha) => {
            Oid::from_str(sha).map_err(|_| Error::RefNotFound(format!("commit {sha}")))?;
            (format!("+{sha}:{FETCHED_REF}"), sha.clone())
        }
    })
}

/// libssh2 parses the private key only when it authenticates, and says "Unsupported private key
/// format" for a wrong passphrase too: name both causes.
fn ssh_key_error(error: git2::Error) -> Error {
    if error.class() == git2::ErrorClass::Ssh && error.message().contains("private key") {
        return Error::Credentials(
            "the SSH identity could not be used: it is not a supported private key (PEM or OpenSSH \
             format) or its passphrase is wrong"
                .into(),
        );
    }
    Error::Git(error)
}

/// The SSH user libgit2 logs in as when neither the URL nor the credentials name one.
const DEFAULT_SSH_USER: &str = "git";

/// Credentials and host-key verification for one connection. A refused host key is stored in
/// `failure` so the caller reports it instead of libgit2's generic message.
fn callbacks<'a>(
    options: &'a FetchOptions,
    endpoint: Option<(String, u16)>,
    failure: &'a Cell<Option<Error>>,
) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    let credentials = &options.credentials;
    let (key_tries, password_tries) = (Cell::new(0u32), Cell::new(0u32));
    callbacks.credentials(move |_url, username_from_url, allowed| {
        let ssh_user = username_from_url
            .or_else(|| credentials.ssh_key.as_ref()?.username.as_deref())
            .unwrap_or(DEFAULT_SSH_USER);
        if allowed.contains(CredentialType::SSH_KEY)
            && let Some(key) = &credentials.ssh_key
        {
            // libgit2 asks again after a rejected key; offering it twice would loop.
            key_tries.set(key_tries.get() + 1);
            if key_tries.get() > 1 {
                return Err(git2::Error::from_str(
                    "the SSH server rejected the configured identity (private key)",
                ));
            }
            return Cred::ssh_key_from_memory(
                ssh_user,
                None,
                &key.private_key,
                key.passphrase.as_deref(),
            )
            .map_err(|_| {
                git2::Error::from_str(
                    "the identity is not a usable SSH private key, or its passphrase is wrong",
                )
            });
        }
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(ssh_user);
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT)
            && let Some(https) = &credentials.https
        {
            password_tries.set(password_tries.get() + 1);
            if password_tries.get() > 1 {
                return Err(git2::Error::from_str("the configured credentials were rejected"));
            }
            return Cred::userpass_plaintext(&https.username, &https.password);
        }
        Err(git2::Error::from_str(if allowed.contains(CredentialType::SSH_KEY) {
            "the SSH server asks for a key: put an `identity` file (and `known_hosts`) in the credentials"
        } else {
            "the remote asks for credentials: put `username` and `password` (or a token) files in the credentials"
        }))
    });
    callbacks.certificate_check(move |cert, _hostname| {
        let Some(hostkey) = cert.as_hostkey() else {
            // TLS: libgit2's own certificate verification decides.
            return Ok(CertificateCheckStatus::CertificatePassthrough);
        };
        let refuse = |error: Error| {
            let message = error.to_string();
            failure.set(Some(error));
            Err(git2::Error::from_str(&message))
        };
        let Some((host, port)) = &endpoint else {
            return refuse(Error::InvalidSource(
                "an SSH connection to a URL whose host cannot be read is refused".into(),
            ));
        };
        let Some(key) = hostkey.hostkey() else {
            return refuse(Error::Credentials(format!(
                "the SSH server {host} did not present a host key that can be verified"
            )));
        };
        let key_type = hostkey.hostkey_type().map_or("unknown", |t| t.name());
        match known_hosts::verify(credentials.known_hosts.as_ref(), host, *port, key_type, key) {
            Ok(()) => Ok(CertificateCheckStatus::CertificateOk),
            Err(error) => refuse(error.into()),
        }
    });
    callbacks
}

/// Host and port of an `ssh://` or scp-like (`[user@]host:path`) URL; `None` for other URLs.
pub fn ssh_endpoint(url: &str) -> Option<(String, u16)> {
    const SSH_PORT: u16 = 22;
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("ssh://") {
        let parsed = url::Url::parse(url).ok()?;
        let host = parsed.host_str()?.trim_start_matches('[').trim_end_matches(']');
        return Some((host.to_ascii_lowercase(), parsed.port().unwrap_or(SSH_PORT)));
    }
    if lower.contains("://") {
        return None;
    }
    // scp-like: the host ends at the first ':' (an IPv6 address is bracketed)
    let after_user = match url.split_once('@') {
        Some((user, rest)) if !user.contains([':', '/']) => rest,
        _ => url,
    };
    let host = if let Some(bracketed) = after_user.strip_prefix('[') {
        bracketed.split_once(']')?.0
    } else {
        after_user.split_once(':')?.0
    };
    (!host.is_empty() && !host.contains('/')).then(|| (host.to_ascii_lowercase(), SSH_PORT))
}
