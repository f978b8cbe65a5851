//! The command line (clap derive): global AWS and report flags, and the subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "emr-ami-audit",
    version,
    about = "Check AMIs against Amazon EMR's custom AMI constraints before a cluster fails to provision",
    long_about = None,
    after_help = "Exit codes: 0 no finding at or above --fail-on; 1 such findings; 2 bad usage or input; \
                  3 some target could not be audited."
)]
pub struct Cli {
    /// AWS region (default: the AWS configuration chain, e.g. AWS_REGION); `cluster` scans take several,
    /// repeated or comma-separated.
    #[arg(long, global = true, value_name = "REGION", value_delimiter = ',')]
    pub region: Vec<String>,

    /// Audit every region enabled for each account (EC2 DescribeRegions, asked in the configured region
    /// or us-east-1); `cluster` scans only.
    #[arg(long, global = true, conflicts_with = "region")]
    pub all_regions: bool,

    /// Audit these accounts (IDs, comma-separated or repeated, or @FILE with one per line) by assuming
    /// --role-arn in each; `org` alone for the organization's active accounts (AWS Organizations
    /// ListAccounts, from the management account or a delegated administrator).
    #[arg(
        long,
        global = true,
        value_name = "ACCOUNTS",
        value_delimiter = ',',
        requires = "role_arn"
    )]
    pub accounts: Vec<String>,

    /// With --accounts org: only the accounts under this organizational unit and, recursively, its child
    /// units (ou-…; repeated or comma-separated).
    #[arg(long, global = true, value_name = "OU", value_delimiter = ',')]
    pub ou: Vec<String>,

    /// The role to assume in each of --accounts; `{account}` stands for the account ID, e.g.
    /// arn:aws:iam::{account}:role/emr-ami-audit.
    #[arg(long, global = true, value_name = "ARN", requires = "accounts")]
    pub role_arn: Option<String>,

    /// External ID the roles of --role-arn require.
    #[arg(long, global = true, value_name = "ID", requires = "role_arn")]
    pub external_id: Option<String>,

    /// Session name for the assumed roles (shows in the accounts' CloudTrail).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        default_value = "emr-ami-audit"
    )]
    pub role_session_name: String,

    /// Named profile from the AWS config and credentials files.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Send every AWS request to this URL instead of AWS's endpoints.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Answer AWS requests from a recorded scenario (a mocks/ directory) instead of AWS.
    #[arg(long, global = true, value_name = "DIR", conflicts_with_all = ["endpoint_url", "profile"])]
    pub replay: Option<PathBuf>,

    /// Report format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// AWS calls in flight at once for the whole run, shared across all accounts and regions.
    #[arg(long, global = true, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

    /// Give up on AWS calls still waiting after this long for the whole run (e.g. 90s, 10m, 1h): what was
    /// audited is reported, the rest is "not audited: deadline reached" (exit code 3).
    #[arg(long, global = true, value_name = "DURATION", default_value = "30m")]
    pub timeout: String,

    /// Attempts per AWS call (adaptive retry with backoff on throttling, 5xx and connection errors).
    #[arg(long, global = true, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,

    /// With --replay: add this latency to every answer.
    #[arg(
        long,
        global = true,
        value_name = "MS",
        requires = "replay",
        default_value_t = 0
    )]
    pub replay_latency_ms: u64,

    /// With --replay: answer this fraction of requests (0 to 1) with throttling errors, 500s or dropped connections.
    #[arg(
        long,
        global = true,
        value_name = "RATE",
        requires = "replay",
        default_value_t = 0.0
    )]
    pub replay_fault_rate: f64,

    /// With --replay: seed of the injected faults.
    #[arg(
        long,
        global = true,
        value_name = "N",
        requires = "replay",
        default_value_t = 0
    )]
    pub replay_seed: u64,

    /// With --replay: report recordings the run never used (exit code 3).
    #[arg(long, global = true, requires = "replay")]
    pub replay_strict: bool,

    /// Record every AWS request and response of this (live) run into DIR, in the replay format.
    #[arg(long, global = true, value_name = "DIR", conflicts_with = "replay")]
    pub record: Option<PathBuf>,

    /// With --record: replace an existing DIR.
    #[arg(long, global = true, requires = "record")]
    pub force: bool,

    /// With --record: replace AWS account IDs (and the ARNs that contain them) with fixed fakes.
    #[arg(long, global = true, requires = "record")]
    pub redact_account: bool,

    /// Write the report to FILE instead of stdout.
    #[arg(long, global = true, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Lowest severity that makes the exit code 1 [default: error].
    #[arg(long, global = true, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,

    /// Configuration file [default: ./emr-ami-audit.toml when it exists].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Days after which an AMI's base image counts as stale (EA042) [default: 90].
    #[arg(long, global = true, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub max_age_days: Option<u32>,

    /// Log to stderr what the run does: -v for its steps, -vv also every AWS call and the SDK's debug log.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Never draw a progress bar (one shows for scans of many clusters, only on a terminal).
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// Judge time-dependent rules as of this instant (RFC 3339), for reproducible reports.
    #[arg(long, global = true, value_name = "TIME", hide = true)]
    pub now: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Audit candidate AMIs for an EMR release, instance types and applications.
    Image(ImageArgs),
    /// Audit EMR clusters and the custom AMIs they use (default: every active cluster in the region).
    Cluster(ClusterArgs),
    /// Check a launch request (RunJobFlow JSON) or CloudFormation template before it is made.
    Plan(PlanArgs),
    /// Check an image's root filesystem (mounted, a chroot, or / inside an image build): EA060–EA065.
    Inspect(InspectArgs),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
    /// Write a commented emr-ami-audit.toml to start from.
    Init {
        /// Where to write it.
        #[arg(long, value_name = "FILE", default_value = "emr-ami-audit.toml")]
        path: PathBuf,
    },
    /// Serve a recorded scenario to other tools.
    #[command(subcommand)]
    Mock(MockCommand),
    /// Print the release table: what each EMR release needs of a custom AMI, with the AWS pages it comes from.
    Releases,
    /// List the rule catalogue, or explain one rule.
    Rules {
        /// Rule ID (EA013) or name (root-volume-min-size).
        rule: Option<String>,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum MockCommand {
    /// Serve a recording on 127.0.0.1 (for the AWS CLI, other SDKs, Terraform: AWS_ENDPOINT_URL); Ctrl-C stops.
    Serve {
        /// The scenario directory (e.g. mocks/emr-clusters).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Port to listen on (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Add this latency to every answer.
        #[arg(long, value_name = "MS", default_value_t = 0)]
        latency_ms: u64,
        /// Answer this fraction of requests (0 to 1) with throttling errors, 500s or dropped connections.
        #[arg(long, value_name = "RATE", default_value_t = 0.0)]
        fault_rate: f64,
        /// Seed of the injected faults.
        #[arg(long, value_name = "N", default_value_t = 0)]
        seed: u64,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ImageArgs {
    /// AMI IDs (ami- followed by 8 or 17 hex digits).
    #[arg(required = true, value_name = "AMI_ID")]
    pub images: Vec<String>,

    /// EMR release the AMIs are meant for (emr-X.Y.Z); required here or in the config's defaults.
    /// `all` or a glob ('emr-6.*') prints the release matrix: which of EMR's releases each AMI serves.
    #[arg(long, value_name = "LABEL")]
    pub release: Option<String>,

    /// Instance type that will boot the AMIs (repeatable, or comma-separated).
    #[arg(long = "instance-type", value_name = "TYPE", value_delimiter = ',')]
    pub instance_types: Vec<String>,

    /// EMR application the cluster runs (repeatable, or comma-separated), e.g. Spark,Hive,Oozie.
    #[arg(long = "application", value_name = "NAME", value_delimiter = ',')]
    pub applications: Vec<String>,

    /// Account that will launch the cluster (default: the caller's).
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub account: Option<String>,

    /// Also check this root filesystem of the (single) AMI: its content findings join the AMI's.
    #[arg(long, value_name = "ROOT", conflicts_with = "contents")]
    pub rootfs: Option<PathBuf>,

    /// Also check each AMI's files (EA060–EA065), read from its root snapshot through the EBS direct
    /// APIs (ebs:ListSnapshotBlocks, ebs:GetSnapshotBlock): no volume, no instance, only the blocks needed.
    #[arg(long)]
    pub contents: bool,

    /// With --rootfs or --contents: most data /tmp, /var and /emr may hold together (EA063), e.g. 500MiB
    /// [default: 1GiB].
    #[arg(long, value_name = "SIZE")]
    pub max_relocated: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// The image's root directory; or an AMI ID (`image AMI --contents`) or snapshot ID (its files
    /// alone), read through the EBS direct APIs. A directory named like an ID is `./ami-…`.
    #[arg(value_name = "ROOT|AMI_ID|SNAPSHOT_ID")]
    pub root: PathBuf,

    /// EMR release the image is meant for (emr-X.Y.Z); required here or in the config's defaults.
    #[arg(long, value_name = "LABEL")]
    pub release: Option<String>,

    /// Most data /tmp, /var and /emr may hold together (EA063), e.g. 500MiB [default: 1GiB].
    #[arg(long, value_name = "SIZE")]
    pub max_relocated: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Cluster IDs (j- followed by 8 to 14 upper-case letters and digits). Without: list the clusters.
    #[arg(value_name = "CLUSTER_ID")]
    pub clusters: Vec<String>,

    /// Cluster states to list (repeatable, or comma-separated) [default: STARTING, BOOTSTRAPPING,
    /// RUNNING, WAITING].
    #[arg(
        long = "state",
        value_name = "STATE",
        value_delimiter = ',',
        conflicts_with = "clusters"
    )]
    pub states: Vec<String>,

    /// Only list clusters created after this date (YYYY-MM-DD) or time (RFC 3339).
    #[arg(long, value_name = "WHEN", conflicts_with = "clusters")]
    pub created_after: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// A RunJobFlow request as JSON, or a CloudFormation template (JSON or YAML) with AWS::EMR::Cluster
    /// resources.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Template parameter value (repeatable); overrides the template's default.
    #[arg(long = "parameter", value_name = "KEY=VALUE")]
    pub parameters: Vec<String>,

    /// Account that will launch the cluster (default: the caller's).
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub account: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// JUnit XML: one test case per target and rule, for CI dashboards.
    Junit,
    /// Markdown, for pull-request comments.
    Markdown,
    /// AWS Security Finding Format: the JSON array `aws securityhub batch-import-findings` takes.
    Asff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}
