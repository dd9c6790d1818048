//! What the instance looks like right now (`Facts`, its volumes) and the tag mirror of its
//! original groups (`original_tags`, read back by `Facts::originals`).

use std::collections::BTreeMap;

use super::{TAG_ASG, TAG_AT, TAG_ORIGINAL, TAG_STATE};
use crate::model::InstanceState;

/// One attached EBS volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// Device name (`/dev/xvda`).
    pub device: String,
    /// `vol-...`
    pub volume_id: String,
    /// DeleteOnTermination.
    pub delete_on_termination: Option<bool>,
}

/// What DescribeInstances (and attributes) say about the instance right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Lifecycle state.
    pub state: Option<InstanceState>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Attached ENIs with their groups, primary first.
    pub enis: Vec<(String, Vec<String>)>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// DisableApiStop.
    pub stop_protection: Option<bool>,
    /// DisableApiTermination.
    pub termination_protection: Option<bool>,
    /// InstanceInitiatedShutdownBehavior (`stop` / `terminate`).
    pub shutdown_behavior: Option<String>,
    /// Attached EBS volumes.
    pub volumes: Vec<Volume>,
}

impl Facts {
    /// Original groups per ENI as the instance tags claim them (a hint: anyone who can write
    /// tags can forge these).
    pub fn originals(&self) -> BTreeMap<String, Vec<String>> {
        // `...:eni-1` holds the first chunk, `...:eni-1:1`, `:2` the rest (see original_tags).
        let mut chunks: BTreeMap<String, BTreeMap<u32, &str>> = BTreeMap::new();
        for (k, v) in &self.tags {
            if let Some(rest) = k.strip_prefix(TAG_ORIGINAL) {
                let (eni, n) = match rest.split_once(':') {
                    Some((eni, n)) => (eni, n.parse().unwrap_or(u32::MAX)),
                    None => (rest, 0),
                };
                chunks.entry(eni.to_string()).or_default().insert(n, v);
            }
        }
        chunks
            .into_iter()
            .map(|(eni, parts)| {
                let groups = parts
                    .values()
                    .flat_map(|v| v.split(','))
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                (eni, groups)
            })
            .collect()
    }

    /// Keys of every tag mirroring `eni`'s original groups.
    pub fn original_keys(&self, eni: &str) -> Vec<String> {
        let first = format!("{TAG_ORIGINAL}{eni}");
        let more = format!("{first}:");
        self.tags
            .keys()
            .filter(|k| **k == first || k.starts_with(&more))
            .cloned()
            .collect()
    }

    /// DeleteOnTermination of the volume attached at `device`, if known.
    pub fn delete_on_termination(&self, device: &str) -> Option<bool> {
        self.volumes
            .iter()
            .find(|v| v.device == device)
            .and_then(|v| v.delete_on_termination)
    }

    /// Every tag key of the quarantine mirror on this instance.
    pub fn mirror_keys(&self) -> Vec<String> {
        self.tags
            .keys()
            .filter(|k| {
                k.starts_with(TAG_ORIGINAL) || [TAG_STATE, TAG_AT, TAG_ASG].contains(&k.as_str())
            })
            .cloned()
            .collect()
    }
}

/// Tags recording one ENI's original groups, split so no value exceeds what AWS accepts
/// (256 characters): `...:eni` holds the first chunk, `...:eni:1`, `...:eni:2` the rest.
pub fn original_tags(eni: &str, groups: &[String]) -> Vec<(String, String)> {
    const MAX: usize = 255;
    let mut chunks: Vec<String> = vec![String::new()];
    for g in groups {
        let last = chunks.last().map_or(0, String::len);
        if last > 0 && last + 1 + g.len() > MAX {
            chunks.push(String::new());
        }
        let c = chunks.last_mut().expect("at least one chunk");
        if !c.is_empty() {
            c.push(',');
        }
        c.push_str(g);
    }
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let key = if i == 0 {
                format!("{TAG_ORIGINAL}{eni}")
            } else {
                format!("{TAG_ORIGINAL}{eni}:{i}")
            };
            (key, c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_groups_split_across_tags_and_read_back() {
        let groups: Vec<String> = (0..16).map(|i| format!("sg-{i:017x}")).collect();
        let tags = original_tags("eni-1", &groups);
        assert!(tags.len() >= 2, "16 groups do not fit one 256-char value");
        assert!(tags.iter().all(|(_, v)| v.len() <= 255));
        assert_eq!(tags[0].0, "watchfloor:original-groups:eni-1");
        assert_eq!(tags[1].0, "watchfloor:original-groups:eni-1:1");
        let mut f = Facts::default();
        f.tags.extend(tags.clone());
        f.tags.extend(original_tags("eni-2", &["sg-a".to_string()]));
        let o = f.originals();
        assert_eq!(o["eni-1"], groups);
        assert_eq!(o["eni-2"], vec!["sg-a".to_string()]);
        assert_eq!(f.original_keys("eni-1").len(), tags.len());
        // An ENI with no group at all is recorded too (an empty value).
        assert_eq!(
            original_tags("eni-3", &[]),
            vec![(
                "watchfloor:original-groups:eni-3".to_string(),
                String::new()
            )]
        );
    }
}
