//! Wires settings, store, forges, HTTP server and worker into one running process.

mod setup;
use crate::forge::github::{GitHubApp, GitHubForge};
use crate::forge::gitlab::{GitLabApp, GitLabForge};
use crate::forge::Forge;
use crate::server::{self, AppState};
use crate::settings::{GitHubSettings, GitLabSettings, Settings, SweepSettings, UiSettings};
use crate::store::{Store, StoreError};
use crate::telemetry::Prometheus;
use crate::worker::{self, Ctx};
use crate::worker_runtime;
use axum::Router;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid GitHub App settings: {0}")]
    GitHub(String),
    #[error("invalid GitLab settings: {0}")]
    GitLab(String),
    #[error("invalid telemetry settings: {0}")]
    Telemetry(String),
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error("cannot start the worker's runtime: {0}")]
    Runtime(std::io::Error),
}

/// The forges this process serves; at least one.
#[derive(Clone, Default)]
pub struct Forges {
    pub github: Option<Arc<dyn Forge>>,
    pub gitlab: Option<Arc<dyn Forge>>,
    /// Production telemetry for `/ship`.
    pub prometheus: Option<Prometheus>,
}

/// The two halves of a process, sharing one store.
pub struct App {
    pub state: AppState,
    pub ctx: Arc<Ctx>,
    pub sweep: SweepSettings,
    /// The web pages for people.
    pub ui: UiSettings,
}

impl App {
    /// Webhook secrets come from `settings`; a forge's route answers only when both its
    /// client and its settings are present.
    pub fn new(store: Store, forges: Forges, settings: &Settings) -> Self {
        Self::with_worker_store(store.clone(), store, forges, settings)
    }

    /// As [`App::new`], with the worker on its own handle of the same store (see
    /// [`Store::for_other_runtime`]), for a worker that runs on another runtime.
    pub fn with_worker_store(
        store: Store,
        worker_store: Store,
        forges: Forges,
        settings: &Settings,
    ) -> Self {
        let job_stored = Arc::new(Notify::new());
        let ctx = Arc::new(Ctx {
            store: worker_store,
            github: forges.github.clone(),
            gitlab: forges.gitlab.clone(),
            prometheus: forges.prometheus,
            settings: settings.worker.clone(),
            job_stored: job_stored.clone(),
            worker_id: worker_id(),
            verdicts: Default::default(),
            teams: Default::default(),
            pages_url: settings
                .ui
                .public_url
                .clone()
                .filter(|_| settings.ui.enabled()),
        });
        let state = AppState {
            store,
            github_secret: settings
                .github
                .as_ref()
                .filter(|_| forges.github.is_some())
                .map(|s| Arc::new(s.webhook_secret.clone())),
            gitlab_secrets: settings
                .gitlab
                .as_ref()
                .filter(|_| forges.gitlab.is_some())
                .map(|s| Arc::new(s.webhook_secrets.clone())),
            job_stored,
            worker: Some(ctx.clone()),
            dora: settings.dora,
        };
        Self {
            state,
            ctx,
            sweep: settings.sweep.clone(),
            ui: settings.ui.clone(),
        }
    }

    /// Serves `listener` and runs the worker until `shutdown`; then stops accepting,
    /// finishes in-flight requests and drains the worker. Both run on the current runtime.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), StartError> {
        self.run_with_worker_on(&Handle::current(), listener, shutdown)
            .await
    }

    /// As [`App::run`], with the worker and the sweep spawned on `worker_runtime`.
    pub async fn run_with_worker_on(
        self,
        worker_runtime: &Handle,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), StartError> {
        let (router, working) = self.start(worker_runtime, &shutdown);
        let stop = shutdown.clone();
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        shutdown.cancel();
        working.stopped().await;
        served.map_err(StartError::Serve)
    }

    /// Spawns the worker and the sweep on `worker_runtime`, until `shutdown`; returns the
    /// router to serve.
    fn start(self, worker_runtime: &Handle, shutdown: &CancellationToken) -> (Router, Working) {
        let worker = worker_runtime.spawn(worker::run(self.ctx.clone(), shutdown.clone()));
        let sweep = self.sweep.interval.map(|interval| {
            worker_runtime.spawn(worker::sweep::run(
                self.ctx.clone(),
                interval,
                shutdown.clone(),
            ))
        });
        let pages = server::ui::router(self.state.store.clone(), &self.ui, self.state.dora);
        let router = server::router(self.state).merge(pages);
        (router, Working { worker, sweep })
    }
}

