use clap::{Parser, Subcommand};
use smallbatch::local::{self, CheckArgs};
use smallbatch::settings::{LogFormat, Settings};
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
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve { config } => serve(config),
        Command::Check(args) => match local::run(&args, &mut std::io::stdout().lock()) {
            Ok(outcome) => ExitCode::from(u8::try_from(outcome.exit_code()).unwrap_or(1)),
            Err(e) => {
                eprintln!("smallbatch check: {e}");
                ExitCode::from(2)
            }
        },
    }
}

fn serve(config: Option<PathBuf>) -> ExitCode {
    let settings = match Settings::load(config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("smallbatch: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(settings.log_format);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(smallbatch::app::serve(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "smallbatch stopped");
            eprintln!("smallbatch: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
