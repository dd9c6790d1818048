//! Risk score (0-100): findings severity, CPU saturation (or a burstable instance held at its
//! baseline), world-open ports, unusual region and type.
//!
//! The formula is documented in docs/risk.md; keep the two in step.

use serde::Serialize;

use super::exposure::Exposure;
use super::flags::{Flag, Flags};
use super::{CpuSeries, Finding, Subject};

/// CPU percentage at or above which an instance counts as saturated.
pub const SATURATED_PCT: f64 = 90.0;
/// CPU percentage at or above which an instance counts as busy.
pub const BUSY_PCT: f64 = 75.0;
/// Samples averaged for the saturation test.
pub const SATURATION_WINDOW: usize = 3;

/// TCP ports whose world exposure weighs more: remote admin, databases, caches, container APIs.
pub const SENSITIVE_PORTS: &[i32] = &[
    22, 23, 135, 139, 445, 1433, 2375, 2376, 3306, 3389, 5432, 5900, 5985, 5986, 6379, 9200, 11211,
    27017,
];

/// Everything the score looks at for one instance or task.
#[derive(Debug, Clone, Copy)]
pub struct RiskInput<'a> {
    /// The instance or task.
    pub subject: &'a Subject,
    /// Its world-open ports.
    pub exposure: &'a Exposure,
    /// Its CPU history.
    pub cpu: &'a CpuSeries,
    /// Its non-archived findings.
    pub findings: &'a [Finding],
    /// True when the region is outside the account's home regions.
    pub unusual_region: bool,
    /// A burstable instance with no credits left, held at this baseline %.
    pub held_at_baseline: Option<f64>,
    /// Its flags (the launch radar weighs new launches with their image, type and region).
    pub flags: Flags,
    /// The points of the configured rules it matches (`[[rule]]`), one reason each.
    pub rules: &'a [RiskReason],
}

/// One contribution to the score, shown in the detail view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskReason {
    /// Points added (or removed, when negative).
    pub points: i32,
    /// Why.
    pub why: String,
}

/// The score with its reasons.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Risk {
    /// 0-100.
    pub score: u8,
    /// Contributions in the order they were applied.
    pub reasons: Vec<RiskReason>,
}

/// True when the mean of the last samples is at or above [`SATURATED_PCT`].
pub fn is_saturated(cpu: &CpuSeries) -> bool {
    cpu.recent_mean(SATURATION_WINDOW)
        .is_some_and(|m| m >= SATURATED_PCT)
}

/// True for GPU / accelerator families and very large sizes, the miners' favourites.
pub fn is_unusual_type(instance_type: &str) -> bool {
    is_accelerator(instance_type) || is_very_large(instance_type)
}

/// True for GPU and other accelerator families (p, g, inf, trn, dl, f, vt).
pub fn is_accelerator(instance_type: &str) -> bool {
    let family = instance_type.split_once('.').map_or(instance_type, |p| p.0);
    ["p", "g", "inf", "trn", "dl", "f", "vt"].iter().any(|pre| {
        family.starts_with(pre)
            && family[pre.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
    })
}

/// True for 16xlarge and up, and metal.
pub fn is_very_large(instance_type: &str) -> bool {
    let size = instance_type.split_once('.').map_or("", |p| p.1);
    size == "metal"
        || size
            .strip_suffix("xlarge")
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n >= 16)
}