/// The worker and the sweep of a started [`App`].
struct Working {
    worker: JoinHandle<()>,
    sweep: Option<JoinHandle<()>>,
}

impl Working {
    /// Waits until both have stopped (after the shutdown token is cancelled).
    async fn stopped(self) {
        let _ = self.worker.await;
        if let Some(sweep) = self.sweep {
            let _ = sweep.await;
        }
    }
}

fn worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "smallbatch".into());
    format!(
        "{host}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// `smallbatch serve`: runs until SIGTERM or Ctrl-C. The worker runs on a runtime of its
/// own whose threads yield the CPU to intake (see `worker_runtime`), so a busy worker does
/// not delay acknowledging webhooks.
///
/// With neither forge configured it serves the setup page instead (see [`setup`]).
pub async fn serve(settings: Settings) -> Result<(), StartError> {
    let store = Store::connect(&settings.database_url).await?;
    let worker_runtime = worker_runtime::build().map_err(StartError::Runtime)?;
    let listener =
        TcpListener::bind(settings.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: settings.listen,
                source,
            })?;
    let shutdown = CancellationToken::new();
    tokio::spawn(signal_shutdown(shutdown.clone()));
    let served = if settings.needs_setup() {
        tracing::info!(
            listen = %settings.listen,
            "smallbatch serving the setup page: no GitHub App or GitLab settings yet"
        );
        setup::serve(store, worker_runtime.handle(), settings, listener, shutdown).await
    } else {
        let app = app(store, worker_runtime.handle(), &settings)?;
        tracing::info!(listen = %settings.listen, "smallbatch serving");
        app.run_with_worker_on(worker_runtime.handle(), listener, shutdown)
            .await
    };
    // The worker has drained; its runtime may not block this one while it stops.
    worker_runtime.shutdown_background();
    served
}

/// The process `settings` describe, its worker's store handle on `worker_runtime`.
fn app(store: Store, worker_runtime: &Handle, settings: &Settings) -> Result<App, StartError> {
    let worker_store = {
        let _on_worker_runtime = worker_runtime.enter();
        store.for_other_runtime()
    };
    let forges = Forges {
        github: settings.github.as_ref().map(github_forge).transpose()?,
        gitlab: settings.gitlab.as_ref().map(gitlab_forge).transpose()?,
        prometheus: settings
            .prometheus_url
            .clone()
            .map(Prometheus::new)
            .transpose()
            .map_err(|e| StartError::Telemetry(e.to_string()))?,
    };
    Ok(App::with_worker_store(
        store,
        worker_store,
        forges,
        settings,
    ))
}

/// The GitHub App as settings describe it.
pub fn github_app(settings: &GitHubSettings) -> GitHubApp {
    GitHubApp {
        app_id: settings.app_id,
        private_key: settings.private_key.clone(),
        api_url: settings.api_url.clone(),
        app_slug: None,
    }
}

fn github_forge(settings: &GitHubSettings) -> Result<Arc<dyn Forge>, StartError> {
    let forge =
        GitHubForge::new(github_app(settings)).map_err(|e| StartError::GitHub(e.to_string()))?;
    Ok(Arc::new(forge))
}

/// The GitLab client as settings describe it.
pub fn gitlab_app(settings: &GitLabSettings) -> GitLabApp {
    GitLabApp {
        base_url: settings.url.clone(),
        token: settings.token.clone(),
    }
}

fn gitlab_forge(settings: &GitLabSettings) -> Result<Arc<dyn Forge>, StartError> {
    let forge =
        GitLabForge::new(gitlab_app(settings)).map_err(|e| StartError::GitLab(e.to_string()))?;
    Ok(Arc::new(forge))
}

async fn signal_shutdown(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown requested; draining");
    shutdown.cancel();
}
