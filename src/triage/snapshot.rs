//! Snapshot, with its plan and DryRun preview next to the run: one EBS snapshot per attached
//! volume, tagged with the case and the instance.

use super::{Check, Facts, Ops, Preview, Runner, TAG_CASE, TriageError, Verdict};

impl<'a, O: Ops> Runner<'a, O> {
    /// Plan and DryRun check of snapshot: the volumes to snapshot, CreateSnapshot on the first.
    pub(super) async fn preview_snapshot(&mut self, f: &Facts, p: &mut Preview) {
        let vols: Vec<&str> = f.volumes.iter().map(|v| v.volume_id.as_str()).collect();
        p.plan.push(format!(
            "Snapshot {} EBS volume(s) ({}), tagged with case {}.",
            vols.len(),
            vols.join(", "),
            self.ctx.case_id
        ));
        if let Some(vol) = vols.first() {
            let v = Verdict::of(&self.ops.snapshot_volume(vol, "dry run", &[], true).await);
            p.checks.push(Check::new("CreateSnapshot", v));
        }
    }

    pub(super) async fn snapshot(&mut self) -> Result<String, TriageError> {
        let id = self.target.instance_id.clone();
        let f = self.facts().await?;
        if f.volumes.is_empty() {
            return Err(TriageError::Refused(format!(
                "{id} has no EBS volume to snapshot"
            )));
        }
        let ops = self.ops;
        let mut ids = Vec::new();
        for vol in f.volumes.iter().map(|v| &v.volume_id) {
            let tags = vec![
                (TAG_CASE.to_string(), self.ctx.case_id.clone()),
                ("watchfloor:instance".to_string(), id.clone()),
                (
                    "Name".to_string(),
                    format!("{} {id} {vol}", self.ctx.case_id),
                ),
            ];
            let desc = format!(
                "watchfloor case {} evidence of {id} ({vol})",
                self.ctx.case_id
            );
            let snap = self
                .step("snapshot", &format!("snapshot {vol}"), || async {
                    ops.snapshot_volume(vol, &desc, &tags, false)
                        .await
                        .map(|s| (s, None))
                })
                .await?;
            ids.push(snap);
        }
        Ok(format!(
            "{id}: {} snapshot(s) {}",
            ids.len(),
            ids.join(", ")
        ))
    }
}
