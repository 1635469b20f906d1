//! kstatus-style conditions: `Ready`, `Reconciling` and `Stalled`.
//!
//! Setting a condition keeps its `lastTransitionTime` when the status did not change, so repeated
//! reconciles do not churn the object (and do not wake watchers for nothing).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// The resource is usable: for a Repository, an index of the requested revision is searchable.
pub const READY: &str = "Ready";
/// The controller is working towards the desired state (a Job is running).
pub const RECONCILING: &str = "Reconciling";
/// The controller cannot make progress without a change to the spec or the environment.
pub const STALLED: &str = "Stalled";

/// A condition's status value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `"True"`
    True,
    /// `"False"`
    False,
    /// `"Unknown"`
    Unknown,
}

impl Status {
    /// The string Kubernetes uses for this status.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::True => "True",
            Status::False => "False",
            Status::Unknown => "Unknown",
        }
    }
}

/// Sets condition `type_` in `conditions`, replacing any condition of the same type. The transition
/// time is `now` when the status changed (or the condition is new) and kept otherwise.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: Status,
    reason: &str,
    message: impl Into<String>,
    observed_generation: Option<i64>,
    now: Timestamp,
) {
    let previous = conditions.iter().position(|c| c.type_ == type_);
    let last_transition_time = match previous.map(|i| &conditions[i]) {
        Some(old) if old.status == status.as_str() => old.last_transition_time.clone(),
        _ => Time(now),
    };
    let condition = Condition {
        type_: type_.to_string(),
        status: status.as_str().to_string(),
        reason: reason.to_string(),
        message: message.into(),
        observed_generation,
        last_transition_time,
    };
    match previous {
        Some(i) => conditions[i] = condition,
        None => conditions.push(condition),
    }
}

/// Removes condition `type_`; kstatus treats an absent `Reconciling`/`Stalled` as false.
pub fn remove(conditions: &mut Vec<Condition>, type_: &str) {
    conditions.retain(|c| c.type_ != type_);
}

/// The condition of type `type_`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// True when condition `type_` is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == Status::True.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    #[test]
    fn setting_the_same_status_keeps_the_transition_time() {
        let mut conditions = Vec::new();
        set(
            &mut conditions,
            READY,
            Status::False,
            "Progressing",
            "indexing",
            Some(1),
            at(10),
        );
        set(
            &mut conditions,
            READY,
            Status::False,
            "Failed",
            "clone failed",
            Some(2),
            at(20),
        );
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].last_transition_time, Time(at(10)));
        assert_eq!(conditions[0].reason, "Failed");
        assert_eq!(conditions[0].observed_generation, Some(2));
    }

    #[test]
    fn a_status_change_moves_the_transition_time() {
        let mut conditions = Vec::new();
        set(
            &mut conditions,
            READY,
            Status::False,
            "Progressing",
            "",
            None,
            at(10),
        );
        set(&mut conditions, READY, Status::True, "Indexed", "", None, at(20));
        assert_eq!(conditions[0].last_transition_time, Time(at(20)));
        assert!(is_true(&conditions, READY));
        remove(&mut conditions, READY);
        assert!(find(&conditions, READY).is_none());
    }
}
