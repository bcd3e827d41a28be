//! Who approved, who holds the PR, and which approvals no longer count.
use super::config::{ReviewsConfig, StaleReviews};
use super::owners::OwnersOutcome;
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
    /// Owners' approvals (`reviews.owners`, `reviews.rules`); empty when neither is set.
    #[serde(skip_serializing_if = "OwnersOutcome::is_empty")]
    pub owners: OwnersOutcome,
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
        owners: OwnersOutcome::default(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::User;
    use crate::policy::testing::{pr, PrBuilder, HEAD, OLD};

    fn tally_with(b: PrBuilder, stale: StaleReviews) -> ReviewOutcome {
        let config = ReviewsConfig {
            required_approvals: 2,
            stale,
            ..ReviewsConfig::default()
        };
        tally(&b.build(), &config)
    }

    fn keep(b: PrBuilder) -> ReviewOutcome {
        tally_with(b, StaleReviews::Keep)
    }

    fn logins(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn distinct_approvers_in_order() {
        let r = keep(pr().approve("bob").approve("carol").approve("bob"));
        assert_eq!(r.approvers, logins(&["carol", "bob"]));
        assert!(r.approved());
        assert_eq!(r.missing_approvals(), 0);
    }

    #[test]
    fn self_approval_and_bots_do_not_count() {
        let r = keep(
            pr().approve("author")
                .approve("AUTHOR")
                .review(
                    User::bot("renovate[bot]"),
                    ReviewState::Approved,
                    Some(HEAD),
                )
                .review(
                    User::bot("lint[bot]"),
                    ReviewState::ChangesRequested,
                    Some(HEAD),
                )
                .approve("bob"),
        );
        assert_eq!(r.approvers, logins(&["bob"]));
        assert!(r.changes_requested_by.is_empty());
        assert_eq!(r.missing_approvals(), 1);
    }

    #[test]
    fn a_later_comment_does_not_clear_an_approval() {
        let r = keep(
            pr().approve("bob")
                .review(User::human("bob"), ReviewState::Commented, Some(HEAD))
                .review(User::human("bob"), ReviewState::Pending, None),
        );
        assert_eq!(r.approvers, logins(&["bob"]));
    }

    #[test]
    fn dismissal_clears_an_approval_or_a_hold() {
        let r = keep(
            pr().approve("bob")
                .request_changes("carol")
                .review(User::human("bob"), ReviewState::Dismissed, Some(HEAD))
                .review(User::human("carol"), ReviewState::Dismissed, Some(HEAD)),
        );
        assert!(r.approvers.is_empty());
        assert!(r.changes_requested_by.is_empty());
    }

    #[test]
    fn changes_requested_then_approved_by_the_same_person() {
        let r = keep(pr().request_changes("bob").approve("bob"));
        assert_eq!(r.approvers, logins(&["bob"]));
        assert!(r.changes_requested_by.is_empty());
        let r = keep(pr().approve("bob").request_changes("bob"));
        assert!(r.approvers.is_empty());
        assert_eq!(r.changes_requested_by, logins(&["bob"]));
    }

    #[test]
    fn keep_counts_every_approval_even_of_unknown_commit() {
        let b = || {
            pr().approve("bob")
                .review(User::human("carol"), ReviewState::Approved, Some(OLD))
                .review(User::human("dave"), ReviewState::Approved, None)
        };
        let r = keep(b());
        assert_eq!(r.approvers, logins(&["bob", "carol", "dave"]));
        assert!(r.stale.is_empty());
    }

    #[test]
    fn dismiss_counts_only_approvals_of_the_head() {
        let r = tally_with(
            pr().approve("bob")
                .review(User::human("carol"), ReviewState::Approved, Some(OLD))
                .review(User::human("dave"), ReviewState::Approved, None)
                .unchanged_since(OLD),
            StaleReviews::Dismiss,
        );
        assert_eq!(r.approvers, logins(&["bob"]));
        assert_eq!(r.stale, logins(&["carol", "dave"]));
    }

    #[test]
    fn changed_also_counts_approvals_of_commits_with_the_same_diff() {
        let third = "4444444444444444444444444444444444444444";
        let r = tally_with(
            pr().approve("bob")
                .review(User::human("carol"), ReviewState::Approved, Some(OLD))
                .review(User::human("dave"), ReviewState::Approved, Some(third))
                .review(User::human("erin"), ReviewState::Approved, None)
                .unchanged_since(OLD),
            StaleReviews::Changed,
        );
        assert_eq!(r.approvers, logins(&["bob", "carol"]));
        assert_eq!(r.stale, logins(&["dave", "erin"]));
    }

    #[test]
    fn changes_requested_on_an_old_commit_still_hold() {
        let r = tally_with(
            pr().review(User::human("bob"), ReviewState::ChangesRequested, Some(OLD)),
            StaleReviews::Dismiss,
        );
        assert_eq!(r.changes_requested_by, logins(&["bob"]));
    }
}
