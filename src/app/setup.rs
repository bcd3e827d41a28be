//! `serve` before any forge is configured: the setup page, until it hands over a new
//! GitHub App's credentials; from then on the app as `serve` runs it, on the same
//! listener, without the setup page's routes.
use super::{app, StartError, Working};
use crate::server::setup::{self, Finish};
use crate::server::{self, AppState, Switch};
use crate::settings::{GitHubSettings, Settings};
use crate::store::Store;
use axum::Router;
use std::future::IntoFuture;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

pub(super) async fn serve(
    store: Store,
    worker_runtime: &Handle,
    mut settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    let (finish, mut finished) = mpsc::channel::<Finish>(1);
    // Health and readiness answer as usual; webhooks are refused until an app exists.
    let idle = AppState {
        store: store.clone(),
        github_secret: None,
        gitlab_secrets: None,
        job_stored: Arc::new(Notify::new()),
        worker: None,
        dora: settings.dora,
    };
    let switch =
        Switch::new(server::router(idle).merge(setup::routes(settings.setup.clone(), finish)));
    let stop = shutdown.clone();
    let mut serving = tokio::spawn(
        axum::serve(listener, switch.router())
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .into_future(),
    );
    let mut working: Option<Working> = None;
    let served = loop {
        tokio::select! {
            served = &mut serving => break served,
            Some(Finish { credentials, done }) = finished.recv(), if working.is_none() => {
                settings.github = Some(GitHubSettings {
                    app_id: credentials.app_id,
                    private_key: credentials.private_key,
                    webhook_secret: credentials.webhook_secret,
                    api_url: settings.setup.github_api_url.clone(),
                });
                match live(&store, worker_runtime, &settings, &shutdown) {
                    Ok((router, started)) => {
                        switch.set(router);
                        working = Some(started);
                        tracing::info!(app_id = credentials.app_id, "smallbatch serving the new GitHub App");
                        let _ = done.send(Ok(()));
                    }
                    Err(e) => {
                        settings.github = None;
                        let _ = done.send(Err(e.to_string()));
                    }
                }
            }
        }
    };
    shutdown.cancel();
    if let Some(working) = working {
        working.stopped().await;
    }
    match served {
        Ok(served) => served.map_err(StartError::Serve),
        Err(e) => Err(StartError::Serve(std::io::Error::other(e))),
    }
}

/// The app `settings` now describe, started: its router and its worker.
fn live(
    store: &Store,
    worker_runtime: &Handle,
    settings: &Settings,
    shutdown: &CancellationToken,
) -> Result<(Router, Working), StartError> {
    Ok(app(store.clone(), worker_runtime, settings)?.start(worker_runtime, shutdown))
}
