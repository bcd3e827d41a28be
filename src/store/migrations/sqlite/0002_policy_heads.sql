-- The commit of each base branch at which the gate reads the repo policy: the branch
-- head as of the last policy change seen. PR payloads carry the base as of the PR's
-- last push, which would miss a later policy change on the branch.
CREATE TABLE policy_heads (
    repo_key   TEXT NOT NULL,
    branch     TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    PRIMARY KEY (repo_key, branch)
);
