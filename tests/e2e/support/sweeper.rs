//! A second process on a world's database that only sweeps, as a replica would: the
//! worlds' own processes have the sweep disabled, so tests run sweeps explicitly.
use super::github_world::{GitHubWorld, SECRET};
use super::gitlab_world::{GitLabWorld, TOKEN};
use super::test_private_key;
use smallbatch::app::{App, Forges};
use smallbatch::forge::github::GitHubForge;
use smallbatch::forge::gitlab::GitLabForge;
use smallbatch::settings::{
    GitHubSettings, GitLabSettings, LogFormat, Settings, SetupSettings, SweepSettings,
    WorkerSettings,
};
use smallbatch::store::Store;
use std::sync::Arc;

fn settings(github: Option<GitHubSettings>, gitlab: Option<GitLabSettings>) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: "sqlite::memory:".into(),
        log_format: LogFormat::Text,
        worker: WorkerSettings::default(),
        github,
        gitlab,
        prometheus_url: None,
        dora: Default::default(),
        sweep: SweepSettings::default(),
        ui: Default::default(),
        setup: SetupSettings::default(),
    }
}

/// A replica that only sweeps, sharing `store` with the world.
pub fn github_sweeper(w: &GitHubWorld) -> App {
    let gh = GitHubSettings {
        app_id: 1,
        private_key: test_private_key().into(),
        webhook_secret: SECRET.into(),
        api_url: w.gh.uri().parse().unwrap(),
    };
    let forge = GitHubForge::new(smallbatch::app::github_app(&gh)).unwrap();
    let forges = Forges {
        github: Some(Arc::new(forge)),
        ..Forges::default()
    };
    App::new(w.store.clone(), forges, &settings(Some(gh), None))
}

pub fn gitlab_sweeper(w: &GitLabWorld, store: Store) -> App {
    let gl = GitLabSettings {
        url: w.gl.uri().parse().unwrap(),
        token: TOKEN.into(),
        webhook_secrets: vec![SECRET.into()],
    };
    let forge = GitLabForge::new(smallbatch::app::gitlab_app(&gl)).unwrap();
    let forges = Forges {
        gitlab: Some(Arc::new(forge)),
        ..Forges::default()
    };
    App::new(store, forges, &settings(None, Some(gl)))
}
