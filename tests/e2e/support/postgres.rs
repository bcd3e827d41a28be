//! The PostgreSQL server the store and replica tests use.
//!
//! `SMALLBATCH_TEST_POSTGRES_URL` names one. Unset, the machine's server on 127.0.0.1:5432
//! is used when something listens there; otherwise a throwaway cluster is made from the
//! PostgreSQL binaries (Debian's `postgresql` package) in a temporary folder, and a
//! watchdog stops and removes it within a second of this test process ending. Set the
//! variable to `throwaway` to force the throwaway cluster.
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const MACHINE_SERVER: &str = "postgres://postgres@127.0.0.1:5432/test";

/// An admin URL: a database the tests may create and drop databases from.
pub fn admin_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("SMALLBATCH_TEST_POSTGRES_URL") {
        Ok(url) if url == "throwaway" => throwaway_cluster(),
        Ok(url) if !url.is_empty() => reachable_or_panic(url),
        _ if listens(5432) => MACHINE_SERVER.to_owned(),
        _ => throwaway_cluster(),
    })
}

/// A named server that does not answer fails every PostgreSQL test at once, rather than
/// each after sqlx's 30-second connect timeout.
fn reachable_or_panic(url: String) -> String {
    let parsed = url::Url::parse(&url).expect("SMALLBATCH_TEST_POSTGRES_URL is not a URL");
    let host = parsed.host_str().unwrap_or("127.0.0.1");
    let port = parsed.port().unwrap_or(5432);
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .into_iter()
        .flatten()
        .any(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(5)).is_ok());
    assert!(
        reachable,
        "SMALLBATCH_TEST_POSTGRES_URL names {host}:{port}, which does not answer; \
         unset it to use (or start) a local server"
    );
    url
}

fn listens(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

/// Starts a cluster owned by this process and returns its admin URL. Panics, saying what
/// to install or set, when no PostgreSQL binaries are found.
fn throwaway_cluster() -> String {
    let bin = binaries().unwrap_or_else(|| {
        panic!(
            "the PostgreSQL tests need a server: none listens on 127.0.0.1:5432, \
             SMALLBATCH_TEST_POSTGRES_URL is unset, and no initdb was found in \
             /usr/lib/postgresql/*/bin (install Debian's `postgresql` package, or set \
             SMALLBATCH_TEST_POSTGRES_URL)"
        )
    });
    let dir = tempfile::Builder::new()
        .prefix("smallbatch-pg-")
        .tempdir()
        .expect("a temporary folder for PostgreSQL")
        .keep();
    let data = dir.join("data");
    let port = super::process::free_port();
    // initdb and postgres refuse to run as root; Debian's package makes a `postgres` user.
    let as_root = unsafe { libc::geteuid() } == 0;
    if as_root {
        run(Command::new("chown").arg("postgres:").arg(&dir));
    }
    run(as_owner(as_root, &bin.join("initdb"))
        .args(["--auth=trust", "--username=postgres", "--no-sync", "-D"])
        .arg(&data));
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
        dir.display()
    );
    run(as_owner(as_root, &bin.join("pg_ctl"))
        .args(["-w", "-l"])
        .arg(dir.join("log"))
        .arg("-D")
        .arg(&data)
        .args(["-o", &options, "start"]));
    watch_until_exit(as_root, &bin, &dir, &data);
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has initdb.
fn binaries() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn as_owner(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) {
    let output = command.output().expect("running a PostgreSQL command");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A detached shell that waits for this process to end, then stops the cluster and removes
/// its folder: the test harness has no hook that runs after the last test.
// Never waited for: it is meant to outlive this process.
#[allow(clippy::zombie_processes)]
fn watch_until_exit(as_root: bool, bin: &Path, dir: &Path, data: &Path) {
    let stop = format!(
        "{} {} -D '{}' -m immediate stop",
        if as_root {
            "runuser -u postgres --"
        } else {
            ""
        },
        bin.join("pg_ctl").display(),
        data.display()
    );
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        dir = dir.display()
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting the PostgreSQL watchdog");
}
