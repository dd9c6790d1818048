//! Command-line interface: flags, subcommands, and loading theme/keymap from them.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::keymap::Keymap;
use crate::span::FileError;
use crate::theme::{ColorMode, Theme};

/// watchfloor: live security console for AWS fleets (CPU saturation, GuardDuty findings,
/// internet exposure, ranked by risk).
#[derive(Debug, Parser)]
#[command(name = "watchfloor", version, about, long_about = None)]
pub struct Cli {
    /// Colour theme: a built-in name (default, light, high-contrast), a name in
    /// $XDG_CONFIG_HOME/watchfloor/themes/, or a path to a .toml file [default: default;
    /// high-contrast for `wall`].
    #[arg(long, global = true, env = "WATCHFLOOR_THEME")]
    pub theme: Option<String>,

    /// Key bindings: a built-in name (default, vim), a name in
    /// $XDG_CONFIG_HOME/watchfloor/keymaps/, or a path to a .toml file.
    #[arg(
        long,
        global = true,
        default_value = "default",
        env = "WATCHFLOOR_KEYMAP"
    )]
    pub keymap: String,

    /// Colour output: auto (NO_COLOR and COLORTERM decide), truecolor, 256, or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,

    /// Accounts file [default: $XDG_CONFIG_HOME/watchfloor/config.toml; without it, the default
    /// AWS credential chain and region for one account].
    #[arg(long, global = true, env = "WATCHFLOOR_CONFIG")]
    pub config: Option<PathBuf>,

    /// Read-only: no triage action exists, no mutating client is built (also `read_only` in the
    /// config's [settings]). For the war-room screen.
    #[arg(long, global = true)]
    pub read_only: bool,

    /// Case id stamped on every tag, snapshot and audit record of triage actions.
    #[arg(long, global = true, env = "WATCHFLOOR_CASE")]
    pub case: Option<String>,

    /// Every triage action stops after its DryRun check (plan and verdicts only).
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// Mouse in the console: a click selects a row, the wheel scrolls (off by default; while on,
    /// the terminal's own text selection usually needs shift held).
    #[arg(long, global = true)]
    pub mouse: bool,

    /// Diagnostics log: AWS calls with their request ids, retries, throttling, feed timings and
    /// errors (never credentials, tokens or MFA codes).
    #[arg(long, global = true, value_name = "PATH", env = "WATCHFLOOR_LOG_FILE")]
    pub log_file: Option<PathBuf>,

    /// Audit log (JSON lines) [default: $XDG_STATE_HOME/watchfloor/audit.jsonl].
    #[arg(long, global = true, env = "WATCHFLOOR_AUDIT_LOG")]
    pub audit_log: Option<PathBuf>,

    /// What to do (the AWS console when omitted).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// NO_COLOR disables colour; COLORTERM=truecolor|24bit enables 24-bit; else 256 colours.
    Auto,
    /// 24-bit colour.
    Truecolor,
    /// 256-colour palette.
    #[value(name = "256")]
    Ansi256,
    /// No colour: glyphs, bold and reverse video only.
    Never,
}

impl ColorArg {
    /// The colour mode to render with.
    pub fn mode(self) -> ColorMode {
        match self {
            ColorArg::Auto => ColorMode::detect(),
            ColorArg::Truecolor => ColorMode::TrueColor,
            ColorArg::Ansi256 => ColorMode::Ansi256,
            ColorArg::Never => ColorMode::None,
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the console on a built-in simulated fleet playing a cryptomining campaign.
    Demo(DemoArgs),
    /// Poll once, print the fleet (JSON or CSV) and exit.
    Snapshot(SnapshotArgs),
    /// Poll once, list the configured [[rule]]s with how many rows each matches now, exit.
    Rules(RulesArgs),
    /// Print the active key bindings and exit.
    Keys,
    /// Run a triage action on one instance, ECS task or service, headless (runbooks,
    /// automation).
    Triage(TriageArgs),
    /// The war-room wall: big counters, the worst rows, account tiles and the last alerts,
    /// readable across a room. Read-only by construction (no triage executor exists).
    Wall(WallArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout, e.g. `watchfloor man > watchfloor.1`.
    Man,
    /// Print the audit log readably; with --case, one case (as an incident report with
    /// --format md or json).
    Audit(AuditArgs),
}

/// Options of `wall`.
#[derive(Debug, Clone, clap::Args)]
pub struct WallArgs {
    /// Show the simulated fleet instead of AWS (which reads --config).
    #[arg(long)]
    pub demo: bool,
    /// Seed of the simulated fleet (with --demo).
    #[arg(long, default_value_t = 1, requires = "demo")]
    pub seed: u64,
    /// Speed of the simulated campaign (with --demo).
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed, requires = "demo")]
    pub speed: f64,
    /// Accounts of the simulated organization (with --demo).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(3..=5000), requires = "demo")]
    pub accounts: u32,
    /// Instances of the simulated organization, about (with --demo and --accounts; 0: the
    /// campaign accounts' own).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1_000_000), requires = "demo")]
    pub instances: u32,
}

/// Formats of `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// One line per record.
    Text,
    /// The case as a Markdown incident report (needs --case).
    Md,
    /// The case report as JSON (needs --case).
    Json,
}

