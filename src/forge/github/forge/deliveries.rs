//! The App's webhook delivery log, and redeliveries from it. GitHub does not redeliver
//! a failed webhook by itself; the sweep asks. Read and asked with the App's JWT: the
//! log is the App's own, not an installation's.

use super::{GitHubForge, PER_PAGE};
use crate::forge::github::client::{ApiRequest, GitHubClient};
use crate::forge::github::models;
use crate::forge::rest::with_query;
use crate::forge::{Deliveries, ForgeError, ForgeResult, HookDelivery};
use async_trait::async_trait;
use http::Method;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[async_trait]
impl Deliveries for GitHubForge {
    async fn recent_deliveries(
        &self,
        since: OffsetDateTime,
        max_pages: usize,
    ) -> ForgeResult<Vec<HookDelivery>> {
        recent(&self.client, since, max_pages).await
    }

    async fn redeliver(&self, delivery: u64) -> ForgeResult<()> {
        redeliver(&self.client, delivery).await
    }
}

/// The deliveries logged since `since`, newest first, reading at most `max_pages`.
async fn recent(
    client: &GitHubClient,
    since: OffsetDateTime,
    max_pages: usize,
) -> ForgeResult<Vec<HookDelivery>> {
    let mut deliveries = Vec::new();
    let mut next = Some(with_query(
        client.endpoint(["app", "hook", "deliveries"]),
        &[("per_page", PER_PAGE)],
    ));
    let mut pages = 0;
    while let Some(url) = next.take() {
        if pages == max_pages {
            break;
        }
        pages += 1;
        let response = client.send_as_app(&ApiRequest::get(url)).await?.success()?;
        let page: Vec<models::HookDelivery> = response.json()?;
        let mut reached_since = page.is_empty();
        for entry in page {
            let at = OffsetDateTime::parse(&entry.delivered_at, &Rfc3339).map_err(|e| {
                ForgeError::Permanent(format!(
                    "delivery {} has a bad time {:?}: {e}",
                    entry.id, entry.delivered_at
                ))
            })?;
            // Newest first: everything from here on is older.
            if at < since {
                reached_since = true;
                break;
            }
            deliveries.push(HookDelivery {
                id: entry.id,
                guid: entry.guid,
                succeeded: (200..300).contains(&entry.status_code),
            });
        }
        if !reached_since {
            next = response.next_link().map(|l| client.follow(l)).transpose()?;
        }
    }
    Ok(deliveries)
}

/// Asks GitHub to deliver attempt `delivery` again.
async fn redeliver(client: &GitHubClient, delivery: u64) -> ForgeResult<()> {
    let id = delivery.to_string();
    let url = client.endpoint(["app", "hook", "deliveries", id.as_str(), "attempts"]);
    client
        .send_as_app(&ApiRequest::new(Method::POST, url))
        .await?
        .success()?;
    Ok(())
}
