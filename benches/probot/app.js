// The Probot side of benches/intake_vs_probot.sh: the same intake work smallbatch does
// per delivery, so the comparison is of the two stacks, not of two amounts of work.
//
// Per request: Probot's webhooks middleware reads the body, checks X-Hub-Signature-256
// (HMAC-SHA256) and parses the JSON; this handler then stores the delivery as a queued
// job in SQLite (WAL, synchronous=FULL: fsync'd before the answer), deduplicated by
// X-GitHub-Delivery, in the same table smallbatch uses. Probot answers only once the
// handler's promise settles, so nothing is acknowledged unstored. No GitHub calls are made
// (context.octokit is never touched, so no installation token is fetched).
import Database from "better-sqlite3";

const path = process.env.BENCH_DB_PATH;
if (!path) throw new Error("BENCH_DB_PATH is not set");

const db = new Database(path);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.pragma("busy_timeout = 5000");
// smallbatch's jobs table (src/store/migrations/sqlite/0001_init.sql), with its indexes.
db.exec(`
CREATE TABLE IF NOT EXISTS jobs (
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
CREATE INDEX IF NOT EXISTS jobs_live ON jobs (id) WHERE state IN ('queued', 'running');
CREATE UNIQUE INDEX IF NOT EXISTS jobs_one_running_per_key ON jobs (serial_key) WHERE state = 'running';
`);

const enqueue = db.prepare(
  `INSERT INTO jobs (delivery_id, serial_key, event, state, run_after, created_at, updated_at)
   VALUES (?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING`,
);

/** @param {import('probot').Probot} app */
export default (app) => {
  app.on(
    ["pull_request.opened", "pull_request.synchronize", "pull_request.reopened"],
    async (context) => {
      const { repository, pull_request: pr, action } = context.payload;
      // The few fields a gate needs, as smallbatch's domain event keeps them.
      const event = JSON.stringify({
        kind: "pull_request_changed",
        action,
        repo: { owner: repository.owner.login, name: repository.name },
        number: pr.number,
        head_sha: pr.head.sha,
        installation: context.payload.installation?.id ?? null,
      });
      const now = Date.now();
      enqueue.run(
        `github:${context.id}`,
        `github:${repository.full_name}#${pr.number}`,
        event,
        now,
        now,
        now,
      );
    },
  );
};