/// Options of `audit`.
#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    /// Output format; md and json render the case given with --case as a timeline.
    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    pub format: AuditFormat,
}

/// Triage actions available headless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TriageKind {
    /// Stop the instance.
    Stop,
    /// Isolate it: allow-all group, then the isolation group, on every ENI.
    Quarantine,
    /// Restore the groups recorded at quarantine (from the local journal); with --cluster and
    /// --service instead of --instance, the desired count recorded at scale-to-zero.
    Release,
    /// Snapshot every EBS volume.
    Snapshot,
    /// Stop an ECS task (--task ARN), its description and task definition kept as evidence.
    StopTask,
    /// Scale an ECS service to zero (--cluster, --service), its desired count journaled.
    ScaleToZero,
    /// Finish every quarantine the journal records as unfinished (no --account/--region/--instance).
    Resume,
}

/// The actions on one instance, which need --instance.
const INSTANCE_ACTIONS: [(&str, &str); 3] = [
    ("action", "stop"),
    ("action", "quarantine"),
    ("action", "snapshot"),
];

/// Every action but resume, which need --account and --region.
const TARGET_ACTIONS: [(&str, &str); 6] = [
    ("action", "stop"),
    ("action", "quarantine"),
    ("action", "release"),
    ("action", "snapshot"),
    ("action", "stop-task"),
    ("action", "scale-to-zero"),
];

/// Options of `triage`.
#[derive(Debug, Clone, clap::Args)]
pub struct TriageArgs {
    /// What to do.
    #[arg(value_enum)]
    pub action: TriageKind,
    /// Account alias from the config.
    #[arg(long, required_if_eq_any = TARGET_ACTIONS)]
    pub account: Option<String>,
    /// Region of the instance, task or service.
    #[arg(long, required_if_eq_any = TARGET_ACTIONS)]
    pub region: Option<String>,
    /// Instance id.
    #[arg(long, required_if_eq_any = INSTANCE_ACTIONS, conflicts_with_all = ["task", "service"])]
    pub instance: Option<String>,
    /// stop-task: the task ARN.
    #[arg(long, required_if_eq("action", "stop-task"))]
    pub task: Option<String>,
    /// stop-task (when the ARN does not name it), scale-to-zero, release: the ECS cluster.
    #[arg(long, required_if_eq("action", "scale-to-zero"))]
    pub cluster: Option<String>,
    /// scale-to-zero, release: the ECS service.
    #[arg(long, required_if_eq("action", "scale-to-zero"), requires = "cluster")]
    pub service: Option<String>,
    /// Do not ask for confirmation (runbooks); without it, you type the instance id (the task
    /// id, the service name) to confirm.
    #[arg(long)]
    pub yes: bool,
    /// stop: force (no clean OS shutdown).
    #[arg(long)]
    pub force: bool,
    /// stop: hibernate (where enabled).
    #[arg(long)]
    pub hibernate: bool,
    /// stop: clear DisableApiStop first if it is set.
    #[arg(long)]
    pub clear_stop_protection: bool,
    /// release: with no local journal record, restore the groups the instance tags name, once
    /// they are checked (shown first; you must type the instance id, --yes does not skip it).
    #[arg(long)]
    pub from_tags: bool,
}

