//! The local quarantine journal: watchfloor's own record of what it changed, the source of truth
//! for resume and release. Tags on the instance are only a mirror an attacker can forge; the
//! journal lives in the state dir (0600 in 0700, fsynced, file-locked JSON lines beside the
//! audit log), keyed by account id, region and instance, each quarantine stamped with its case.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::jsonl::JsonlFile;

/// Which instance (or ECS service) a journal entry is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    /// Verified account id.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Instance id (the service ARN for a scale-to-zero).
    pub instance_id: String,
}

/// What one journal line says happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// Written before quarantine changes anything: what it will change, as it was.
    Begin {
        /// VPC of the instance.
        vpc_id: String,
        /// Each interface's groups before quarantine (never a watchfloor group).
        enis: BTreeMap<String, Vec<String>>,
        /// DisableApiTermination before.
        termination_protection: Option<bool>,
        /// InstanceInitiatedShutdownBehavior before (`stop` / `terminate`).
        shutdown_behavior: Option<String>,
        /// Device name -> DeleteOnTermination before, for every attached EBS volume.
        delete_on_termination: BTreeMap<String, bool>,
    },
    /// An interface found attached after `Begin`, recorded before it moves.
    Interface {
        /// ENI id.
        eni: String,
        /// Its groups as found.
        groups: Vec<String>,
    },
    /// About to put the instance in Standby in this Auto Scaling group (from
    /// DescribeAutoScalingInstances), so release takes it out again.
    Standby {
        /// Auto Scaling group name.
        asg: String,
    },
    /// About to move interfaces onto the allow-all group: open to the internet, and unfinished,
    /// until the next `isolated`.
    Opening,
    /// Every attached interface was verified on the isolation group.
    Isolated,
    /// Release restored these interfaces (and, when `complete`, everything else).
    Restored {
        /// ENIs whose groups were restored.
        enis: Vec<String>,
        /// True when nothing recorded is left to restore: the quarantine is closed.
        complete: bool,
    },
    /// About to scale an ECS service to zero: its desired count before, for release.
    ScaledDown {
        /// Desired task count before.
        desired: i32,
    },
    /// The service's recorded desired count was put back: the scale-to-zero is closed.
    ScaleRestored,
}

/// A scale-to-zero as the journal knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaled {
    /// Case id it was done under.
    pub case: String,
    /// When.
    pub started: DateTime<Utc>,
    /// Desired task count before (what release restores).
    pub desired: i32,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When it was written.
    pub time: DateTime<Utc>,
    /// The instance.
    #[serde(flatten)]
    pub key: Key,
    /// Case id of the quarantine.
    pub case: String,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// A quarantine as the journal knows it (folded from its entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantine {
    /// Case id it was started under.
    pub case: String,
    /// When it started.
    pub started: DateTime<Utc>,
    /// VPC of the instance.
    pub vpc_id: String,
    /// ENI -> original groups, of every interface not yet restored.
    pub enis: BTreeMap<String, Vec<String>>,
    /// Interfaces found attached after `begin` (possibly by the attacker): release leaves them
    /// isolated rather than putting their groups back.
    pub late: std::collections::BTreeSet<String>,
    /// Every interface a `begin` recorded (restored or not): never "late".
    pub begun: std::collections::BTreeSet<String>,
    /// Auto Scaling group it was put in Standby in.
    pub standby: Option<String>,
    /// DisableApiTermination before.
    pub termination_protection: Option<bool>,
    /// InstanceInitiatedShutdownBehavior before.
    pub shutdown_behavior: Option<String>,
    /// Device -> DeleteOnTermination before.
    pub delete_on_termination: BTreeMap<String, bool>,
    /// True once every interface was verified isolated.
    pub isolated: bool,
}

/// Held while an action runs on one instance: an exclusive lock on a file per instance beside the
/// journal, so that two processes (a console and a headless run) never act on it at once.
#[derive(Debug)]
pub struct InstanceLock {
    _file: std::fs::File,
}

