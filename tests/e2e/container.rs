//! The container image, built with podman from the repository's `Containerfile` and
//! started as a user would: the setup page answers on the published port, the process
//! runs as uid 10001, and the SQLite database lands in the volume.
//!
//! No container registry is reachable here, so two things differ from a user's build:
//! the base image is made with debootstrap and imported under a local name, and the
//! binary this test run built is copied in place of the build stage's (which is the
//! `cargo build --release --locked` that `cargo install` runs, and takes minutes). The
//! runtime stage is the repository's, line for line.
//!
//! It needs root, podman (with runc where crun cannot run), and debootstrap, so
//! `cargo test` skips it; `.ci/run` runs it with
//! `cargo test --locked --test e2e -- --ignored container::`.
use crate::support::process::free_port;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The `RUNTIME_IMAGE` this test builds on: Debian bookworm, made by debootstrap.
const BASE: &str = "localhost/smallbatch-test/debian:bookworm-slim";
const IMAGE: &str = "localhost/smallbatch-test/smallbatch:test";
/// The one line of the runtime stage that names the build stage.
const COPY_FROM_BUILD: &str = "COPY --from=build /smallbatch ";

/// `podman` with the runtime this machine can run: crun refuses hybrid cgroup
/// hierarchies, which runc accepts.
fn podman() -> Command {
    let mut command = Command::new("podman");
    if Path::new("/usr/bin/runc").exists() {
        command.args(["--runtime", "runc"]);
    }
    command
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(command: &mut Command) -> String {
    String::from_utf8_lossy(&run(command).stdout)
        .trim()
        .to_owned()
}

/// Imports a minimal Debian bookworm as [`BASE`], unless an earlier run did.
fn ensure_base_image() {
    let exists = podman()
        .args(["image", "exists", BASE])
        .status()
        .expect("podman is installed (Debian package `podman`)");
    if exists.success() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    run(Command::new("debootstrap").args([
        "--variant=minbase",
        "bookworm",
        &root.path().display().to_string(),
        "http://deb.debian.org/debian",
    ]));
    let mut tar = Command::new("tar")
        .args(["-C", &root.path().display().to_string(), "-c", "."])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let archive = tar.stdout.take().unwrap();
    run(podman().args(["import", "-", BASE]).stdin(archive));
    assert!(
        tar.wait().unwrap().success(),
        "tar of the Debian base failed"
    );
}

/// The repository's runtime stage, with the build stage's binary taken from the context.
fn runtime_stage(containerfile: &str) -> String {
    let start = containerfile
        .find("FROM ${RUNTIME_IMAGE}")
        .expect("a runtime stage");
    let stage = &containerfile[start..];
    assert_eq!(
        stage.matches(COPY_FROM_BUILD).count(),
        1,
        "the runtime stage copies the binary from the build stage once:\n{stage}"
    );
    format!(
        "ARG RUNTIME_IMAGE\n{}",
        stage.replace(COPY_FROM_BUILD, "COPY smallbatch ")
    )
}

/// Removes the container however the test ends.
struct Running(String);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = podman().args(["rm", "--force", &self.0]).output();
    }
}

#[tokio::test]
#[ignore = "needs root, podman and debootstrap; .ci/run runs it"]
async fn the_image_builds_and_serves_the_setup_page_as_a_non_root_user() {
    ensure_base_image();
    let context = tempfile::tempdir().unwrap();
    let containerfile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Containerfile"))
            .unwrap();
    std::fs::write(
        context.path().join("Containerfile"),
        runtime_stage(&containerfile),
    )
    .unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_smallbatch"),
        context.path().join("smallbatch"),
    )
    .unwrap();
    run(podman().args([
        "build",
        "--network",
        "host",
        "--build-arg",
        &format!("RUNTIME_IMAGE={BASE}"),
        "--tag",
        IMAGE,
        &context.path().display().to_string(),
    ]));

    let port = free_port();
    let name = format!("smallbatch-test-{port}");
    // Limits below the host's: raising them needs a capability this machine withholds.
    run(podman().args([
        "run",
        "--detach",
        "--name",
        &name,
        "--ulimit",
        "nofile=4096:4096",
        "--ulimit",
        "nproc=4096:4096",
        "--publish",
        &format!("127.0.0.1:{port}:3000"),
        IMAGE,
    ]));
    let container = Running(name);

    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        let health = reqwest::get(format!("{base}/healthz")).await;
        if health.is_ok_and(|h| h.status() == 200) {
            break;
        }
        let logs = podman().args(["logs", &container.0]).output().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no answer on {base}/healthz after 60 s:\n{}{}",
            String::from_utf8_lossy(&logs.stdout),
            String::from_utf8_lossy(&logs.stderr)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // No credentials yet: the setup page, reached through the published port.
    let page = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("<h1>Set up smallbatch</h1>"), "{page}");

    let id = stdout(podman().args(["exec", &container.0, "id", "-u"]));
    assert_eq!(id, "10001", "the server runs as the image's own user");
    let files = stdout(podman().args(["exec", &container.0, "ls", "/var/lib/smallbatch"]));
    assert!(
        files.lines().any(|f| f == "smallbatch.db"),
        "the database is in the volume: {files}"
    );
    let volumes =
        stdout(podman().args(["image", "inspect", "--format", "{{.Config.Volumes}}", IMAGE]));
    assert!(volumes.contains("/var/lib/smallbatch"), "{volumes}");
    let size = stdout(podman().args(["image", "inspect", "--format", "{{.Size}}", IMAGE]));
    println!("image {IMAGE}: {size} bytes (the base alone is a debootstrap minbase)");
}
