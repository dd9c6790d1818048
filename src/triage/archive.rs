//! Archive a GuardDuty finding, with its plan and (unchecked: GuardDuty has no DryRun) preview
//! next to the run.

use super::{Check, Ops, Preview, Runner, TriageError, Verdict};

/// Plan and check of archiving finding `finding_id` of type `kind`.
pub(super) fn preview_archive(p: &mut Preview, finding_id: &str, kind: &str) {
    p.plan.push(format!(
        "Archive GuardDuty finding {kind} ({finding_id}): it leaves the fleet view and GuardDuty's \
         current findings; it can be unarchived in GuardDuty. Only archive what you have triaged."
    ));
    p.checks.push(Check::new(
        "ArchiveFindings",
        Verdict::Unchecked("GuardDuty has no DryRun".into()),
    ));
}

impl<'a, O: Ops> Runner<'a, O> {
    /// Archives the finding (one audited step).
    pub(super) async fn archive_finding(
        &mut self,
        finding_id: &str,
        kind: &str,
    ) -> Result<String, TriageError> {
        let ops = self.ops;
        self.step(
            "archive-finding",
            &format!("archive finding {kind} {finding_id}"),
            || async { ops.archive_finding(finding_id).await.map(|r| ((), r)) },
        )
        .await?;
        Ok(format!("finding {finding_id} archived"))
    }
}
