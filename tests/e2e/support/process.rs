//! `smallbatch serve` as child processes, and throwaway PostgreSQL databases, for the
//! tests that run the binary the way an operator does.
use super::fake_github::FakeGitHub;
use super::github_world::SECRET;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The tests that time `smallbatch serve` replicas share this binary's process (and the
/// machine's two cores): the crash tests may run together (`timed`), the replicas soak,
/// which keeps both cores busy, runs with none of them (`timed_alone`).
static REPLICA_TIMING: RwLock<()> = RwLock::const_new(());

pub async fn timed() -> RwLockReadGuard<'static, ()> {
    REPLICA_TIMING.read().await
}

pub async fn timed_alone() -> RwLockWriteGuard<'static, ()> {
    REPLICA_TIMING.write().await
}

/// A loopback port free right now, for a child process to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh PostgreSQL database, dropped (forcibly) at the end.
pub struct Database {
    admin: String,
    name: String,
    pub url: String,
}

impl Database {
    pub async fn create() -> Self {
        let admin = super::postgres::admin_url().to_owned();
        let name = format!("smallbatch_t_{:016x}", rand::random::<u64>());
        let pool = sqlx::PgPool::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        Self {
            admin,
            name,
            url: url.to_string(),
        }
    }

    pub async fn drop_it(&self) {
        let pool = sqlx::PgPool::connect(&self.admin).await.unwrap();
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
}

/// One `smallbatch serve` child process; killed if still running when dropped.
pub struct Replica {
    pub child: Child,
    pub base: String,
    log: PathBuf,
}

impl Replica {
    pub fn spawn(
        dir: &Path,
        index: usize,
        db_url: &str,
        gh: &FakeGitHub,
        env: &[(&str, &str)],
    ) -> Self {
        let port = free_port();
        let log = dir.join(format!("replica-{index}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_smallbatch"))
            .arg("serve")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("RUST_LOG", "warn")
            .env("SMALLBATCH_LISTEN", format!("127.0.0.1:{port}"))
            .env("SMALLBATCH_DATABASE_URL", db_url)
            .env("SMALLBATCH_WORKER__CONCURRENCY", "4")
            .env("SMALLBATCH_GITHUB__APP_ID", "1")
            .env("SMALLBATCH_GITHUB__PRIVATE_KEY", super::test_private_key())
            .env("SMALLBATCH_GITHUB__WEBHOOK_SECRET", SECRET)
            .env("SMALLBATCH_GITHUB__API_URL", gh.uri())
            .envs(env.iter().copied())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap();
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Worker ids are `<host>-<pid>-<random>`; this matches the ones of this process.
    pub fn owns(&self, worker: &str) -> bool {
        worker.contains(&format!("-{}-", self.pid()))
    }

    pub async fn wait_healthy(&self, http: &reqwest::Client) {
        for _ in 0..400 {
            if http
                .get(format!("{}/healthz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("replica did not come up:\n{}", self.logs());
    }

    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {signal} {}", self.pid());
    }

    pub fn cpu_secs(&self) -> Option<f64> {
        cpu_secs(self.pid())
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// User plus system CPU time of a live process, from `/proc` (Linux only).
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
