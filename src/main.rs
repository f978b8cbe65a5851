// The run's future nests every command's async bodies down to each AWS call's retry loop: deeper
// than the compiler's default layout limit.
#![recursion_limit = "256"]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use emr_ami_audit::cli::Cli;
use emr_ami_audit::terminal::visible;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose > 0 {
        let level = if cli.verbose >= 2 {
            tracing::Level::DEBUG
        } else {
            tracing::Level::INFO
        };
        // Logs go to stderr: stdout carries only the report.
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(level)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("emr-ami-audit: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(emr_ami_audit::run::run(&cli)) {
        Ok(outcome) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is the reader's choice, not an error.
            match stdout
                .write_all(outcome.stdout.as_bytes())
                .and_then(|_| stdout.flush())
            {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("emr-ami-audit: cannot write the report: {error}");
                    ExitCode::from(2)
                }
                _ => ExitCode::from(outcome.exit_code),
            }
        }
        Err(error) => {
            // The message may quote what the user typed: shown, never obeyed by the terminal.
            eprintln!("emr-ami-audit: {}", visible(&error.to_string()));
            ExitCode::from(2)
        }
    }
}