/// How long an action waits for another process's action on the same instance.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// The journal: its file, and every open quarantine in it.
#[derive(Debug)]
pub struct Journal {
    file: JsonlFile,
    open: BTreeMap<Key, Quarantine>,
    scaled: BTreeMap<Key, Scaled>,
}

impl Journal {
    /// The journal beside an audit log: same directory, `journal.jsonl`.
    pub fn path_beside(audit: &Path) -> PathBuf {
        audit.with_file_name("journal.jsonl")
    }

    /// Opens (creating) the journal and folds what it holds. Lines it cannot read are returned
    /// as warnings (`path:line: why`), never fatal.
    pub fn open(path: &Path) -> std::io::Result<(Journal, Vec<String>)> {
        let file = JsonlFile::open(path)?;
        let (entries, bad) = JsonlFile::read::<Entry>(path)?;
        let mut j = Journal {
            file,
            open: BTreeMap::new(),
            scaled: BTreeMap::new(),
        };
        for e in entries {
            j.apply(e);
        }
        Ok((j, bad))
    }

    /// Reads the file again (another process may have written since it was opened): done once
    /// the instance lock is held, so a run decides from what is on disk.
    pub fn reload(&mut self) -> std::io::Result<()> {
        let (entries, _) = JsonlFile::read::<Entry>(self.file.path())?;
        self.open.clear();
        self.scaled.clear();
        for e in entries {
            self.apply(e);
        }
        Ok(())
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    fn apply(&mut self, e: Entry) {
        match e.event {
            Event::Begin {
                vpc_id,
                enis,
                termination_protection,
                shutdown_behavior,
                delete_on_termination,
            } => match self.open.get_mut(&e.key) {
                // A second `begin` for an open quarantine (two writers raced, console and
                // headless): the first one saw the instance before anything changed, so what
                // it recorded wins; the second only adds interfaces the first did not know.
                Some(q) => {
                    for (eni, groups) in enis {
                        q.begun.insert(eni.clone());
                        q.enis.entry(eni).or_insert(groups);
                    }
                }
                None => {
                    let begun = enis.keys().cloned().collect();
                    self.open.insert(
                        e.key,
                        Quarantine {
                            case: e.case,
                            started: e.time,
                            vpc_id,
                            enis,
                            late: Default::default(),
                            begun,
                            standby: None,
                            termination_protection,
                            shutdown_behavior,
                            delete_on_termination,
                            isolated: false,
                        },
                    );
                }
            },
            Event::Interface { eni, groups } => {
                if let Some(q) = self.open.get_mut(&e.key)
                    && !q.enis.contains_key(&eni)
                {
                    if !q.begun.contains(&eni) {
                        q.late.insert(eni.clone());
                    }
                    q.enis.insert(eni, groups);
                }
            }
            Event::Standby { asg } => {
                if let Some(q) = self.open.get_mut(&e.key) {
                    q.standby = Some(asg);
                }
            }
            Event::Opening => {
                if let Some(q) = self.open.get_mut(&e.key) {
                    q.isolated = false;
                }
            }
            Event::Isolated => {
                if let Some(q) = self.open.get_mut(&e.key) {
                    q.isolated = true;
                }
            }
            // The first record of an open scale-to-zero keeps the count from before it: a
            // second one (run again on a service already at zero) would record 0.
            Event::ScaledDown { desired } => {
                self.scaled.entry(e.key).or_insert(Scaled {
                    case: e.case,
                    started: e.time,
                    desired,
                });
            }
            Event::ScaleRestored => {
                self.scaled.remove(&e.key);
            }
            Event::Restored { enis, complete } => {
                if complete {
                    self.open.remove(&e.key);
                } else if let Some(q) = self.open.get_mut(&e.key) {
                    for eni in enis {
                        q.enis.remove(&eni);
                    }
                }
            }
        }
    }

    /// Writes one entry (fsynced, under the file lock), then applies it.
    pub fn append(&mut self, key: &Key, case: &str, event: Event) -> std::io::Result<()> {
        let e = Entry {
            time: Utc::now(),
            key: key.clone(),
            case: case.to_string(),
            event,
        };
        self.file.append(&e)?;
        self.apply(e);
        Ok(())
    }

    /// The open scale-to-zero of a service, if the journal has one.
    pub fn scaled(&self, key: &Key) -> Option<&Scaled> {
        self.scaled.get(key)
    }

    /// The open quarantine of an instance, if the journal has one.
    pub fn get(&self, key: &Key) -> Option<&Quarantine> {
        self.open.get(key)
    }

    /// Takes the instance's lock, waiting up to two minutes for another process to finish;
    /// `waiting` is called once if it has to wait.
    pub async fn lock_instance(
        &self,
        key: &Key,
        waiting: impl FnOnce(),
    ) -> std::io::Result<InstanceLock> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let dir = self
            .path()
            .parent()
            .map(|d| d.join("locks"))
            .unwrap_or_else(|| PathBuf::from("locks"));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
        // Ids come from the account or the command line (an ECS ARN holds cluster and service
        // names of up to 255 characters): a safe, bounded name.
        let name = format!(
            "{}.lock",
            super::safe_file_name(
                &format!("{}_{}_{}", key.account_id, key.region, key.instance_id),
                200
            )
        );
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(dir.join(name))?;
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        let mut waiting = Some(waiting);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(InstanceLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if let Some(w) = waiting.take() {
                        w();
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::WouldBlock,
                            "another watchfloor process has been acting on this instance for two minutes",
                        ));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
        }
    }

    /// Quarantines begun but never verified isolated (a crash, a kill, a failure): to resume.
    pub fn unfinished(&self) -> Vec<(Key, Quarantine)> {
        self.open
            .iter()
            .filter(|(_, q)| !q.isolated)
            .map(|(k, q)| (k.clone(), q.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn key(i: &str) -> Key {
        Key {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            instance_id: i.into(),
        }
    }

    #[test]
    fn a_scale_to_zero_keeps_its_first_count_until_restored_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let svc = key("arn:aws:ecs:us-east-1:123456789012:service/batch/agent");
        let (mut j, _) = Journal::open(&path).unwrap();
        j.append(&svc, "IR-1", Event::ScaledDown { desired: 4 })
            .unwrap();
        // Run again at zero: 0 is recorded, 4 is kept.
        j.append(&svc, "IR-1", Event::ScaledDown { desired: 0 })
            .unwrap();
        let (mut again, bad) = Journal::open(&path).unwrap();
        assert!(bad.is_empty());
        let r = again.scaled(&svc).expect("open after reopening");
        assert_eq!((r.desired, r.case.as_str()), (4, "IR-1"));
        assert!(again.get(&svc).is_none(), "not a quarantine");
        again.append(&svc, "IR-1", Event::ScaleRestored).unwrap();
        again.reload().unwrap();
        assert_eq!(again.scaled(&svc), None);
    }

    fn begin(enis: &[(&str, &[&str])]) -> Event {
        Event::Begin {
            vpc_id: "vpc-1".into(),
            enis: enis
                .iter()
                .map(|(e, g)| (e.to_string(), g.iter().map(|s| s.to_string()).collect()))
                .collect(),
            termination_protection: Some(false),
            shutdown_behavior: Some("terminate".into()),
            delete_on_termination: [("/dev/sda1".to_string(), true)].into(),
        }
    }

    #[test]
    fn folds_begin_interface_isolated_restored_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (mut j, bad) = Journal::open(&p).unwrap();
        assert!(bad.is_empty());
        j.append(&key("i-1"), "IR-1", begin(&[("eni-1", &["sg-a", "sg-b"])]))
            .unwrap();
        j.append(
            &key("i-1"),
            "IR-1",
            Event::Interface {
                eni: "eni-2".into(),
                groups: vec!["sg-c".into()],
            },
        )
        .unwrap();
        j.append(&key("i-2"), "IR-1", begin(&[("eni-9", &["sg-z"])]))
            .unwrap();
        j.append(&key("i-2"), "IR-1", Event::Isolated).unwrap();
        // A torn line from a killed writer does not hide the rest.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"time\":\"20")
            .unwrap();
        drop(j);
        let (mut j, bad) = Journal::open(&p).unwrap();
        assert_eq!(bad.len(), 1, "{bad:?}");
        let q = j.get(&key("i-1")).unwrap();
        assert_eq!(q.enis.len(), 2);
        assert_eq!(q.enis["eni-2"], vec!["sg-c".to_string()]);
        assert!(q.late.contains("eni-2") && !q.late.contains("eni-1"));
        assert!(!q.isolated);
        let unfinished: Vec<String> = j
            .unfinished()
            .into_iter()
            .map(|(k, _)| k.instance_id)
            .collect();
        assert_eq!(unfinished, vec!["i-1".to_string()]);
        j.append(
            &key("i-1"),
            "IR-1",
            Event::Restored {
                enis: vec!["eni-1".into()],
                complete: false,
            },
        )
        .unwrap();
        assert_eq!(
            j.get(&key("i-1")).unwrap().enis.keys().collect::<Vec<_>>(),
            vec!["eni-2"]
        );
        j.append(
            &key("i-1"),
            "IR-1",
            Event::Restored {
                enis: vec!["eni-2".into()],
                complete: true,
            },
        )
        .unwrap();
        assert!(j.get(&key("i-1")).is_none());
        drop(j);
        let (j, _) = Journal::open(&p).unwrap();
        assert!(j.get(&key("i-1")).is_none());
        assert!(j.get(&key("i-2")).unwrap().isolated);
        // A run that reopens an isolated instance (an attacker moved its groups back) makes it
        // unfinished again until it is verified isolated.
        drop(j);
        let (mut j, _) = Journal::open(&p).unwrap();
        j.append(&key("i-2"), "IR-1", Event::Opening).unwrap();
        assert_eq!(j.unfinished().len(), 1);
    }

    #[tokio::test]
    async fn one_action_per_instance_across_processes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (a, _) = Journal::open(&p).unwrap();
        let (b, _) = Journal::open(&p).unwrap();
        let held = a.lock_instance(&key("i-1"), || {}).await.unwrap();
        // Another instance is free; the same one waits until the holder lets go.
        let other = b.lock_instance(&key("i-2"), || panic!("i-2 is free")).await;
        assert!(other.is_ok());
        let waited = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let w = waited.clone();
        let second = tokio::spawn(async move {
            b.lock_instance(&key("i-1"), move || {
                w.store(true, std::sync::atomic::Ordering::SeqCst)
            })
            .await
            .map(|_| ())
        });
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        assert!(waited.load(std::sync::atomic::Ordering::SeqCst));
        assert!(!second.is_finished());
        drop(held);
        second.await.unwrap().unwrap();
        // An id with path characters names no other file (dots stay, slashes never do).
        let odd = Key {
            instance_id: "../../etc/passwd".into(),
            ..key("x")
        };
        a.lock_instance(&odd, || {}).await.unwrap();
        assert!(
            dir.path()
                .join("locks/123456789012_us-east-1_.._.._etc_passwd.lock")
                .exists()
        );
    }

    #[test]
    fn a_second_begin_never_overwrites_the_originals_of_an_open_quarantine() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        // Console and headless raced: the console recorded the real groups and moved the
        // interface; the headless run then saw it on watchfloor's group and recorded nothing for
        // it, but a new interface.
        let (mut a, _) = Journal::open(&p).unwrap();
        let (mut b, _) = Journal::open(&p).unwrap();
        a.append(&key("i-1"), "IR-1", begin(&[("eni-1", &["sg-real"])]))
            .unwrap();
        b.append(&key("i-1"), "IR-2", begin(&[("eni-2", &["sg-new"])]))
            .unwrap();
        let (j, _) = Journal::open(&p).unwrap();
        let q = j.get(&key("i-1")).unwrap();
        assert_eq!(q.case, "IR-1");
        assert_eq!(q.enis["eni-1"], vec!["sg-real".to_string()]);
        assert_eq!(q.enis["eni-2"], vec!["sg-new".to_string()]);
    }
}
