use clap::{Parser, Subcommand};
use smallbatch::local::{self, CheckArgs};
use smallbatch::settings::Settings;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Keeps pull requests small and peer-reviewed.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the webhook server and its worker.
    Serve {
        /// Settings file (default: ./smallbatch.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Score the committed work of the current branch with the gate's rules.
    Check(CheckArgs),
    /// Print the JSON Schema of the repository policy file, for editors.
    Schema,
    /// Delivery metrics (the four DORA keys) from the bot's own ship records.
    Report {
        /// Only this repository (`owner/name`, or the GitLab project path).
        #[arg(long)]
        repo: Option<String>,
        /// The period, back from now: `30d`, `2w`, `12h`.
        #[arg(long, default_value = "30d")]
        since: String,
        /// The server's database.
        #[arg(long, env = "SMALLBATCH_DATABASE_URL", default_value = smallbatch::settings::DEFAULT_DATABASE_URL)]
        database_url: String,
        /// A deploy reverted or rolled back within this long after it deployed failed:
        /// `24h`, `90m`, `1h30m`.
        #[arg(long, env = "SMALLBATCH_DORA__FAILURE_WINDOW", default_value = "24h")]
        failure_window: String,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve { config } => serve(config),
        Command::Schema => {
            let schema = smallbatch::policy::schema::policy_schema();
            let text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
            // A closed stdout (`smallbatch schema | head`) is not an error worth a panic.
            let _ = writeln!(std::io::stdout(), "{text}");
            ExitCode::SUCCESS
        }
        Command::Report {
            repo,
            since,
            database_url,
            failure_window,
        } => report(repo, &since, &database_url, &failure_window),
        Command::Check(args) => {
            // Written whole at the end: a reader that stops early (`| head -1`) closes the
            // pipe, which must not turn the verdict's exit code into an error.
            let mut out = Vec::new();
            let result = local::run(&args, &mut out);
            let _ = std::io::stdout().lock().write_all(&out);
            check_exit(result)
        }
    }
}

fn check_exit(result: Result<local::CheckOutcome, local::LocalError>) -> ExitCode {
    match result {
        Ok(outcome) => ExitCode::from(u8::try_from(outcome.exit_code()).unwrap_or(1)),
        Err(e) => {
            say(&format!("smallbatch check: {e}"));
            ExitCode::from(2)
        }
    }
}

fn serve(config: Option<PathBuf>) -> ExitCode {
    let settings = match Settings::load(config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            say(&format!("smallbatch: {e}"));
            return ExitCode::from(2);
        }
    };
    let _logs = smallbatch::logging::init(settings.log_format);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(smallbatch::app::serve(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "smallbatch stopped");
            say(&format!("smallbatch: {e}"));
            ExitCode::FAILURE
        }
    }
}

/// One line on stderr, lost rather than a panic when stderr is closed.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn report(repo: Option<String>, since: &str, database_url: &str, failure_window: &str) -> ExitCode {
    let since = match smallbatch::dora::parse_since(since) {
        Ok(d) => std::time::Duration::try_from(d).unwrap_or_default(),
        Err(e) => {
            eprintln!("smallbatch report: --since: {e}");
            return ExitCode::from(2);
        }
    };
    let failure_window = match smallbatch::settings::DoraSettings::failure_window(failure_window) {
        Ok(window) => window,
        Err(e) => {
            eprintln!("smallbatch report: --failure-window: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async {
        let store = smallbatch::store::Store::connect(database_url).await?;
        smallbatch::report::delivery_metrics(&store, repo.as_deref(), since, failure_window).await
    });
    match result {
        Ok(metrics) => {
            let _ = write!(
                std::io::stdout(),
                "{}",
                smallbatch::dora::render_table(&metrics)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("smallbatch report: {e}");
            ExitCode::from(2)
        }
    }
}
