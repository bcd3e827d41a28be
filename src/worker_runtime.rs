//! The worker's own Tokio runtime, whose threads run at a lower CPU priority than the
//! HTTP server's. On a busy machine the kernel then gives intake (verify, store,
//! acknowledge) the CPU first, so its latency does not depend on what the worker is doing;
//! the worker only takes longer, and the job queue absorbs that.

use tokio::runtime::{Builder, Runtime};

/// Added to the worker threads' nice value. At 10 a thread weighs about a tenth of a
/// default one in the kernel's scheduler (CFS weights 110 vs 1024).
const WORKER_NICENESS: i32 = 10;

pub fn build() -> std::io::Result<Runtime> {
    Builder::new_multi_thread()
        .thread_name("smallbatch-worker")
        .on_thread_start(lower_priority)
        .enable_all()
        .build()
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // On Linux the nice value belongs to the thread (`who = 0` is the calling thread), so
    // only this runtime's threads are lowered. Raising it needs no privilege; on failure
    // the thread just keeps the default priority.
    // SAFETY: setpriority takes plain integers and touches no memory of ours.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, WORKER_NICENESS) };
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}
