-- State for chat commands and `/ship`. Times are Unix epoch milliseconds.

-- Every gate override, kept as an audit trail: rows are only ever added. An override
-- applies to one head commit; a new push needs a new override.
CREATE TABLE overrides (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    pr_key     TEXT    NOT NULL,
    head_sha   TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    overridden TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX overrides_by_pr_head ON overrides (pr_key, head_sha, id);

CREATE TRIGGER overrides_no_update BEFORE UPDATE ON overrides
BEGIN
    SELECT RAISE(ABORT, 'overrides are append-only');
END;

CREATE TRIGGER overrides_no_delete BEFORE DELETE ON overrides
BEGIN
    SELECT RAISE(ABORT, 'overrides are append-only');
END;

-- The last body seen of each comment, so an edit runs only the commands it added even
-- where the forge does not send the previous body (GitLab).
CREATE TABLE seen_comments (
    comment_key TEXT    PRIMARY KEY,
    body        TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- `/ship` runs. `data` is a JSON document owned by the ship module; the columns beside
-- it are what the store looks ships up by. `version` is bumped on every update, and
-- updates are compare-and-set on it.
CREATE TABLE ships (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    version     INTEGER NOT NULL,
    pr_key      TEXT    NOT NULL,
    repo_key    TEXT    NOT NULL,
    environment TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    finished    BOOLEAN NOT NULL CHECK (finished IN (0, 1)),
    merge_sha   TEXT,
    data        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- At most one unfinished ship per PR, enforced by the database.
CREATE UNIQUE INDEX ships_one_active_per_pr ON ships (pr_key) WHERE finished = 0;

-- A deployment event names the repository, the commit and the environment.
CREATE INDEX ships_by_deployment ON ships (repo_key, merge_sha, environment)
    WHERE merge_sha IS NOT NULL;

-- Delivery metrics list ships created since a time, per repository or overall.
CREATE INDEX ships_by_repo_created ON ships (repo_key, created_at);
CREATE INDEX ships_by_created ON ships (created_at);
