//! The gate's last published verdict per PR, for the web page of that PR.
use super::{from_ms, Store, StoreResult};
use crate::domain::{ForgeKind, PrRef};
use time::OffsetDateTime;

/// What the PR's web page shows: the same title and summary as the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrPage {
    pub forge: ForgeKind,
    /// `owner/name` (GitLab: the project's full path).
    pub repo: String,
    pub number: u64,
    /// The PR's own title.
    pub title: String,
    pub html_url: String,
    pub head_sha: String,
    /// `pass`, `wait` or `fail`.
    pub conclusion: String,
    pub check_title: String,
    /// Markdown, as the GitHub check's summary.
    pub summary: String,
    pub evaluated_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct PageRow {
    forge: String,
    repo: String,
    number: i64,
    title: String,
    html_url: String,
    head_sha: String,
    conclusion: String,
    check_title: String,
    summary: String,
    evaluated_at: i64,
}

impl PageRow {
    fn into_page(self) -> StoreResult<Option<PrPage>> {
        let forge = match self.forge.as_str() {
            "github" => ForgeKind::GitHub,
            "gitlab" => ForgeKind::GitLab,
            _ => return Ok(None),
        };
        Ok(Some(PrPage {
            forge,
            repo: self.repo,
            number: u64::try_from(self.number).unwrap_or_default(),
            title: self.title,
            html_url: self.html_url,
            head_sha: self.head_sha,
            conclusion: self.conclusion,
            check_title: self.check_title,
            summary: self.summary,
            evaluated_at: from_ms(self.evaluated_at)?,
        }))
    }
}

const COLUMNS: &str =
    "forge, repo, number, title, html_url, head_sha, conclusion, check_title, summary, evaluated_at";

impl Store {
    /// Replaces the page of `pr` with what the gate just published.
    pub async fn save_pr_page(&self, pr: &PrRef, page: &PrPage) -> StoreResult<()> {
        let offset = self.offset();
        let pr_key = pr.key();
        let page = page.clone();
        write_one!(self, |db, dialect| {
            let sql = sql!(
                "INSERT INTO pr_pages (pr_key, forge, repo, number, title, html_url, head_sha, ",
                "conclusion, check_title, summary, evaluated_at) ",
                "VALUES ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, ",
                now!(),
                ") ON CONFLICT (pr_key) DO UPDATE SET title = excluded.title, ",
                "html_url = excluded.html_url, head_sha = excluded.head_sha, ",
                "conclusion = excluded.conclusion, check_title = excluded.check_title, ",
                "summary = excluded.summary, evaluated_at = excluded.evaluated_at"
            );
            sqlx::query(sql.on(dialect))
                .bind(offset)
                .bind(pr_key)
                .bind(page.forge.as_str())
                .bind(page.repo)
                .bind(i64::try_from(page.number).unwrap_or(i64::MAX))
                .bind(page.title)
                .bind(page.html_url)
                .bind(page.head_sha)
                .bind(page.conclusion)
                .bind(page.check_title)
                .bind(page.summary)
                .execute(db)
                .await?;
            Ok(())
        })
    }

    pub async fn pr_page(
        &self,
        forge: ForgeKind,
        repo: &str,
        number: u64,
    ) -> StoreResult<Option<PrPage>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM pr_pages WHERE forge = $1 AND repo = $2 AND number = $3"
        );
        let row: Option<PageRow> = read!(self, |db| {
            sqlx::query_as(&sql)
                .bind(forge.as_str())
                .bind(repo)
                .bind(i64::try_from(number).unwrap_or(i64::MAX))
                .fetch_optional(db)
                .await
        })?;
        Ok(row.map(PageRow::into_page).transpose()?.flatten())
    }

    /// The `limit` most recently evaluated PRs, newest first.
    pub async fn recent_pr_pages(&self, limit: u32) -> StoreResult<Vec<PrPage>> {
        let sql = format!("SELECT {COLUMNS} FROM pr_pages ORDER BY evaluated_at DESC LIMIT $1");
        let rows: Vec<PageRow> = read!(self, |db| {
            sqlx::query_as(&sql)
                .bind(i64::from(limit))
                .fetch_all(db)
                .await
        })?;
        let mut pages = Vec::with_capacity(rows.len());
        for row in rows {
            pages.extend(row.into_page()?);
        }
        Ok(pages)
    }
}
