//! A question, and the checks it passes before anything is searched or stored.

use reposage_store::RepositoryId;

use crate::{Error, Result};

/// Longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 4_000;
/// Most repositories one question may cover.
pub const MAX_REPOSITORIES: usize = 20;

/// One earlier exchange of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// What was asked.
    pub question: String,
    /// What was answered (its text, citations markers included).
    pub answer: String,
}

/// A question about some repositories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AskRequest {
    /// The question.
    pub question: String,
    /// The conversation so far, oldest first.
    pub history: Vec<Turn>,
    /// The repositories to answer from (at their indexed commits); at least one.
    pub repositories: Vec<RepositoryId>,
}

impl AskRequest {
    /// A question without history.
    pub fn new(question: impl Into<String>, repositories: Vec<RepositoryId>) -> Self {
        AskRequest {
            question: question.into(),
            history: Vec::new(),
            repositories,
        }
    }

    /// Checks the question and the repository list; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let question = self.question.trim();
        if question.is_empty() {
            return Err(Error::invalid("question", "must not be empty"));
        }
        let chars = question.chars().count();
        if chars > MAX_QUESTION_CHARS {
            return Err(Error::invalid(
                "question",
                format!("is {chars} characters long; at most {MAX_QUESTION_CHARS} are accepted"),
            ));
        }
        if question.contains('\0') {
            return Err(Error::invalid("question", "must not contain NUL characters"));
        }
        if self.repositories.is_empty() {
            return Err(Error::invalid("repositories", "name at least one repository"));
        }
        if self.repositories.len() > MAX_REPOSITORIES {
            return Err(Error::invalid(
                "repositories",
                format!("at most {MAX_REPOSITORIES} repositories per question"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(question: &str) -> AskRequest {
        AskRequest::new(question, vec![RepositoryId::new_random()])
    }

    #[test]
    fn empty_oversized_and_nul_questions_are_refused_by_field() {
        for (question, expected) in [
            ("", "must not be empty"),
            ("   \n", "must not be empty"),
            ("a\0b", "NUL"),
        ] {
            let error = request(question).validate().unwrap_err();
            assert!(
                matches!(&error, Error::InvalidRequest { field: "question", message } if message.contains(expected)),
                "{question:?}: {error}"
            );
        }
        let long = "x".repeat(MAX_QUESTION_CHARS + 1);
        assert!(
            request(&long)
                .validate()
                .unwrap_err()
                .to_string()
                .contains("4001 characters")
        );
        request(&"x".repeat(MAX_QUESTION_CHARS)).validate().unwrap();
    }

    #[test]
    fn a_question_needs_a_repository() {
        let error = AskRequest::new("why?", vec![]).validate().unwrap_err();
        assert!(matches!(
            error,
            Error::InvalidRequest {
                field: "repositories",
                ..
            }
        ));
    }
}
