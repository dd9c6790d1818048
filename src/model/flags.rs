//! Named facts about an instance or task (`saturated`, `new-launch`, `foreign-ami`, ...): one list that
//! drives the row marks, the snapshot's `flags` and the filter.

use serde::Serialize;

/// One flag. The kebab-case names are the snapshot format's (docs/snapshot-format.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// CPU saturated, or a burstable instance held at its baseline.
    Saturated,
    /// A burstable instance with no credits left, held at its baseline.
    CreditsExhausted,
    /// Launched in the last 24 hours.
    NewLaunch,
    /// Its AMI is owned by neither the account, Amazon nor the Marketplace.
    ForeignAmi,
    /// Its AMI could not be described (deregistered, or not shared with the account any more).
    UnknownAmi,
    /// GPU or other accelerator family.
    Gpu,
    /// 16xlarge and up, or metal.
    VeryLarge,
    /// In a region outside the account's home regions.
    UnusualRegion,
    /// A world-open port on an address family the instance has on the internet.
    WorldOpen,
    /// A Spot instance.
    Spot,
    /// Launched without a key pair.
    NoKeyPair,
    /// Every interface on a watchfloor isolation group that opens nothing to the world.
    Quarantined,
    /// An ECS task no service started (RunTask).
    StandaloneTask,
    /// An ECS task whose group names a service whose deployments did not start it.
    ForgedService,
    /// An ECS task with an image from outside the account (a public registry, another account's
    /// ECR) that none of the account's established task definition families runs.
    PublicImage,
    /// An ECS task whose task definition was registered in the last 24 hours.
    NewTaskDef,
    /// A live GuardDuty finding of the DNS family: it queried a domain of a mining pool
    /// (`…!DNS`, `Impact:EC2/BitcoinDomainRequest.Reputation`).
    DnsMining,
}

impl Flag {
    /// Every flag, in display order.
    pub const ALL: [Flag; 17] = [
        Flag::Saturated,
        Flag::CreditsExhausted,
        Flag::NewLaunch,
        Flag::ForeignAmi,
        Flag::UnknownAmi,
        Flag::Gpu,
        Flag::VeryLarge,
        Flag::UnusualRegion,
        Flag::WorldOpen,
        Flag::Spot,
        Flag::NoKeyPair,
        Flag::Quarantined,
        Flag::StandaloneTask,
        Flag::ForgedService,
        Flag::PublicImage,
        Flag::NewTaskDef,
        Flag::DnsMining,
    ];

    /// The flag's name in the snapshot and the filter.
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Saturated => "saturated",
            Flag::CreditsExhausted => "credits-exhausted",
            Flag::NewLaunch => "new-launch",
            Flag::ForeignAmi => "foreign-ami",
            Flag::UnknownAmi => "unknown-ami",
            Flag::Gpu => "gpu",
            Flag::VeryLarge => "very-large",
            Flag::UnusualRegion => "unusual-region",
            Flag::WorldOpen => "world-open",
            Flag::Spot => "spot",
            Flag::NoKeyPair => "no-key-pair",
            Flag::Quarantined => "quarantined",
            Flag::StandaloneTask => "standalone-task",
            Flag::ForgedService => "forged-service",
            Flag::PublicImage => "public-image",
            Flag::NewTaskDef => "new-task-def",
            Flag::DnsMining => "dns-mining",
        }
    }
}

/// A set of flags, small and copyable (one bit per flag, up to 32).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u32);

impl Flags {
    /// Sets `f` when `on`.
    pub fn set(&mut self, f: Flag, on: bool) {
        if on {
            self.0 |= 1 << f as u32;
        } else {
            self.0 &= !(1 << f as u32);
        }
    }

    /// True when `f` is set.
    pub fn has(self, f: Flag) -> bool {
        self.0 & (1 << f as u32) != 0
    }

    /// The flags set, in display order.
    pub fn iter(self) -> impl Iterator<Item = Flag> + Clone {
        Flag::ALL.into_iter().filter(move |f| self.has(*f))
    }
}

impl Serialize for Flags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kebab_case_and_serialize_as_a_list() {
        let mut f = Flags::default();
        f.set(Flag::CreditsExhausted, true);
        f.set(Flag::Saturated, true);
        f.set(Flag::Quarantined, true);
        f.set(Flag::Quarantined, false);
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"["saturated","credits-exhausted"]"#
        );
        for flag in Flag::ALL {
            assert_eq!(
                serde_json::to_value(flag).unwrap(),
                serde_json::json!(flag.as_str())
            );
        }
    }
}
