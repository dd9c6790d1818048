//! `watchfloor triage` and `watchfloor audit`: the same actions and audit records, without the UI.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::aws_ops::AwsOps;
use super::executor::RUN_MARGIN;
use super::{
    Action, AuditLog, Context, Journal, Ops, Runner, Step, Target, TriageError, Verdict,
    escape_controls,
};
use crate::aws::{TerminalPrompt, creds};
use crate::cli::{AuditArgs, AuditFormat, Cli, TriageArgs, TriageKind};
use crate::cmd::Outcome;
use crate::config::Regions;
use crate::ui::step_line;

/// The audit log path from `--audit-log` or the default.
pub fn audit_path(cli: &Cli) -> anyhow::Result<PathBuf> {
    cli.audit_log
        .clone()
        .or_else(AuditLog::default_path)
        .context("no state directory for the audit log: pass --audit-log PATH")
}

/// `watchfloor audit`: every record, or one case's (`--case`); as a report with `--format md`
/// or `json`.
pub fn print_audit(cli: &Cli, args: &AuditArgs) -> anyhow::Result<Outcome> {
    let path = audit_path(cli)?;
    let case = cli.case.as_deref().filter(|c| !c.trim().is_empty());
    if args.format != AuditFormat::Text && case.is_none() {
        bail!("--format md and --format json render one case: add --case ID");
    }
    let (records, bad) = AuditLog::read(&path)
        .with_context(|| format!("cannot read the audit log {}", path.display()))?;
    let mut out = std::io::stdout().lock();
    match (args.format, case) {
        (AuditFormat::Text, _) => {
            for r in records.iter().filter(|r| case.is_none_or(|c| r.case == c)) {
                writeln!(out, "{}", escape_controls(&super::audit::format_record(r)))?;
            }
            for b in &bad {
                eprintln!("watchfloor: {b}");
            }
        }
        (format, Some(case)) => {
            let report = super::report::build(
                &records,
                case,
                &path.display().to_string(),
                bad,
                chrono::Utc::now(),
            );
            if report.runs.is_empty() {
                eprintln!(
                    "watchfloor: no audit record of case `{}` in {}",
                    escape_controls(case),
                    path.display()
                );
            }
            match format {
                AuditFormat::Json => {
                    serde_json::to_writer_pretty(&mut out, &report)?;
                    writeln!(out)?;
                }
                _ => write!(out, "{}", super::report::markdown(&report))?,
            }
        }
        (_, None) => unreachable!("checked above"),
    }
    Ok(Outcome::Success)
}

