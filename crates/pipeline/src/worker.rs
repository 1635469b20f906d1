//! Thread plumbing: blocking git work off the async runtime, and the analysis thread with a stack
//! big enough for any grammar's scanner.

use tokio::sync::oneshot;

use crate::{Error, Result};

/// Runs blocking git work off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Worker(e.to_string()))
}

/// Stack of the analysis thread: tree-sitter and the walks are iterative, but a generous stack keeps
/// any recursion in a grammar's external scanner from overflowing on hostile nesting.
const ANALYSIS_STACK: usize = 256 * 1024 * 1024;

/// Runs `f` on a thread of its own with a large stack; the receiver yields its result.
pub(crate) fn spawn_with_big_stack<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<oneshot::Receiver<T>> {
    let (result, receiver) = oneshot::channel();
    std::thread::Builder::new()
        .name("analysis".into())
        .stack_size(ANALYSIS_STACK)
        .spawn(move || {
            // the receiver is gone only when the run was abandoned
            let _ = result.send(f());
        })
        .map_err(|e| Error::Worker(format!("cannot start the analysis thread: {e}")))?;
    Ok(receiver)
}
