//! The sign-in lockout's arithmetic, once for every backend: what a failure
//! does, given what the backend counted inside its transaction.

use crate::{LockoutPolicy, SignInFailure};
use warden_model::Timestamp;

/// What the backend read after inserting the failure at `at`: the key's
/// failures inside the window (this one included), the oldest of them, and the
/// lockout row the key had, if any.
pub(crate) struct Counted {
    pub at: i64,
    pub failures: u64,
    pub oldest: i64,
    pub previous_until: Option<i64>,
}

/// The outcome, and the `locked_until` the lockout row must now hold, if it
/// must be written.
pub(crate) fn judge(policy: &LockoutPolicy, c: &Counted) -> (SignInFailure, Option<i64>) {
    let in_force = c.previous_until.filter(|until| *until > c.at);
    // Locked for the rest of the window: until the oldest counted failure leaves it.
    let reached = (c.failures >= u64::from(policy.max_failures))
        .then(|| c.oldest.saturating_add(policy.window_ms()));
    let until = match (reached, in_force) {
        (Some(r), Some(p)) => Some(r.max(p)),
        (r, p) => r.or(p),
    };
    let write = reached.filter(|r| in_force.is_none_or(|p| *r > p));
    let outcome = SignInFailure {
        failures: c.failures,
        locked_until: until.map(Timestamp),
        newly_locked: reached.is_some() && in_force.is_none(),
    };
    (outcome, write)
}

/// The oldest instant whose failures still count at `at`.
pub(crate) fn window_start(policy: &LockoutPolicy, at: Timestamp) -> i64 {
    at.0.saturating_sub(policy.window_ms())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const POLICY: LockoutPolicy = LockoutPolicy {
        max_failures: 3,
        window: Duration::from_secs(60),
    };

    fn counted(failures: u64, previous_until: Option<i64>) -> Counted {
        Counted {
            at: 100_000,
            failures,
            oldest: 70_000,
            previous_until,
        }
    }

    #[test]
    fn locks_once_for_the_rest_of_the_window() {
        let (below, write) = judge(&POLICY, &counted(2, None));
        assert_eq!(
            (below.locked_until, below.newly_locked, write),
            (None, false, None)
        );
        let (reached, write) = judge(&POLICY, &counted(3, None));
        assert_eq!(
            (reached.locked_until, reached.newly_locked, write),
            (Some(Timestamp(130_000)), true, Some(130_000))
        );
        // A lockout already in force is extended, not started again.
        let (again, write) = judge(&POLICY, &counted(4, Some(120_000)));
        assert_eq!(
            (again.locked_until, again.newly_locked, write),
            (Some(Timestamp(130_000)), false, Some(130_000))
        );
        let (kept, write) = judge(&POLICY, &counted(4, Some(150_000)));
        assert_eq!(
            (kept.locked_until, kept.newly_locked, write),
            (Some(Timestamp(150_000)), false, None)
        );
        // A lockout that ended is no lockout.
        let (fresh, _) = judge(&POLICY, &counted(3, Some(90_000)));
        assert!(fresh.newly_locked);
    }
}