/// Computes the risk score of one instance or task.
pub fn risk_of(input: RiskInput<'_>) -> Risk {
    let mut reasons = Vec::new();
    let mut add = |points: i32, why: String| reasons.push(RiskReason { points, why });

    // 1. Findings: the worst severity dominates.
    // Ties broken like the detail list: most recent, then lowest id (deterministic).
    if let Some(worst) = input.findings.iter().max_by(|a, b| {
        a.severity
            .total_cmp(&b.severity)
            .then_with(|| a.updated_at.cmp(&b.updated_at))
            .then_with(|| b.id.cmp(&a.id))
    }) {
        let pts = (worst.severity.clamp(0.0, 10.0) * 5.0).round() as i32;
        add(
            pts,
            format!("{} finding {}", worst.band().name(), worst.kind),
        );
        if input.findings.iter().any(Finding::is_cryptomining) {
            add(5, "cryptomining finding".into());
        }
        let mut kinds: Vec<&str> = input.findings.iter().map(|f| f.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        if kinds.len() > 1 {
            add(
                (2 * (kinds.len() as i32 - 1)).min(6),
                format!("{} distinct finding types", kinds.len()),
            );
        }
    }

    // 2. CPU saturation (only while the instance can run: old samples of a stopped one don't count).
    if let Some(mean) = input
        .cpu
        .recent_mean(SATURATION_WINDOW)
        .filter(|_| input.subject.is_live())
    {
        if mean >= SATURATED_PCT {
            add(20, format!("CPU saturated ({mean:.0}%)"));
        } else if let Some(base) = input.held_at_baseline {
            // As saturated as it is allowed to be: CPU % alone hides it.
            add(
                20,
                format!("CPU credits exhausted: held at its {base:.0}% baseline ({mean:.0}%)"),
            );
        } else if mean >= BUSY_PCT {
            add(8, format!("CPU busy ({mean:.0}%)"));
        }
    }

    // 3. World-open ports: full weight for what reaches the instance (per address family),
    //    a quarter for rules it has no matching public address for.
    let reach = input.exposure.reachable_part(input.subject.interfaces());
    let weigh = |exp: &Exposure| -> Option<(i32, String)> {
        if exp.all_open() {
            Some((20, "all ports open to the internet".to_string()))
        } else if let Some(p) = SENSITIVE_PORTS
            .iter()
            .find(|port| exp.ports.iter().any(|o| o.covers_tcp(**port)))
        {
            Some((15, format!("port {p} open to the internet")))
        } else if !exp.is_empty() {
            Some((5, format!("{} open to the internet", exp.label())))
        } else {
            None
        }
    };
    match (weigh(&reach), weigh(input.exposure)) {
        (Some((pts, what)), _) => add(pts, what),
        (None, Some((pts, what))) => add(
            pts / 4,
            format!("{what} (not reachable: no public address of that family)"),
        ),
        (None, None) => {}
    }

    // 4. Unusual placement.
    if input.unusual_region {
        add(10, "region outside the account's home regions".into());
    }
    if let Some(ty) = input.subject.instance_type().filter(|t| is_unusual_type(t)) {
        add(5, format!("GPU or very large type {ty}"));
    }

    // 5. Launch radar: a fresh launch is most suspicious with a stranger's image, a GPU type or
    //    in a region the account never uses.
    let f = input.flags;
    if f.has(Flag::ForeignAmi) {
        add(5, "AMI owned by another account".into());
    } else if f.has(Flag::UnknownAmi) {
        add(3, "AMI can no longer be described".into());
    }
    if f.has(Flag::NewLaunch) {
        let with: Vec<&str> = [
            (Flag::ForeignAmi, "a foreign AMI"),
            (Flag::Gpu, "a GPU type"),
            (Flag::UnusualRegion, "an unusual region"),
        ]
        .into_iter()
        .filter(|(flag, _)| f.has(*flag))
        .map(|(_, what)| what)
        .collect();
        if !with.is_empty() {
            add(
                5 * with.len() as i32,
                format!("launched in the last 24 h with {}", with.join(", ")),
            );
        }
    }

    // 6. ECS: how an attacker's task differs from the account's own.
    if f.has(Flag::StandaloneTask) {
        add(8, "standalone task: no service started it (RunTask)".into());
    }
    if f.has(Flag::ForgedService) {
        add(
            10,
            "its group names a service whose deployments did not start it (forged)".into(),
        );
    }
    if f.has(Flag::PublicImage) {
        add(
            5,
            "image from outside the account, new to its task definitions".into(),
        );
    }
    if f.has(Flag::NewTaskDef) {
        add(5, "task definition registered in the last 24 h".into());
    }

    // 7. The team's own rules, each like a finding of its severity.
    reasons.extend(input.rules.iter().cloned());

    let mut total: i32 = reasons.iter().map(|r| r.points).sum();
    // 8. Not running: cannot burn CPU now, still compromised.
    if !input.subject.is_live() && total > 0 {
        let cut = total / 2;
        reasons.push(RiskReason {
            points: -cut,
            why: format!(
                "{} {}",
                input.subject.kind().as_str(),
                input.subject.state_label()
            ),
        });
        total -= cut;
    }
    Risk {
        score: total.clamp(0, 100) as u8,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::exposure::{OpenPort, Protocol};
    use crate::model::{Instance, InstanceState, NetworkInterface};
    use chrono::{TimeZone, Utc};

    fn instance(ty: &str, public: bool, state: InstanceState) -> Subject {
        Subject::Instance(Instance {
            instance_id: "i-1".into(),
            name: String::new(),
            instance_type: ty.into(),
            state,
            launch_time: None,
            vpc_id: None,
            interfaces: vec![NetworkInterface {
                eni_id: "eni-1".into(),
                device_index: 0,
                subnet_id: None,
                private_ip: Some("10.0.0.1".into()),
                public_ip: public.then(|| "198.51.100.7".to_string()),
                ipv6: vec![],
                group_ids: vec![],
            }],
            tags: vec![],
            detailed_monitoring: false,
            termination_protection: None,
            stop_protection: None,
            asg: None,
            image_id: None,
            key_name: Some("ops".into()),
            spot: false,
            platform: Default::default(),
            tenancy: Default::default(),
            availability_zone: None,
        })
    }
    fn cpu(vals: &[f64]) -> CpuSeries {
        CpuSeries {
            period_secs: 60,
            points: vals
                .iter()
                .enumerate()
                .map(|(i, v)| (Utc.timestamp_opt(i as i64 * 60, 0).unwrap(), *v))
                .collect(),
        }
    }
    fn finding(kind: &str, sev: f64) -> Finding {
        Finding {
            id: kind.into(),
            kind: kind.into(),
            severity: sev,
            title: String::new(),
            instance_id: Some("i-1".into()),
            updated_at: Utc.timestamp_opt(0, 0).unwrap(),
            count: 1,
            task_arn: None,
            cluster_arn: None,
            archived: false,
            dns_domain: None,
        }
    }
    fn ports(spec: &[(Protocol, Option<i32>)]) -> Exposure {
        Exposure {
            ports: spec
                .iter()
                .map(|(p, port)| OpenPort {
                    protocol: p.clone(),
                    from_port: *port,
                    to_port: *port,
                    sources: vec!["0.0.0.0/0".into()],
                    group_ids: vec![],
                })
                .collect(),
            missing_groups: vec![],
        }
    }
    fn score(
        inst: &Subject,
        exp: &Exposure,
        c: &CpuSeries,
        f: &[Finding],
        unusual_region: bool,
    ) -> u8 {
        risk_of(RiskInput {
            subject: inst,
            exposure: exp,
            cpu: c,
            findings: f,
            unusual_region,
            held_at_baseline: None,
            flags: Flags::default(),
            rules: &[],
        })
        .score
    }

    /// The risk of `subject` with nothing but these flags set.
    fn with_flags(subject: &Subject, flags: &[Flag]) -> Risk {
        let mut f = Flags::default();
        for x in flags {
            f.set(*x, true);
        }
        risk_of(RiskInput {
            subject,
            exposure: &Exposure::default(),
            cpu: &CpuSeries::default(),
            findings: &[],
            unusual_region: false,
            held_at_baseline: None,
            flags: f,
            rules: &[],
        })
    }

    #[test]
    fn a_fresh_launch_weighs_with_its_image_type_and_region() {
        let i = instance("p3.16xlarge", false, InstanceState::Running);
        let with = |flags: &[Flag]| with_flags(&i, flags);
        let base = with(&[]).score;
        // Launched long ago from its own image: only the type counts.
        assert_eq!(base, 5);
        // New, from a stranger's AMI, a GPU type: 5 (foreign) + 2 x 5 (new with both).
        let r = with(&[Flag::NewLaunch, Flag::ForeignAmi, Flag::Gpu]);
        assert_eq!(r.score, base + 15, "{:?}", r.reasons);
        assert!(
            r.reasons
                .iter()
                .any(|x| x.why == "launched in the last 24 h with a foreign AMI, a GPU type")
        );
        // New but unremarkable: no points for being new.
        assert_eq!(with(&[Flag::NewLaunch]).score, base);
        assert_eq!(with(&[Flag::UnknownAmi]).score, base + 3);
    }

    #[test]
    fn a_burstable_instance_held_at_its_baseline_scores_as_saturated() {
        let i = instance("t3.large", false, InstanceState::Running);
        let at_baseline = cpu(&[30.0, 30.0, 30.0]);
        let held = risk_of(RiskInput {
            subject: &i,
            exposure: &Exposure::default(),
            cpu: &at_baseline,
            findings: &[],
            unusual_region: false,
            held_at_baseline: Some(30.0),
            flags: Flags::default(),
            rules: &[],
        });
        assert_eq!(held.score, 20);
        assert!(
            held.reasons[0].why.contains("credits exhausted"),
            "{:?}",
            held.reasons
        );
        // The same CPU with credits left scores nothing.
        assert_eq!(score(&i, &Exposure::default(), &at_baseline, &[], false), 0);
    }

    #[test]
    fn quiet_private_instance_scores_zero() {
        let i = instance("t3.micro", false, InstanceState::Running);
        assert_eq!(
            score(&i, &Exposure::default(), &cpu(&[5.0; 5]), &[], false),
            0
        );
    }

    /// One case: (name, instance, exposure, cpu, findings, unusual region, expected score).
    type Case<'a> = (
        &'a str,
        Subject,
        &'a Exposure,
        &'a CpuSeries,
        &'a [Finding],
        bool,
        u8,
    );

    #[test]
    fn components_table() {
        let run = InstanceState::Running;
        let ssh = ports(&[(Protocol::Tcp, Some(22))]);
        let web = ports(&[(Protocol::Tcp, Some(443))]);
        let all = ports(&[(Protocol::All, None)]);
        let none = Exposure::default();
        let idle = cpu(&[3.0, 4.0, 5.0]);
        let hot = cpu(&[20.0, 99.0, 100.0, 98.0]);
        let busy = cpu(&[80.0, 80.0, 80.0]);
        let brute = [finding("UnauthorizedAccess:EC2/SSHBruteForce", 5.0)];
        let miner = [
            finding("UnauthorizedAccess:EC2/SSHBruteForce", 5.0),
            finding("CryptoCurrency:EC2/BitcoinTool.B!DNS", 8.0),
        ];
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("ssh open, public", instance("t3.micro", true, run), &ssh, &idle, &[], false, 15),
            ("ssh open, private only", instance("t3.micro", false, run), &ssh, &idle, &[], false, 3),
            ("web open, public", instance("t3.micro", true, run), &web, &idle, &[], false, 5),
            ("all open, public", instance("t3.micro", true, run), &all, &idle, &[], false, 20),
            ("saturated cpu", instance("t3.micro", false, run), &none, &hot, &[], false, 20),
            ("busy cpu", instance("t3.micro", false, run), &none, &busy, &[], false, 8),
            ("medium finding", instance("t3.micro", false, run), &none, &idle, &brute, false, 25),
            // 40 (8.0 x 5) + 5 crypto + 2 second type
            ("miner findings", instance("t3.micro", false, run), &none, &idle, &miner, false, 47),
            ("gpu in odd region", instance("p3.16xlarge", false, run), &none, &idle, &[], true, 15),
            ("huge type", instance("c5.24xlarge", false, run), &none, &idle, &[], false, 5),
            // 47 + 20 cpu + 15 ssh + 10 region + 5 type = 97
            ("full campaign", instance("g5.12xlarge", true, run), &ssh, &hot, &miner, true, 97),
            ("stopped halves", instance("t3.micro", true, InstanceState::Stopped), &ssh, &idle, &brute, false, 20),
        ];
        for (name, inst, exp, c, f, odd, want) in cases {
            assert_eq!(score(&inst, exp, c, f, odd), want, "case: {name}");
        }
    }

    #[test]
    fn stopped_instances_old_cpu_does_not_count() {
        let i = instance("t3.micro", false, InstanceState::Stopped);
        assert_eq!(
            score(&i, &Exposure::default(), &cpu(&[100.0; 3]), &[], false),
            0
        );
    }

    #[test]
    fn tie_on_severity_names_the_most_recent_finding() {
        let mut old = finding("A:old", 8.0);
        old.updated_at = Utc.timestamp_opt(100, 0).unwrap();
        let mut new = finding("B:new", 8.0);
        new.updated_at = Utc.timestamp_opt(200, 0).unwrap();
        let i = instance("t3.micro", false, InstanceState::Running);
        for order in [
            vec![old.clone(), new.clone()],
            vec![new.clone(), old.clone()],
        ] {
            let r = risk_of(RiskInput {
                subject: &i,
                exposure: &Exposure::default(),
                cpu: &CpuSeries::default(),
                findings: &order,
                unusual_region: false,
                held_at_baseline: None,
                flags: Flags::default(),
                rules: &[],
            });
            assert_eq!(r.reasons[0].why, "high finding B:new");
        }
    }

    #[test]
    fn world_rule_of_a_family_the_instance_lacks_counts_a_quarter() {
        let mut v6_only_ssh = ports(&[(Protocol::Tcp, Some(22))]);
        v6_only_ssh.ports[0].sources = vec!["::/0".into()];
        let i = instance("t3.micro", true, InstanceState::Running);
        let r = risk_of(RiskInput {
            subject: &i,
            exposure: &v6_only_ssh,
            cpu: &CpuSeries::default(),
            findings: &[],
            unusual_region: false,
            held_at_baseline: None,
            flags: Flags::default(),
            rules: &[],
        });
        assert_eq!(r.score, 3);
        assert!(
            r.reasons[0]
                .why
                .ends_with("(not reachable: no public address of that family)")
        );
    }

    #[test]
    fn an_ecs_task_weighs_standalone_public_image_and_new_definition() {
        let task = Subject::Task(Box::new(crate::model::task::Task::running(
            "arn:aws:ecs:us-east-1:1:task/batch/abc",
            "batch",
            "metrics-agent:1",
        )));
        let with = |flags: &[Flag]| with_flags(&task, flags).score;
        assert_eq!(with(&[]), 0);
        assert_eq!(with(&[Flag::StandaloneTask]), 8);
        assert_eq!(with(&[Flag::PublicImage]), 5);
        assert_eq!(with(&[Flag::NewTaskDef]), 5);
        assert_eq!(
            with(&[Flag::StandaloneTask, Flag::PublicImage, Flag::NewTaskDef]),
            18
        );
        assert_eq!(with(&[Flag::StandaloneTask, Flag::ForgedService]), 18);
    }

    #[test]
    fn score_is_capped_at_100() {
        let many: Vec<Finding> = (0..6)
            .map(|i| finding(&format!("CryptoCurrency:EC2/T{i}"), 10.0))
            .collect();
        let s = score(
            &instance("p4d.24xlarge", true, InstanceState::Running),
            &ports(&[(Protocol::All, None)]),
            &cpu(&[100.0; 3]),
            &many,
            true,
        );
        assert_eq!(s, 100);
    }

    #[test]
    fn unusual_types() {
        for t in [
            "p3.2xlarge",
            "g4dn.xlarge",
            "inf2.xlarge",
            "trn1.32xlarge",
            "c5.metal",
            "m5.16xlarge",
        ] {
            assert!(is_unusual_type(t), "{t}");
        }
        for t in ["t3.micro", "m5.large", "c6g.8xlarge", "gp3", "r5.12xlarge"] {
            assert!(!is_unusual_type(t), "{t}");
        }
    }

    #[test]
    fn saturation_uses_recent_mean() {
        assert!(is_saturated(&cpu(&[10.0, 95.0, 92.0, 91.0])));
        assert!(!is_saturated(&cpu(&[100.0, 100.0, 60.0])));
        assert!(!is_saturated(&CpuSeries::default()));
    }
}
