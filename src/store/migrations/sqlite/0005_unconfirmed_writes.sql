-- What the bot created that a later evaluation must find without asking the forge.

-- The bot's check run on each head it published the gate on (GitHub), so that a new head
-- needs no lookup before its run is created, and a head seen again (a force-push back)
-- gets its run updated. A NULL id records a creation started and not confirmed (its
-- answer lost, the process stopped): the run may exist and is looked for first.
CREATE TABLE check_runs (
    repo_key     TEXT NOT NULL,
    head_sha     TEXT NOT NULL,
    check_run_id INTEGER,
    PRIMARY KEY (repo_key, head_sha)
);

-- The runs already on record (`pr_key` is `<repo key>#<number>`).
INSERT OR IGNORE INTO check_runs (repo_key, head_sha, check_run_id)
SELECT substr(pr_key, 1, instr(pr_key, '#') - 1), head_sha, check_run_id
FROM pr_records
WHERE check_run_id IS NOT NULL;

-- A post of the guidance comment was started and not confirmed: the comment may exist
-- and is looked for before posting. Records from before this column may be in that state.
ALTER TABLE pr_records
    ADD COLUMN comment_unconfirmed BOOLEAN NOT NULL DEFAULT 0 CHECK (comment_unconfirmed IN (0, 1));
UPDATE pr_records SET comment_unconfirmed = 1 WHERE comment_id IS NULL;
