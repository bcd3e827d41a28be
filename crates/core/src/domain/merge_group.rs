//! GitHub merge queues: the queue's branch names and which queued PRs a merge group
//! contains. Pure: the adapter lists the refs and commits, this decides.
use super::{CommitSha, PrNumber};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The namespace GitHub creates the queue's branches in:
/// `refs/heads/gh-readonly-queue/<base>/pr-<number>-<sha>`.
pub const QUEUE_PREFIX: &str = "refs/heads/gh-readonly-queue/";

/// A merge group the queue asks checks for: the commit that would land on `base_branch`
/// if the group merges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeGroup {
    /// The group's commit; the `smallbatch` check is required on it.
    pub head_sha: CommitSha,
    /// Its full ref, `refs/heads/gh-readonly-queue/<base>/pr-<n>-<sha>`.
    pub head_ref: String,
    /// The group's parent commit.
    pub base_sha: CommitSha,
    /// The branch the group merges into, without `refs/heads/`.
    pub base_branch: String,
    /// The PR the head ref names: the last one queued in this group.
    pub head_pr: PrNumber,
}

/// One of the queue's branch names, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRef {
    pub base_branch: String,
    pub pr: PrNumber,
}

impl QueueRef {
    /// `refs/heads/gh-readonly-queue/<base>/pr-<n>-<sha>`; the base may itself contain
    /// slashes (`release/1.x`), so the PR part is taken from the end.
    pub fn parse(full_ref: &str) -> Option<Self> {
        let rest = full_ref.strip_prefix(QUEUE_PREFIX)?;
        let (base, entry) = rest.rsplit_once('/')?;
        let (number, sha) = entry.strip_prefix("pr-")?.split_once('-')?;
        let valid_sha = !sha.is_empty() && sha.chars().all(|c| c.is_ascii_hexdigit());
        let number: u64 = number.parse().ok()?;
        (valid_sha && !base.is_empty() && number > 0).then(|| Self {
            base_branch: base.to_owned(),
            pr: PrNumber(number),
        })
    }
}

/// The PRs whose changes are in `group`, in queue order, the group's own PR last.
///
/// `queue` is every queue branch (full ref, commit) listed for the base; `commits` are
/// the commits reachable from the group's head but not its base, oldest first. A queue
/// branch whose commit is among them belongs to a PR queued ahead of the group's own
/// and merged into it; branches of other bases, and of PRs queued behind, do not.
pub fn members(
    group: &MergeGroup,
    queue: &[(String, CommitSha)],
    commits: &[CommitSha],
) -> Vec<PrNumber> {
    let position: HashMap<&CommitSha, usize> =
        commits.iter().enumerate().map(|(i, c)| (c, i)).collect();
    let mut ahead: Vec<(usize, PrNumber)> = queue
        .iter()
        .filter_map(|(name, sha)| {
            let entry = QueueRef::parse(name)?;
            let at = *position.get(sha)?;
            (entry.base_branch == group.base_branch
                && entry.pr != group.head_pr
                && *sha != group.head_sha)
                .then_some((at, entry.pr))
        })
        .collect();
    ahead.sort();
    let mut prs: Vec<PrNumber> = Vec::with_capacity(ahead.len() + 1);
    for (_, pr) in ahead {
        if !prs.contains(&pr) {
            prs.push(pr);
        }
    }
    prs.push(group.head_pr);
    prs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(n: u32) -> CommitSha {
        CommitSha::new(format!("{n:040x}"))
    }

    fn queue_ref(base: &str, pr: u64, n: u32) -> String {
        format!("{QUEUE_PREFIX}{base}/pr-{pr}-{}", sha(n))
    }

    fn group(head_pr: u64, head: u32) -> MergeGroup {
        MergeGroup {
            head_sha: sha(head),
            head_ref: queue_ref("main", head_pr, 0),
            base_sha: sha(1),
            base_branch: "main".into(),
            head_pr: PrNumber(head_pr),
        }
    }

    #[test]
    fn queue_refs_name_their_base_and_pr() {
        let parsed = QueueRef::parse(
            "refs/heads/gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64",
        );
        assert_eq!(
            parsed,
            Some(QueueRef {
                base_branch: "main".into(),
                pr: PrNumber(104)
            })
        );
        let nested = QueueRef::parse(&queue_ref("release/1.x", 7, 3)).unwrap();
        assert_eq!(nested.base_branch, "release/1.x");
        assert_eq!(nested.pr, PrNumber(7));
    }

    #[test]
    fn other_refs_are_not_queue_refs() {
        for name in [
            "refs/heads/main",
            "refs/heads/gh-readonly-queue/main",
            "refs/heads/gh-readonly-queue/pr-1-abc",
            "refs/heads/gh-readonly-queue/main/pr-x-abc",
            "refs/heads/gh-readonly-queue/main/pr-0-abc",
            "refs/heads/gh-readonly-queue/main/pr-12-",
            "refs/heads/gh-readonly-queue/main/pr-12-not-hex",
            "refs/heads/gh-readonly-queue/main/feature",
            "gh-readonly-queue/main/pr-12-abc",
        ] {
            assert_eq!(QueueRef::parse(name), None, "{name}");
        }
    }

    #[test]
    fn a_group_alone_in_the_queue_is_its_own_pr() {
        let g = group(9, 10);
        let queue = [(queue_ref("main", 9, 1), sha(10))];
        assert_eq!(members(&g, &queue, &[sha(10)]), [PrNumber(9)]);
        // Even when the listing missed its branch.
        assert_eq!(members(&g, &[], &[sha(10)]), [PrNumber(9)]);
    }

    #[test]
    fn prs_queued_ahead_within_the_range_belong_in_queue_order() {
        // main <- #7 (sha 20) <- #5 (sha 21) <- #9 (sha 22, the group's head).
        let g = group(9, 22);
        let queue = [
            (queue_ref("main", 5, 20), sha(21)),
            (queue_ref("main", 7, 1), sha(20)),
            (queue_ref("main", 9, 21), sha(22)),
        ];
        let commits = [sha(20), sha(30), sha(21), sha(31), sha(22)];
        assert_eq!(
            members(&g, &queue, &commits),
            [PrNumber(7), PrNumber(5), PrNumber(9)]
        );
    }

    #[test]
    fn prs_outside_the_range_other_bases_and_later_entries_do_not_belong() {
        let g = group(9, 22);
        let queue = [
            // Ahead, but already in the group's base (merged or checked on its own).
            (queue_ref("main", 4, 1), sha(1)),
            // Queued behind: its commit is not reachable from the group's head.
            (queue_ref("main", 11, 22), sha(23)),
            // Another base's queue that happens to share a prefix.
            (queue_ref("main-next", 12, 1), sha(21)),
            (queue_ref("main", 5, 1), sha(21)),
            ("refs/heads/gh-readonly-queue/main/oddity".into(), sha(21)),
        ];
        let commits = [sha(21), sha(22)];
        assert_eq!(members(&g, &queue, &commits), [PrNumber(5), PrNumber(9)]);
    }

    #[test]
    fn a_pr_listed_twice_is_named_once() {
        let g = group(9, 22);
        let queue = [
            (queue_ref("main", 5, 1), sha(20)),
            (queue_ref("main", 5, 2), sha(21)),
            (queue_ref("main", 9, 3), sha(22)),
        ];
        let commits = [sha(20), sha(21), sha(22)];
        assert_eq!(members(&g, &queue, &commits), [PrNumber(5), PrNumber(9)]);
    }
}
