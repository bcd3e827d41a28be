-- Named leases with an expiry, so that periodic work (the sweep) runs on one replica
-- at a time. Times are Unix epoch milliseconds.
CREATE TABLE leases (
    name     TEXT   PRIMARY KEY,
    holder   TEXT   NOT NULL,
    until_ms BIGINT NOT NULL
);

-- The sweep finds recently active repositories, and metrics recent completions, by
-- job creation time.
CREATE INDEX jobs_by_created ON jobs (created_at);
