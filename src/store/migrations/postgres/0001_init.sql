-- Times are Unix epoch milliseconds (BIGINT), read from the database clock so that
-- every replica shares one notion of "now".

-- The job queue. Rows are kept after completion so a redelivered webhook is
-- recognised as a duplicate forever (the UNIQUE delivery_id).
CREATE TABLE jobs (
    id          BIGSERIAL PRIMARY KEY,
    delivery_id TEXT      NOT NULL UNIQUE,
    serial_key  TEXT      NOT NULL,
    event       TEXT      NOT NULL,
    state       TEXT      NOT NULL CHECK (state IN ('queued', 'running', 'done', 'parked')),
    attempts    INTEGER   NOT NULL DEFAULT 0,
    run_after   BIGINT    NOT NULL,
    lease_until BIGINT,
    worker      TEXT,
    last_error  TEXT,
    created_at  BIGINT    NOT NULL,
    updated_at  BIGINT    NOT NULL
);

-- Claims scan only live jobs, oldest first.
CREATE INDEX jobs_live ON jobs (id) WHERE state IN ('queued', 'running');

-- Per-key serialization: at most one running job per key, enforced by the database
-- even when claimers on several replicas race (the loser gets a unique violation).
CREATE UNIQUE INDEX jobs_one_running_per_key ON jobs (serial_key) WHERE state = 'running';

-- What the bot last published on each PR.
CREATE TABLE pr_records (
    pr_key            TEXT PRIMARY KEY,
    head_sha          TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    check_run_id      BIGINT,
    check_fingerprint TEXT,
    comment_id        BIGINT,
    comment_body      TEXT
);

-- Immutable file contents at a commit; a NULL content records that the file is absent.
CREATE TABLE file_cache (
    repo_key   TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    path       TEXT NOT NULL,
    content    TEXT,
    PRIMARY KEY (repo_key, commit_sha, path)
);
