-- Deploy controls: locks on environments (`/lock`), holds on changes (`/hold`), and the
-- audit log of ships out of the environment order. Times are Unix epoch milliseconds.

-- At most one lock per environment of a repository: whoever takes it first holds it,
-- on every replica. `pr_key` is where it was taken.
CREATE TABLE environment_locks (
    repo_key    TEXT    NOT NULL,
    environment TEXT    NOT NULL,
    holder      TEXT    NOT NULL,
    reason      TEXT,
    pr_key      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (repo_key, environment)
);

-- At most one hold per change.
CREATE TABLE holds (
    pr_key     TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,
    reason     TEXT,
    created_at INTEGER NOT NULL
);

-- Every `/ship <environment> --override <reason>`, kept as an audit trail as the gate's
-- overrides are: rows are only ever added. `skipped` lists the environments skipped,
-- one per line.
CREATE TABLE order_overrides (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pr_key      TEXT    NOT NULL,
    head_sha    TEXT    NOT NULL,
    environment TEXT    NOT NULL,
    skipped     TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE INDEX order_overrides_by_pr ON order_overrides (pr_key, id);

CREATE TRIGGER order_overrides_no_update BEFORE UPDATE ON order_overrides
BEGIN
    SELECT RAISE(ABORT, 'order overrides are append-only');
END;

CREATE TRIGGER order_overrides_no_delete BEFORE DELETE ON order_overrides
BEGIN
    SELECT RAISE(ABORT, 'order overrides are append-only');
END;

-- A ship in progress holds its environment: at most one unfinished ship per environment
-- of a repository, enforced by the database across replicas. Ships from before this
-- column hold nothing, so the index can be built whatever is running while upgrading.
ALTER TABLE ships
    ADD COLUMN holds_environment BOOLEAN NOT NULL DEFAULT 0 CHECK (holds_environment IN (0, 1));

CREATE UNIQUE INDEX ships_one_active_per_environment ON ships (repo_key, environment)
    WHERE holds_environment = 1 AND finished = 0;
