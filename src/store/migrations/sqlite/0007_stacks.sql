-- Each PR's branches and score as last evaluated, so that a PR based on another PR's head
-- branch (a stack) finds the PRs below it, and a PR those above it, without asking the
-- forge. `head_ref` is a branch of the PR's own repository (a fork's branch is never
-- recorded: it cannot be another PR's base).
CREATE TABLE pr_branches (
    pr_key   TEXT PRIMARY KEY,
    repo_key TEXT    NOT NULL,
    number   INTEGER NOT NULL,
    head_ref TEXT    NOT NULL,
    base_ref TEXT    NOT NULL,
    lines    INTEGER NOT NULL,
    is_open  BOOLEAN NOT NULL CHECK (is_open IN (0, 1))
);
CREATE INDEX pr_branches_by_head ON pr_branches (repo_key, head_ref);
CREATE INDEX pr_branches_by_base ON pr_branches (repo_key, base_ref);
