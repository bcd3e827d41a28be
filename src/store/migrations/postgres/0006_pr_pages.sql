-- The gate's last published verdict on each PR, as the web page of that PR shows it (the
-- same title and summary as the GitHub check; GitLab's commit status links to the page).
CREATE TABLE pr_pages (
    pr_key       TEXT   NOT NULL PRIMARY KEY,
    forge        TEXT   NOT NULL,
    repo         TEXT   NOT NULL,
    number       BIGINT NOT NULL,
    title        TEXT   NOT NULL,
    html_url     TEXT   NOT NULL,
    head_sha     TEXT   NOT NULL,
    conclusion   TEXT   NOT NULL,
    check_title  TEXT   NOT NULL,
    summary      TEXT   NOT NULL,
    evaluated_at BIGINT NOT NULL
);
CREATE INDEX pr_pages_by_repo ON pr_pages (forge, repo, evaluated_at);
