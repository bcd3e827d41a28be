//! Before a PostgreSQL pool is built, one TCP connection to the server says at once
//! whether it can be reached: the pool itself retries until its acquire timeout (30 s)
//! and then reports only that it timed out, not which host or why.

use super::{StoreError, StoreResult};
use std::time::Duration;

/// How long start-up waits for the database server to answer.
pub const REACH_TIMEOUT: Duration = Duration::from_secs(5);

/// `Ok` when the server of `url` accepts a TCP connection within [`REACH_TIMEOUT`]
/// (or the URL names a Unix socket, which the driver reports well on its own).
pub(super) async fn probe(url: &str) -> StoreResult<()> {
    let parsed = url::Url::parse(url).map_err(|e| StoreError::Unreachable {
        host: "?".into(),
        reason: format!("the URL does not parse: {e}"),
    })?;
    let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
        return Ok(());
    };
    let port = parsed.port().unwrap_or(5432);
    let address = format!("{host}:{port}");
    let reason = match tokio::time::timeout(
        REACH_TIMEOUT,
        tokio::net::TcpStream::connect(address.as_str()),
    )
    .await
    {
        Ok(Ok(_)) => return Ok(()),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} s", REACH_TIMEOUT.as_secs()),
    };
    Err(StoreError::Unreachable {
        host: address,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_is_named_with_the_reason_at_once() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let started = std::time::Instant::now();
        let err = probe(&format!("postgres://u@127.0.0.1:{port}/db"))
            .await
            .unwrap_err();
        assert!(started.elapsed() < REACH_TIMEOUT);
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("cannot reach the database at 127.0.0.1:{port}: ")),
            "{text}"
        );
        assert!(text.contains("refused"), "{text}");
    }
}
