//! One line for an error and everything that caused it.

use std::fmt;

/// The error and its causes, joined by `: `; a cause whose text the line already holds (an error
/// that prints its source itself) is not repeated.
pub fn report(error: &(dyn std::error::Error + 'static)) -> String {
    ErrorChain(error).to_string()
}

/// Displays an error with its causes on one line (see [`report`]), e.g. in a `tracing` field:
/// `warn!(error = %ErrorChain(&e), "…")`.
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            if !text.contains(&cause_text) {
                text.push_str(": ");
                text.push_str(&cause_text);
            }
            source = cause.source();
        }
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("middle: {0}")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn causes_follow_the_error_and_repeated_text_is_left_out() {
        let error = Outer(Middle(std::io::Error::other("disk full")));
        // `middle` prints its source itself, so `disk full` appears once.
        assert_eq!(report(&error), "outer: middle: disk full");
    }
}
