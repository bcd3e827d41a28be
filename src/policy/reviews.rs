//! Who approved, who holds the PR, and which approvals no longer count.
use super::config::{ReviewsConfig, StaleReviews};
use crate::domain::{CommitSha, PrSnapshot, ReviewState};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewOutcome {
    /// Distinct counted approvers, in the order they approved.
    pub approvers: Vec<String>,
    pub changes_requested_by: Vec<String>,
    pub required: u32,
    /// Approvals that no longer count because the head moved (`reviews.stale`).
    pub stale: Vec<String>,
}

impl ReviewOutcome {
    pub fn approved(&self) -> bool {
        self.approvers.len() as u64 >= u64::from(self.required)
    }

    pub fn missing_approvals(&self) -> u32 {
        self.required.saturating_sub(self.approvers.len() as u32)
    }
}

/// A reviewer's standing verdict.
struct Standing<'a> {
    login: &'a str,
    approved: bool,
    commit: Option<&'a CommitSha>,
    /// Position of the review that set it, to list reviewers in that order.
    at: usize,
}

/// Each reviewer's latest APPROVED or CHANGES_REQUESTED review stands; COMMENTED and PENDING
/// leave it as it was; DISMISSED clears it. The author and bots never count. Logins compare
/// case-insensitively, as forges treat them.
///
/// Stale approvals (`reviews.stale`): `keep` counts every approval; `dismiss` only those given
/// on the head; `changed` also those given on a commit whose diff equals the head's. An approval
/// whose commit the forge did not report counts only under `keep`, since it cannot be shown
/// to cover the head.
pub fn tally(pr: &PrSnapshot, config: &ReviewsConfig) -> ReviewOutcome {
    let author = &pr.author.login;
    let mut standing: Vec<Standing<'_>> = Vec::new();
    for (at, review) in pr.reviews.iter().enumerate() {
        let login = review.reviewer.login.as_str();
        if review.reviewer.is_bot || login.eq_ignore_ascii_case(author) {
            continue;
        }
        let approved = match review.state {
            ReviewState::Approved => true,
            ReviewState::ChangesRequested => false,
            ReviewState::Commented | ReviewState::Pending => continue,
            ReviewState::Dismissed => {
                standing.retain(|s| !s.login.eq_ignore_ascii_case(login));
                continue;
            }
        };
        standing.retain(|s| !s.login.eq_ignore_ascii_case(login));
        standing.push(Standing {
            login,
            approved,
            commit: review.commit.as_ref(),
            at,
        });
    }
    standing.sort_by_key(|s| s.at);

    let covers_head = |commit: Option<&CommitSha>| match config.stale {
        StaleReviews::Keep => true,
        StaleReviews::Dismiss => commit == Some(&pr.head_sha),
        StaleReviews::Changed => {
            commit.is_some_and(|c| *c == pr.head_sha || pr.unchanged_since.contains(c))
        }
    };
    let mut outcome = ReviewOutcome {
        approvers: Vec::new(),
        changes_requested_by: Vec::new(),
        required: config.required_approvals,
        stale: Vec::new(),
    };
    for s in standing {
        let list = match (s.approved, covers_head(s.commit)) {
            (false, _) => &mut outcome.changes_requested_by,
            (true, true) => &mut outcome.approvers,
            (true, false) => &mut outcome.stale,
        };
        list.push(s.login.to_owned());
    }
    outcome
}
