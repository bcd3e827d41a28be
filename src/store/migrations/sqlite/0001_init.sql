-- Times are Unix epoch milliseconds (INTEGER), read from the database clock.

-- The job queue. Rows are kept after completion so a redelivered webhook is
-- recognised as a duplicate forever (the UNIQUE delivery_id).
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT    NOT NULL UNIQUE,
    serial_key  TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'parked')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   INTEGER NOT NULL,
    lease_until INTEGER,
    worker      TEXT,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Claims scan only live jobs, oldest first.
CREATE INDEX jobs_live ON jobs (id) WHERE state IN ('queued', 'running');

-- Per-key serialization: at most one running job per key, enforced by the database.
CREATE UNIQUE INDEX jobs_one_running_per_key ON jobs (serial_key) WHERE state = 'running';

-- What the bot last published on each PR.
CREATE TABLE pr_records (
    pr_key            TEXT PRIMARY KEY,
    head_sha          TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    check_run_id      INTEGER,
    check_fingerprint TEXT,
    comment_id        INTEGER,
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
