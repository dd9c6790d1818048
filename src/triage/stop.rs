//! Stop, with its plan and DryRun preview next to the run: clears stop protection first when
//! asked (attackers set it to block responders), then StopInstances (force / hibernate).

use super::{Check, Facts, Ops, Preview, Runner, TriageError, Verdict};
use crate::model::InstanceState;

impl<'a, O: Ops> Runner<'a, O> {
    /// Plan and DryRun checks of stop: clearing stop protection (when set and asked), then
    /// StopInstances with the chosen options.
    pub(super) async fn preview_stop(
        &mut self,
        f: &Facts,
        p: &mut Preview,
        force: bool,
        hibernate: bool,
        clear_stop_protection: bool,
    ) {
        let id = self.target.instance_id.clone();
        p.plan = stop_plan(f, force, hibernate, clear_stop_protection);
        if clear_stop_protection && f.stop_protection == Some(true) {
            let v = Verdict::of(&self.ops.set_stop_protection(&id, false, true).await);
            p.checks.push(Check::new(
                "ModifyInstanceAttribute DisableApiStop=false",
                v,
            ));
        }
        let v = Verdict::of(&self.ops.stop(&id, force, hibernate, true).await);
        p.checks.push(Check::new("StopInstances", v));
    }

    pub(super) async fn stop(
        &mut self,
        force: bool,
        hibernate: bool,
        clear: bool,
    ) -> Result<String, TriageError> {
        let f = self.facts().await?;
        let id = self.target.instance_id.clone();
        if matches!(
            f.state,
            Some(InstanceState::Stopped | InstanceState::Stopping)
        ) {
            return Ok(format!(
                "{id} is already {}",
                f.state.map_or("stopped", |s| s.as_str())
            ));
        }
        if f.stop_protection == Some(true) {
            if !clear {
                return Err(TriageError::Refused(format!(
                    "{id} has stop protection (DisableApiStop) set — attackers use it to block responders; confirm clearing it to stop"
                )));
            }
            let ops = self.ops;
            self.step(
                "stop",
                "clear stop protection (DisableApiStop=false)",
                || async {
                    ops.set_stop_protection(&id, false, false)
                        .await
                        .map(|r| ((), r))
                },
            )
            .await?;
        }
        let ops = self.ops;
        let what = match (force, hibernate) {
            (_, true) => "stop instance (hibernate)",
            (true, _) => "stop instance (force)",
            _ => "stop instance",
        };
        self.step("stop", what, || async {
            ops.stop(&id, force, hibernate, false)
                .await
                .map(|r| ((), r))
        })
        .await?;
        Ok(format!("{id} stopping"))
    }
}

/// What stop will do, in plain words (stop protection first, then the stop and what is lost).
fn stop_plan(f: &Facts, force: bool, hibernate: bool, clear: bool) -> Vec<String> {
    let mut v = Vec::new();
    if f.stop_protection == Some(true) {
        v.push(if clear {
            "Stop protection (DisableApiStop) is SET: it will be cleared first.".into()
        } else {
            "Stop protection (DisableApiStop) is SET: the stop will be refused unless you clear it."
                .into()
        });
    }
    v.push(format!(
        "Stop the instance{}{}. RAM contents are lost (snapshot first for disk evidence).",
        if force {
            " (force: no clean OS shutdown)"
        } else {
            ""
        },
        if hibernate {
            " (hibernate: RAM kept on the root volume)"
        } else {
            ""
        }
    ));
    v
}
