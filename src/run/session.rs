//! The clients of a run: the replay server's, or the AWS configuration chain's (recording if asked),
//! and what happens after the report (unused recordings, writing the recording).

use crate::aws::{Aws, AwsOptions};
use crate::invocation::Invocation;
use crate::replay::{RecordOptions, Recorder, ReplayServer, Scenario};
use crate::report::Report;
use crate::terminal::visible;

use super::RunError;

/// The clients of a run, the replay server they talk to (alive as long as they are) and the recorder.
pub(super) struct Session {
    pub(super) aws: Aws,
    server: Option<ReplayServer>,
    recorder: Option<Recorder>,
}

impl Session {
    /// Clients for this run. The first network step of a run: everything before it was checked.
    pub(super) async fn connect(invocation: &Invocation) -> Result<Session, RunError> {
        let settings = &invocation.aws;
        let deadline = tokio::time::Instant::now() + settings.timeout;
        if let Some(replay) = &settings.replay {
            let scenario = Scenario::load(&replay.dir)?;
            let server = ReplayServer::start_with_faults(scenario, replay.faults).await;
            let region = settings
                .regions
                .first()
                .map(String::as_str)
                .or(server.region())
                .unwrap_or("us-east-1");
            let aws = Aws::for_replay(&server.url(), region, settings.max_attempts)?
                .with_deadline(deadline)
                .with_budget(settings.concurrency);
            return Ok(Session {
                aws,
                server: Some(server),
                recorder: None,
            });
        }
        let recorder = settings.record.as_ref().map(|_| Recorder::default());
        let options = AwsOptions {
            region: settings.regions.first().cloned(),
            profile: settings.profile.clone(),
            endpoint_url: settings.endpoint_url.clone(),
            recorder: recorder.clone(),
            max_attempts: settings.max_attempts,
            // DescribeRegions is global in effect: any enabled region answers for all.
            fallback_region: settings.all_regions.then(|| "us-east-1".to_string()),
        };
        Ok(Session {
            aws: Aws::from_environment(&options)
                .await?
                .with_deadline(deadline)
                .with_budget(settings.concurrency),
            server: None,
            recorder,
        })
    }

    /// After the report: `--replay-strict` lists unused recordings; `--record` writes the recording.
    pub(super) fn finish(
        self,
        invocation: &Invocation,
        report: &mut Report,
    ) -> Result<(), RunError> {
        let settings = &invocation.aws;
        if settings.replay.as_ref().is_some_and(|r| r.strict)
            && let Some(server) = &self.server
        {
            report.errors.extend(
                server
                    .unused()
                    .into_iter()
                    .map(|e| format!("recording not used: {e}")),
            );
        }
        if let (Some(record), Some(recorder)) = (&settings.record, &self.recorder) {
            let args: Vec<String> = std::env::args_os()
                .skip(1)
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect();
            // `RecordOptions` strips user info from URLs in both (`--endpoint-url https://u:p@host`).
            let options = RecordOptions {
                description: format!(
                    "Recorded by emr-ami-audit {} in {}: emr-ami-audit {}",
                    env!("CARGO_PKG_VERSION"),
                    self.aws.region(),
                    args.join(" ")
                ),
                commands: vec![recorded_command(&args)],
                region: self.aws.region().to_string(),
                force: record.force,
                redact_account: record.redact_account,
            };
            recorder.write(&record.dir, &options)?;
            eprintln!(
                "emr-ami-audit: recorded {} exchanges to {}",
                recorder.len(),
                visible(&record.dir.display().to_string())
            );
        }
        Ok(())
    }
}

/// The command as a scenario's `commands` lists it: the arguments after the global options, that is the
/// subcommand and its own arguments, wherever clap let the global options be (before or after the
/// subcommand). `--replay DIR` followed by them replays the run.
fn recorded_command(args: &[String]) -> Vec<String> {
    use clap::CommandFactory;
    let cli = crate::cli::Cli::command();
    let globals: Vec<&clap::Arg> = cli.get_arguments().filter(|a| a.is_global_set()).collect();
    let takes_value = |arg: &clap::Arg| arg.get_action().takes_values();
    let mut command = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            command.push(arg.clone());
            command.extend(args.cloned());
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline_value) = match long.split_once('=') {
                Some((name, _)) => (name, true),
                None => (long, false),
            };
            if let Some(global) = globals.iter().find(|g| g.get_long() == Some(name)) {
                if takes_value(global) && !inline_value {
                    args.next();
                }
                continue;
            }
        } else if let Some(shorts) = arg.strip_prefix('-')
            && !shorts.is_empty()
            && shorts.chars().all(|c| {
                globals
                    .iter()
                    .any(|g| g.get_short() == Some(c) && !takes_value(g))
            })
        {
            continue;
        }
        command.push(arg.clone());
    }
    command
}

#[cfg(test)]
mod tests {
    use super::recorded_command;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn the_recorded_command_leaves_out_the_global_options() {
        let args = strings(&[
            "--endpoint-url",
            "https://u:p@localhost:4566",
            "--record=rec",
            "--force",
            "-vv",
            "image",
            "ami-1",
            "--release",
            "emr-7.1.0",
            "--format",
            "json",
            "--region",
            "eu-west-1",
            "--account",
            "111122223333",
        ]);
        assert_eq!(
            recorded_command(&args),
            strings(&[
                "image",
                "ami-1",
                "--release",
                "emr-7.1.0",
                "--account",
                "111122223333"
            ])
        );
        assert_eq!(
            recorded_command(&strings(&["--profile", "image", "cluster", "--", "-v"])),
            strings(&["cluster", "--", "-v"])
        );
    }
}