/// `watchfloor triage ACTION --account A --region R --instance I --case C`, the ECS actions
/// (`stop-task --task ARN`, `scale-to-zero --cluster C --service S`, `release --cluster C
/// --service S`), and `watchfloor triage resume`.
pub async fn run(cli: &Cli, args: &TriageArgs) -> anyhow::Result<Outcome> {
    let config = cli.load_config()?;
    if cli.read_only || config.settings.read_only {
        bail!(
            "read-only mode (--read-only or read_only in [settings]): triage actions are disabled"
        );
    }
    if args.action == TriageKind::Resume {
        return resume(cli, &config, args.yes).await;
    }
    let case = cli.case.clone().filter(|c| !c.trim().is_empty()).context(
        "a case id is required: --case ID (stamped on every tag, snapshot and audit record)",
    )?;
    let (Some(account), Some(region)) = (&args.account, &args.region) else {
        bail!("--account and --region are required for this action");
    };
    let acct_cfg = config
        .accounts
        .iter()
        .find(|a| &a.alias == account)
        .with_context(|| {
            format!(
                "no account `{account}` in {} (accounts: {})",
                config.path.display(),
                config
                    .accounts
                    .iter()
                    .map(|a| a.alias.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    if acct_cfg.read_only {
        bail!(
            "account `{account}` is read-only (read_only = true in its [[account]], {}:{}): \
             triage actions are disabled on it",
            config.path.display(),
            acct_cfg.line
        );
    }
    if let Regions::List(v) = &acct_cfg.regions
        && !v.is_empty()
        && !v.contains(region)
    {
        bail!(
            "region {region} is not configured for `{account}` (regions: {})",
            v.join(", ")
        );
    }
    let acct = creds::connect(acct_cfg, &config.settings, Arc::new(TerminalPrompt))
        .await
        .map_err(|e| anyhow::anyhow!("account `{account}`: {}", e.message))?;
    let ops = AwsOps::for_region(&acct, region);
    let path = audit_path(cli)?;
    let (mut audit, mut journal) = open_files(&path)?;
    let (action, id) = match ecs_action(args, region, &acct.account_id)? {
        Some(ecs) => ecs,
        None => {
            let instance = args.instance.clone().context(
                "--instance is required for this action (release of a scaled-down service takes --cluster and --service)",
            )?;
            let action = match args.action {
                TriageKind::Stop => Action::Stop {
                    force: args.force,
                    hibernate: args.hibernate,
                    clear_stop_protection: args.clear_stop_protection,
                },
                TriageKind::Quarantine => Action::Quarantine,
                TriageKind::Release => Action::Release { from_tags: None },
                TriageKind::Snapshot => Action::Snapshot,
                TriageKind::Resume | TriageKind::StopTask | TriageKind::ScaleToZero => {
                    bail!("internal: {:?} has no instance action", args.action)
                }
            };
            (action, instance)
        }
    };
    let ctx = context(&config, case, acct.identity_arn.clone());
    let target = Target {
        alias: acct.alias.clone(),
        account_id: acct.account_id.clone(),
        region: region.clone(),
        instance_id: id.clone(),
    };
    let name = if action.is_ecs() {
        String::new()
    } else {
        let facts = ops
            .describe(&id)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        facts
            .tags
            .get("Name")
            .cloned()
            .unwrap_or_else(|| "(no name)".into())
    };
    let mut runner = Runner::new(&ops, &mut audit, &mut journal, target, ctx.clone());
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "{} {} on account {} ({}) region {} — {} {} {}, case {}, as {}",
        action.name().to_uppercase(),
        if cli.dry_run { "(dry run)" } else { "" },
        escape_controls(&acct.alias),
        acct.account_id,
        escape_controls(region),
        runner.target.noun(),
        escape_controls(&id),
        escape_controls(&name),
        escape_controls(&ctx.case_id),
        escape_controls(&ctx.operator)
    )?;
    let preview = runner
        .preview(&action)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for line in &preview.plan {
        writeln!(err, "  - {}", escape_controls(line))?;
    }
    for c in &preview.checks {
        writeln!(
            err,
            "  dry run {}: {}",
            escape_controls(&c.what),
            escape_controls(&c.verdict.label())
        )?;
    }
    if preview
        .checks
        .iter()
        .any(|c| matches!(c.verdict, Verdict::Denied(_)))
    {
        writeln!(
            err,
            "watchfloor: denied (see the dry-run results above); nothing was changed"
        )?;
        return Ok(Outcome::Denied);
    }
    if preview.checks.iter().any(|c| !c.verdict.permits()) {
        writeln!(
            err,
            "watchfloor: the dry run failed (see above); nothing was changed"
        )?;
        return Ok(Outcome::Failed);
    }
    if cli.dry_run {
        return Ok(Outcome::Success);
    }
    if preview.typed_confirmation && !args.from_tags {
        writeln!(
            err,
            "watchfloor: there is no local journal record: to restore the groups the instance tags name (above), run again with --from-tags; nothing was changed"
        )?;
        return Ok(Outcome::Failed);
    }
    if !args.yes || preview.typed_confirmation {
        let typed = runner.target.typed_id().to_string();
        write!(
            err,
            "Type {} ({}) to confirm: ",
            runner.target.typed_what(),
            escape_controls(&typed)
        )?;
        err.flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if line.trim() != typed {
            writeln!(err, "watchfloor: not confirmed; nothing was changed")?;
            return Ok(Outcome::Failed);
        }
    }
    drop(err);
    // From here a closed terminal, ctrl+c or SIGTERM must not kill the run half-way: they are
    // taken by the runtime and only cut the allow-all wait short; the audit log has the outcome.
    runner.ctx.hurry = Some(hurry_on_signals()?);
    if let Err(e) = acct
        .ensure_valid_for(ctx.quarantine_wait + RUN_MARGIN)
        .await
    {
        runner.record_not_started(&preview.action, &e.message);
        bail!("{}: nothing was done", e.message);
    }
    let result = runner.run(&preview.action).await;
    report(&runner.progress, result, &path)
}

/// The ECS action and its target (task ARN, or service ARN) the arguments ask for; None for
/// an instance action. Names and ARNs are taken alike (the journal key of a service is always
/// the ARN its names make); an ARN of another account or region than `--account` and
/// `--region`, or of another cluster than `--cluster`, is refused.
fn ecs_action(
    args: &TriageArgs,
    region: &str,
    account_id: &str,
) -> anyhow::Result<Option<(Action, String)>> {
    // (path after `RESOURCE/`) of an ECS ARN, once its region and account are checked; a
    // plain name is its own path.
    let path_of = |value: &str, resource: &str| -> anyhow::Result<String> {
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "ecs", r, a, rest] => {
                if *r != region || *a != account_id {
                    bail!(
                        "{value} is in account {a} region {r}, not {account_id} {region} as --account and --region say"
                    );
                }
                rest.strip_prefix(&format!("{resource}/"))
                    .map(str::to_string)
                    .with_context(|| format!("{value} is not an ECS {resource} ARN"))
            }
            _ => Ok(value.to_string()),
        }
    };
    let cluster_arg = args
        .cluster
        .as_deref()
        .map(|c| path_of(c, "cluster"))
        .transpose()?;
    // Another cluster than --cluster named by an ARN is refused, never silently dropped.
    let same_cluster = |named: String| -> anyhow::Result<String> {
        match &cluster_arg {
            Some(c) if *c != named => {
                bail!("--cluster {c} does not match the cluster the ARN names ({named})")
            }
            _ => Ok(named),
        }
    };
    let service = |args: &TriageArgs| -> anyhow::Result<(String, String)> {
        let (Some(cluster), Some(svc)) = (&cluster_arg, &args.service) else {
            bail!("--cluster and --service are required for this action");
        };
        let path = path_of(svc, "service")?;
        let name = match path.split_once('/') {
            Some((c, name)) => {
                same_cluster(c.to_string())?;
                name.to_string()
            }
            None => path,
        };
        Ok((cluster.clone(), name))
    };
    let partition = crate::config::region_partition(region);
    Ok(match args.action {
        TriageKind::StopTask => {
            let task = args.task.clone().context("--task ARN is required")?;
            let path = path_of(&task, "task")?;
            // The long format names its cluster: task/CLUSTER/ID.
            let (cluster, id) = match path.split_once('/') {
                Some((c, id)) => (same_cluster(c.to_string())?, id.to_string()),
                None => (
                    cluster_arg
                        .clone()
                        .context("--cluster is required: the task ARN does not name one")?,
                    path,
                ),
            };
            let arn = format!("arn:{partition}:ecs:{region}:{account_id}:task/{cluster}/{id}");
            Some((Action::StopTask { cluster }, arn))
        }
        TriageKind::ScaleToZero => {
            let (cluster, svc) = service(args)?;
            let arn = super::service_arn(region, account_id, &cluster, &svc);
            Some((
                Action::ScaleToZero {
                    cluster,
                    service: svc,
                    task: None,
                },
                arn,
            ))
        }
        TriageKind::Release if args.service.is_some() => {
            let (cluster, svc) = service(args)?;
            let arn = super::service_arn(region, account_id, &cluster, &svc);
            Some((
                Action::RestoreService {
                    cluster,
                    service: svc,
                },
                arn,
            ))
        }
        _ => None,
    })
}

/// Prints progress and the outcome; a terminal that went away meanwhile is no error (the
/// audit log has everything).
fn report(
    progress: &[Step],
    result: Result<String, TriageError>,
    audit: &std::path::Path,
) -> anyhow::Result<Outcome> {
    let mut err = std::io::stderr().lock();
    for p in progress {
        let _ = writeln!(err, "  {}", escape_controls(&step_line(p)));
    }
    match result {
        Ok(msg) => {
            let _ = writeln!(std::io::stdout(), "{}", escape_controls(&msg));
            Ok(Outcome::Success)
        }
        Err(e @ TriageError::Refused(_)) => {
            let _ = writeln!(
                err,
                "watchfloor: refused: {}",
                escape_controls(&e.to_string())
            );
            Ok(Outcome::Failed)
        }
        Err(e) => {
            let _ = writeln!(
                err,
                "watchfloor: {} (the audit log {} has every step)",
                escape_controls(&e.to_string()),
                audit.display()
            );
            Ok(Outcome::Failed)
        }
    }
}

fn context(config: &crate::config::Config, case: String, operator: String) -> Context {
    Context {
        case_id: case,
        operator,
        quarantine_wait: Duration::from_secs(u64::from(config.settings.quarantine_wait_secs)),
        examiner_cidr: config.settings.examiner_cidr.clone(),
        hurry: None,
    }
}

fn open_files(path: &std::path::Path) -> anyhow::Result<(AuditLog, Journal)> {
    let audit = AuditLog::open(path)
        .with_context(|| format!("cannot open the audit log {}", path.display()))?;
    let jpath = Journal::path_beside(path);
    let (journal, bad) = Journal::open(&jpath)
        .with_context(|| format!("cannot open the journal {}", jpath.display()))?;
    for b in bad {
        let _ = writeln!(std::io::stderr(), "watchfloor: {b} (skipped)");
    }
    Ok((audit, journal))
}

/// `watchfloor triage resume`: finishes every quarantine the journal records as unfinished,
/// each under its own case, in the account whose STS-verified id the journal names.
async fn resume(cli: &Cli, config: &crate::config::Config, yes: bool) -> anyhow::Result<Outcome> {
    let path = audit_path(cli)?;
    let (mut audit, mut journal) = open_files(&path)?;
    let todo = journal.unfinished();
    if todo.is_empty() {
        let _ = writeln!(
            std::io::stdout(),
            "no unfinished quarantine in {}",
            journal.path().display()
        );
        return Ok(Outcome::Success);
    }
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "unfinished quarantines in {}:",
        journal.path().display()
    )?;
    for (k, q) in &todo {
        writeln!(
            err,
            "  account {} region {} instance {} case {} started {}",
            k.account_id,
            escape_controls(&k.region),
            escape_controls(&k.instance_id),
            escape_controls(&q.case),
            q.started.format("%Y-%m-%dT%H:%M:%SZ")
        )?;
    }
    if !yes {
        write!(err, "Type RESUME to finish them: ")?;
        err.flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if line.trim() != "RESUME" {
            writeln!(err, "watchfloor: not confirmed; nothing was changed")?;
            return Ok(Outcome::Failed);
        }
    }
    drop(err);
    // Confirmed: from here signals only cut the allow-all waits short (see `run`).
    let hurry = hurry_on_signals()?;
    let mut connected: Vec<crate::aws::Connected> = Vec::new();
    let mut failed = false;
    for (k, q) in todo {
        let mut acct = connected
            .iter()
            .find(|a| a.account_id == k.account_id)
            .cloned();
        for cfg in config.accounts.iter() {
            if acct.is_some() {
                break;
            }
            if connected.iter().any(|a| a.alias == cfg.alias) {
                continue;
            }
            match creds::connect(cfg, &config.settings, Arc::new(TerminalPrompt)).await {
                Ok(a) => {
                    if a.account_id == k.account_id {
                        acct = Some(a.clone());
                    }
                    connected.push(a);
                }
                Err(e) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "watchfloor: account `{}`: {}",
                        cfg.alias,
                        e.message
                    );
                }
            }
        }
        let Some(acct) = acct else {
            failed = true;
            let _ = writeln!(
                std::io::stderr(),
                "watchfloor: no configured account connects as {}: {} left unfinished",
                k.account_id,
                escape_controls(&k.instance_id)
            );
            continue;
        };
        let ops = AwsOps::for_region(&acct, &k.region);
        let target = Target {
            alias: acct.alias.clone(),
            account_id: k.account_id.clone(),
            region: k.region.clone(),
            instance_id: k.instance_id.clone(),
        };
        let mut ctx = context(config, q.case.clone(), acct.identity_arn.clone());
        ctx.hurry = Some(hurry.clone());
        let renewed = acct
            .ensure_valid_for(ctx.quarantine_wait + RUN_MARGIN)
            .await;
        let mut runner = Runner::new(&ops, &mut audit, &mut journal, target, ctx);
        if let Err(e) = renewed {
            failed = true;
            runner.record_not_started(&Action::Quarantine, &e.message);
            let _ = writeln!(std::io::stderr(), "watchfloor: {}", e.message);
            continue;
        }
        let result = runner.run(&Action::Quarantine).await;
        failed |= result.is_err();
        let _ = writeln!(
            std::io::stderr(),
            "{} {} (case {}):",
            escape_controls(&k.instance_id),
            k.account_id,
            escape_controls(&q.case)
        );
        report(&runner.progress, result, &path)?;
    }
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// Takes SIGINT, SIGQUIT, SIGTERM and SIGHUP from now on (so none of them kills a run
/// half-way) and turns the first of them into `true` on the returned channel: the signal to cut
/// the allow-all wait short and isolate now.
pub fn hurry_on_signals() -> anyhow::Result<tokio::sync::watch::Receiver<bool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigs = Vec::new();
    for kind in [
        SignalKind::interrupt(),
        SignalKind::quit(),
        SignalKind::terminate(),
        SignalKind::hangup(),
    ] {
        sigs.push(signal(kind).context("cannot install signal handler")?);
    }
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        // The listeners stay registered as long as this task lives: for the process.
        loop {
            let got = futures::future::select_all(sigs.iter_mut().map(|s| Box::pin(s.recv())));
            if got.await.0.is_none() {
                return;
            }
            tx.send_replace(true);
        }
    });
    Ok(rx)
}
