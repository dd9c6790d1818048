//! `watchfloor triage` and `watchfloor audit`: the same actions and audit records, without the UI.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::aws_ops::AwsOps;
use super::{Action, AuditLog, Context, Runner, Target, TriageError, Verdict, plan};
use crate::cli::{Cli, TriageArgs, TriageKind};
use crate::config::Regions;
use crate::source::aws::{TerminalPrompt, creds};

/// Exit code when the DryRun check says the identity may not do it.
pub const EXIT_DENIED: u8 = 3;

/// The audit log path from `--audit-log` or the default.
pub fn audit_path(cli: &Cli) -> anyhow::Result<PathBuf> {
    cli.audit_log
        .clone()
        .or_else(AuditLog::default_path)
        .context("no state directory for the audit log: pass --audit-log PATH")
}

/// `watchfloor audit`.
pub fn print_audit(cli: &Cli) -> anyhow::Result<ExitCode> {
    let path = audit_path(cli)?;
    let (records, bad) = AuditLog::read(&path)
        .with_context(|| format!("cannot read the audit log {}", path.display()))?;
    let mut out = std::io::stdout().lock();
    for r in &records {
        writeln!(out, "{}", super::audit::format_record(r))?;
    }
    for b in &bad {
        eprintln!("watchfloor: {b}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `watchfloor triage ACTION --account A --region R --instance I --case C`.
pub async fn run(cli: &Cli, args: &TriageArgs) -> anyhow::Result<ExitCode> {
    let config = cli.load_config()?;
    if cli.read_only || config.settings.read_only {
        bail!(
            "read-only mode (--read-only or read_only in [settings]): triage actions are disabled"
        );
    }
    let case = cli.case.clone().filter(|c| !c.trim().is_empty()).context(
        "a case id is required: --case ID (stamped on every tag, snapshot and audit record)",
    )?;
    let acct_cfg = config
        .accounts
        .iter()
        .find(|a| a.alias == args.account)
        .with_context(|| {
            format!(
                "no account `{}` in {} (accounts: {})",
                args.account,
                config.path.display(),
                config
                    .accounts
                    .iter()
                    .map(|a| a.alias.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    if let Regions::List(v) = &acct_cfg.regions
        && !v.is_empty()
        && !v.contains(&args.region)
    {
        bail!(
            "region {} is not configured for `{}` (regions: {})",
            args.region,
            args.account,
            v.join(", ")
        );
    }
    let acct = creds::connect(acct_cfg, &config.settings, Arc::new(TerminalPrompt))
        .await
        .map_err(|e| anyhow::anyhow!("account `{}`: {}", args.account, e.message))?;
    let ops = AwsOps::for_region(&acct, &args.region);
    let path = audit_path(cli)?;
    let mut audit = AuditLog::open(&path)
        .with_context(|| format!("cannot open the audit log {}", path.display()))?;
    let action = match args.action {
        TriageKind::Stop => Action::Stop {
            force: args.force,
            hibernate: args.hibernate,
            clear_stop_protection: args.clear_stop_protection,
        },
        TriageKind::Quarantine => Action::Quarantine,
        TriageKind::Release => Action::Release,
        TriageKind::Snapshot => Action::Snapshot,
    };
    let ctx = Context {
        case_id: case,
        operator: acct.identity_arn.clone(),
        quarantine_wait: Duration::from_secs(u64::from(config.settings.quarantine_wait_secs)),
        examiner_cidr: config.settings.examiner_cidr.clone(),
    };
    let target = Target {
        alias: acct.alias.clone(),
        account_id: acct.account_id.clone(),
        region: args.region.clone(),
        instance_id: args.instance.clone(),
    };
    let mut runner = Runner {
        ops: &ops,
        audit: &mut audit,
        target,
        ctx: ctx.clone(),
        progress: Vec::new(),
        interrupt_after: None,
        notify: None,
    };
    let facts = match ops_facts(&runner).await {
        Ok(f) => f,
        Err(e) => bail!("{e}"),
    };
    let name = facts
        .tags
        .get("Name")
        .cloned()
        .unwrap_or_else(|| "(no name)".into());
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "{} {} on account {} ({}) region {} — instance {} {}, case {}, as {}",
        action.name().to_uppercase(),
        if cli.dry_run { "(dry run)" } else { "" },
        acct.alias,
        acct.account_id,
        args.region,
        args.instance,
        name,
        ctx.case_id,
        ctx.operator
    )?;
    for line in plan(&action, &facts, &ctx) {
        writeln!(err, "  - {line}")?;
    }
    let checks = runner
        .preview(&action)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (op, v) in &checks {
        writeln!(err, "  dry run {op}: {}", v.label())?;
    }
    if checks.iter().any(|(_, v)| matches!(v, Verdict::Denied(_))) {
        writeln!(
            err,
            "watchfloor: denied (see the dry-run results above); nothing was changed"
        )?;
        return Ok(ExitCode::from(EXIT_DENIED));
    }
    if checks.iter().any(|(_, v)| !v.permits()) {
        writeln!(
            err,
            "watchfloor: the dry run failed (see above); nothing was changed"
        )?;
        return Ok(ExitCode::from(1));
    }
    if cli.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        write!(err, "Type the instance id ({}) to confirm: ", args.instance)?;
        err.flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if line.trim() != args.instance {
            writeln!(err, "watchfloor: not confirmed; nothing was changed")?;
            return Ok(ExitCode::from(1));
        }
    }
    let result = runner.run(&action).await;
    for p in &runner.progress {
        writeln!(err, "  {p}")?;
    }
    match result {
        Ok(msg) => {
            println!("{msg}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ TriageError::Refused(_)) => {
            writeln!(err, "watchfloor: refused: {e}")?;
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            writeln!(
                err,
                "watchfloor: {e} (the audit log {} has every step)",
                path.display()
            )?;
            Ok(ExitCode::from(1))
        }
    }
}

async fn ops_facts<O: super::Ops>(r: &Runner<'_, O>) -> Result<super::Facts, String> {
    r.ops
        .describe(&r.target.instance_id)
        .await
        .map_err(|e| e.message)
}
