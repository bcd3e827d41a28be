//! Figures for the closing note, printed rather than asserted:
//! - webhook acknowledgements per second with durable storage (SQLite, and PostgreSQL
//!   when SMALLBATCH_TEST_POSTGRES_URL is reachable);
//! - the GitHub API calls needed to evaluate an opened 20-file PR, cold and warm.
//!
//! Run: `cargo bench --bench intake` (env BENCH_REQUESTS, BENCH_CONCURRENCY).
// The end-to-end tests' support, of which this bench uses a part.
#[allow(dead_code, unused_macros)]
#[path = "../tests/e2e/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};
use support::fake_github::FakeFile;
use support::github_world::GitHubWorld;
use support::sha;
use support::world::World;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let requests = env_num("BENCH_REQUESTS", 4000);
    let concurrency = env_num("BENCH_CONCURRENCY", 32);
    intake(requests, concurrency).await;
    api_calls().await;
}

async fn intake(requests: usize, concurrency: usize) {
    let w = GitHubWorld::start_intake_only().await;
    w.open_pr(1, &sha(1), vec![FakeFile::modified("src/lib.rs", 10, 2)]);
    let payload = w.payload("pull_request.opened", 1);
    let body = serde_json::to_vec(&payload).unwrap();
    let sig =
        smallbatch::server::signature::sign_sha256(support::github_world::SECRET.as_bytes(), &body);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let url = w.url("/webhooks/github");
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let per_task = requests / concurrency;
    for t in 0..concurrency {
        let (client, url, body, sig) = (client.clone(), url.clone(), body.clone(), sig.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(per_task);
            for i in 0..per_task {
                let t0 = Instant::now();
                let resp = client
                    .post(&url)
                    .header("x-github-event", "pull_request")
                    .header("x-github-delivery", format!("bench-{t}-{i}"))
                    .header("x-hub-signature-256", &sig)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 202);
                latencies.push(t0.elapsed());
            }
            latencies
        });
    }
    let mut latencies: Vec<Duration> = Vec::new();
    while let Some(l) = tasks.join_next().await {
        latencies.extend(l.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let stored = w.store.queue_depth().await.unwrap();
    println!(
        "intake (sqlite, durable): {} acks in {:.2?} = {:.0}/s; p50 {:.2?}, p99 {:.2?}; {} jobs stored; payload {} bytes, concurrency {}",
        latencies.len(),
        elapsed,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        stored,
        body.len(),
        concurrency
    );
}

async fn api_calls() {
    let w = GitHubWorld::start().await;
    let files: Vec<FakeFile> = (0..20)
        .map(|i| FakeFile::modified(&format!("src/m{i}.rs"), 3, 1))
        .collect();
    w.open_pr(5, &sha(5), files);
    w.deliver("pull_request", &w.payload("pull_request.opened", 5))
        .await;
    w.settle().await;
    let cold = w.gh.take_calls();
    w.deliver("pull_request", &w.payload("pull_request.synchronize", 5))
        .await;
    w.settle().await;
    let warm = w.gh.take_calls();
    // A second PR on the same base: the policy files and the label are known.
    w.open_pr(
        6,
        &sha(6),
        (0..20)
            .map(|i| FakeFile::modified(&format!("src/n{i}.rs"), 3, 1))
            .collect(),
    );
    w.deliver("pull_request", &w.payload("pull_request.opened", 6))
        .await;
    w.settle().await;
    let second = w.gh.take_calls();
    for (name, calls) in [
        ("first PR in a fresh process", cold),
        ("same PR, nothing changed", warm),
        ("another opened PR, same base", second),
    ] {
        println!("API calls, opened 20-file PR, {name}: {}", calls.len());
        for c in calls {
            println!("    {c}");
        }
    }
}
