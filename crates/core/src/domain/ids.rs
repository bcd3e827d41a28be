use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

macro_rules! number_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

string_id!(
    /// A full 40-hex commit id.
    CommitSha
);
string_id!(
    /// The forge's id of one webhook delivery (`X-GitHub-Delivery`, `X-Gitlab-Event-UUID`).
    DeliveryId
);
number_id!(
    /// A pull request number (GitHub) or merge request iid (GitLab).
    PrNumber
);
number_id!(
    /// A GitHub App installation.
    InstallationId
);
number_id!(
    /// The forge's id of a comment (GitHub issue comment, GitLab note).
    CommentId
);
number_id!(
    /// The forge's id of a check run.
    CheckRunId
);

impl CommitSha {
    pub fn short(&self) -> &str {
        &self.0[..self.0.len().min(7)]
    }
}

/// Every delivery id is built here. The id is the job queue's deduplication key, so each
/// kind of work derives its id from what makes it the same work: a redelivery, a retried
/// fan-out or a second sweep of one head then queues nothing new.
impl DeliveryId {
    /// A GitHub webhook delivery, by its `X-GitHub-Delivery` guid (kept by redeliveries).
    pub fn github(guid: &str) -> Self {
        Self(format!("github:{guid}"))
    }

    /// A GitLab webhook delivery, by its idempotency key or event UUID.
    pub fn gitlab(key: &str) -> Self {
        Self(format!("gitlab:{key}"))
    }

    /// The `index`th event of a delivery that carries several (a re-run check suite
    /// naming several PRs); each is its own job.
    pub fn part(&self, index: usize) -> Self {
        Self(format!("{self}/{index}"))
    }

    /// The re-evaluation of PR `number` that this delivery fans out to.
    pub fn for_pr(&self, number: PrNumber) -> Self {
        Self(format!("{self}/pr{number}"))
    }

    /// The evaluation of `above` after `below`, in its stack, changed to `version`.
    pub fn restack(above: &PrRef, below: &PrRef, version: &str) -> Self {
        Self(format!("stack:{}<{}@{version}", above.key(), below.key()))
    }

    /// The sweep's evaluation of `pr` at `head`.
    pub fn sweep(pr: &PrRef, head: &CommitSha) -> Self {
        Self(format!("sweep:{}@{head}", pr.key()))
    }

    /// The sweep's reading of deployment `id` of `repo` as finished with `outcome`: its
    /// event is queued once per outcome, however many sweeps read it.
    pub fn deployment_read(repo_key: &str, id: u64, outcome: &str) -> Self {
        Self(format!("deployment-read:{repo_key}:{id}:{outcome}"))
    }

    /// One step of ship `ship_id`: its start, or the telemetry check after `after_checks`.
    pub fn ship_step(ship_id: i64, after_checks: Option<u32>) -> Self {
        match after_checks {
            None => Self(format!("ship:{ship_id}:start")),
            Some(n) => Self(format!("ship:{ship_id}:check-{n}")),
        }
    }

    /// A step of attempt `attempt` at rolling ship `ship_id` back: its start, or the
    /// check of its watch that follows `after_checks` recorded ones.
    pub fn rollback_step(ship_id: i64, attempt: u32, after_checks: Option<u32>) -> Self {
        match after_checks {
            None => Self(format!("ship:{ship_id}:rollback-{attempt}")),
            Some(n) => Self(format!("ship:{ship_id}:rollback-{attempt}:check-{n}")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    GitHub,
    GitLab,
}

impl ForgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "github",
            ForgeKind::GitLab => "gitlab",
        }
    }

    /// The forge's name, as people know it.
    pub fn name(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "GitHub",
            ForgeKind::GitLab => "GitLab",
        }
    }

    /// What the forge calls a change under review.
    pub fn change_noun(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "pull request",
            ForgeKind::GitLab => "merge request",
        }
    }

    /// What precedes a change's number in a reference: `#7` on GitHub, `!7` on GitLab.
    pub fn change_sigil(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "#",
            ForgeKind::GitLab => "!",
        }
    }

    /// A link to the comment `id` on the change at `change_url` (its web page).
    pub fn comment_url(self, change_url: &str, id: u64) -> String {
        match self {
            ForgeKind::GitHub => format!("{change_url}#issuecomment-{id}"),
            ForgeKind::GitLab => format!("{change_url}#note_{id}"),
        }
    }
}

/// A repository on a forge: `owner/name` on GitHub, the project path on GitLab.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RepoRef {
    pub forge: ForgeKind,
    pub full_name: String,
    /// GitHub: the App installation that grants access. GitLab: none.
    pub installation: Option<InstallationId>,
}

impl RepoRef {
    pub fn github(full_name: impl Into<String>, installation: InstallationId) -> Self {
        Self {
            forge: ForgeKind::GitHub,
            full_name: full_name.into(),
            installation: Some(installation),
        }
    }

    /// A GitLab project, named by its `path_with_namespace` (`group/subgroup/project`).
    /// Access comes from the bot's token, so there is no installation.
    pub fn gitlab(path_with_namespace: impl Into<String>) -> Self {
        Self {
            forge: ForgeKind::GitLab,
            full_name: path_with_namespace.into(),
            installation: None,
        }
    }

    /// A stable key for storage and serialization of work on this repository.
    pub fn key(&self) -> String {
        format!("{}:{}", self.forge.as_str(), self.full_name)
    }
}

/// One pull request (GitHub) or merge request (GitLab).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PrRef {
    pub repo: RepoRef,
    pub number: PrNumber,
}

impl PrRef {
    pub fn key(&self) -> String {
        format!("{}#{}", self.repo.key(), self.number)
    }
}

impl fmt::Display for PrRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.repo.full_name, self.number)
    }
}