/// Options of the simulated fleet.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Seed of the simulation: the same seed always plays the same fleet and campaign.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Play the campaign this many times faster than real time (the campaign takes 300 s at 1).
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,
    /// Simulate an Organization of this many accounts (the campaign plays in three of them);
    /// with many, inventories are polled every minute as on AWS, not every 5 s.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(3..=5000))]
    pub accounts: u32,
    /// About this many instances across the simulated Organization (0: the campaign accounts'
    /// own, about 110; needs --accounts above 3 to add any).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub instances: u32,
}

/// Output formats of `snapshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Pretty-printed JSON (docs/snapshot-format.md).
    Json,
    /// One row per instance.
    Csv,
}

/// Where a one-shot command (`snapshot`, `rules`) polls: AWS, or the simulated fleet.
#[derive(Debug, Clone, clap::Args)]
pub struct OnePoll {
    /// Poll the simulated fleet instead of AWS (which reads --config); `rules` then checks the
    /// demo's own rules.
    #[arg(long)]
    pub demo: bool,
    /// Seed of the simulated fleet (with --demo).
    #[arg(long, default_value_t = 1, requires = "demo")]
    pub seed: u64,
    /// Simulated second of the campaign (with --demo; 300 = campaign complete).
    #[arg(long, default_value_t = 300.0, requires = "demo")]
    pub at: f64,
}

impl OnePoll {
    /// The simulated fleet's (seed, second), with --demo.
    pub fn demo(&self) -> Option<(u64, f64)> {
        self.demo.then_some((self.seed, self.at))
    }
}

/// Options of `snapshot`.
#[derive(Debug, Clone, clap::Args)]
pub struct SnapshotArgs {
    /// AWS or the simulated fleet.
    #[command(flatten)]
    pub poll: OnePoll,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Also look up who launched each instance that has a finding or was launched in the last
    /// 24 h (CloudTrail LookupEvents, 2 a second per account and region; progress on stderr).
    #[arg(long)]
    pub launched_by: bool,
    /// Print, on stderr, the requests and seconds of every feed x account x region poll (and of
    /// each organization-wide feed and the discovery), per feed, and the total.
    #[arg(long, conflicts_with = "demo")]
    pub timings: bool,
}

/// Options of `rules`.
#[derive(Debug, Clone, clap::Args)]
pub struct RulesArgs {
    /// AWS or the simulated fleet.
    #[command(flatten)]
    pub poll: OnePoll,
    /// Also list the matching rows under each rule.
    #[arg(long)]
    pub matches: bool,
}

fn parse_speed(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number; use e.g. --speed 10"))?;
    if !(0.01..=10_000.0).contains(&v) {
        return Err(format!("{v} is out of range; use 0.01 to 10000"));
    }
    Ok(v)
}

/// The user's config directory for watchfloor (`$XDG_CONFIG_HOME/watchfloor`).
pub fn config_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("watchfloor"))
}

impl Cli {
    /// Loads the theme named by `--theme` (`default` when none is named).
    pub fn load_theme(&self) -> Result<Theme, FileError> {
        self.load_theme_or("default")
    }

    /// Loads the theme named by `--theme`, else `fallback`.
    pub fn load_theme_or(&self, fallback: &str) -> Result<Theme, FileError> {
        let dir = config_dir().map(|d| d.join("themes"));
        Theme::load(
            self.theme.as_deref().unwrap_or(fallback),
            dir.as_deref(),
            self.color.mode(),
        )
    }

    /// Loads the accounts: `--config`, else the default file if it exists, else the default chain.
    pub fn load_config(&self) -> Result<crate::config::Config, FileError> {
        use crate::config::Config;
        match &self.config {
            Some(p) => Config::load(p),
            None => match Config::default_path().filter(|p| p.is_file()) {
                Some(p) => Config::load(&p),
                None => Ok(Config::default_chain()),
            },
        }
    }

    /// Loads the keymap named by `--keymap`.
    pub fn load_keymap(&self) -> Result<Keymap, FileError> {
        let dir = config_dir().map(|d| d.join("keymaps"));
        Keymap::load(&self.keymap, dir.as_deref())
    }
}
