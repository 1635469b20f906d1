//! Opening a local repository or fetching a remote one, and resolving the requested ref to a commit.
//!
//! Remote repositories are fetched into a fresh bare repository: exactly one ref, shallow (depth 1),
//! without tags, submodules, LFS, hooks or filters; no worktree is ever written. The byte cap and the
//! deadline are enforced from libgit2's transfer-progress callback, which aborts the transfer.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use git2::{AutotagOption, Direction, Oid, Remote, RemoteCallbacks, Repository};

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
    /// Credentials for https remotes.
    pub credentials: Option<HttpsCredentials>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            git_ref: RefRequest::Default,
            max_bytes: 2 * 1024 * 1024 * 1024,
            timeout: Duration::from_secs(600),
            depth: 1,
            credentials: None,
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
    let (refspec, resolved_ref) = {
        let mut remote = repo.remote_anonymous(url)?;
        resolve_remote_ref(&mut remote, options, deadline)?
    };

    let received = Cell::new(0u64);
    let aborted: Cell<Option<Error>> = Cell::new(None);
    {
        let mut remote = repo.remote_anonymous(url)?;
        let mut callbacks = callbacks(options);
        callbacks.transfer_progress(|progress| {
            received.set(progress.received_bytes() as u64);
            if progress.received_bytes() as u64 > options.max_bytes {
                aborted.set(Some(Error::TooLarge {
                    limit: options.max_bytes,
                }));
                return false;
            }
            if Instant::now() > deadline {
                aborted.set(Some(Error::Timeout {
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
        if let Some(error) = aborted.take() {
            return Err(error);
        }
        result?;
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
    options: &FetchOptions,
    deadline: Instant,
) -> Result<(String, String)> {
    let connection = remote.connect_auth(Direction::Fetch, Some(callbacks(options)), None)?;
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

fn callbacks(options: &FetchOptions) -> RemoteCallbacks<'_> {
    let mut callbacks = RemoteCallbacks::new();
    if let Some(credentials) = &options.credentials {
        let tries = Cell::new(0);
        callbacks.credentials(move |_url, _username, allowed| {
            // libgit2 asks again after a rejected attempt; one try avoids an endless loop.
            tries.set(tries.get() + 1);
            if tries.get() > 1 || !allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
                return Err(git2::Error::from_str("the configured credentials were rejected"));
            }
            git2::Cred::userpass_plaintext(&credentials.username, &credentials.password)
        });
    }
    callbacks
}
