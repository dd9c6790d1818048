//! Internet exposure: the union of world-open inbound rules over every security group of every ENI.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::{NetworkInterface, SecurityGroup, group_ids};

/// Protocol of an open port range, as written to snapshots.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// IpProtocol `-1`: every protocol, every port.
    All,
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// ICMP (1) or ICMPv6 (58); ports carry type/code.
    Icmp,
    /// Any other IP protocol number: all of its traffic is allowed.
    #[serde(untagged)]
    Other(String),
}

impl Protocol {
    /// Maps an EC2 IpProtocol value (name or number) to a protocol.
    pub fn parse(p: &str) -> Self {
        match p.trim().to_ascii_lowercase().as_str() {
            "-1" | "all" => Self::All,
            "tcp" | "6" => Self::Tcp,
            "udp" | "17" => Self::Udp,
            "icmp" | "1" | "icmpv6" | "58" => Self::Icmp,
            other => Self::Other(other.to_string()),
        }
    }

    fn has_ports(&self) -> bool {
        matches!(self, Self::Tcp | Self::Udp)
    }
}

/// One port range open to the internet (0.0.0.0/0 or ::/0), with the world sources that open it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenPort {
    /// Protocol.
    pub protocol: Protocol,
    /// First port (ICMP type, -1 = any); None for `all` and other protocols.
    pub from_port: Option<i32>,
    /// Last port (ICMP code, -1 = any); None for `all` and other protocols.
    pub to_port: Option<i32>,
    /// `0.0.0.0/0` and/or `::/0`.
    pub sources: Vec<String>,
    /// Security groups whose rules open it.
    #[serde(skip)]
    pub group_ids: Vec<String>,
}

impl OpenPort {
    /// True when this range includes `port` for the given protocol (or everything).
    pub fn covers_tcp(&self, port: i32) -> bool {
        match self.protocol {
            Protocol::All => true,
            Protocol::Tcp => {
                self.from_port.unwrap_or(0) <= port && port <= self.to_port.unwrap_or(65535)
            }
            _ => false,
        }
    }

    /// Short label: `22`, `8000-8100`, `53/udp`, `icmp`, `all`, `proto-50`.
    pub fn label(&self) -> String {
        let range = || match (self.from_port, self.to_port) {
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a}-{b}"),
            _ => "0-65535".to_string(),
        };
        match &self.protocol {
            Protocol::All => "all".into(),
            Protocol::Tcp => range(),
            Protocol::Udp => format!("{}/udp", range()),
            Protocol::Icmp => "icmp".into(),
            Protocol::Other(p) => format!("proto-{p}"),
        }
    }
}

/// The internet exposure of one instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Exposure {
    /// World-open port ranges, `all` first, then TCP, UDP, ICMP, other; ascending ports.
    pub ports: Vec<OpenPort>,
    /// Groups attached to an ENI but absent from the security group data (exposure unknown).
    pub missing_groups: Vec<String>,
}

impl Exposure {
    /// True when any protocol and port is open to the world.
    pub fn all_open(&self) -> bool {
        self.ports.iter().any(|p| p.protocol == Protocol::All)
    }

    /// The part of the exposure that reaches an instance or task through `interfaces`: each
    /// range keeps only the world sources of an address family it has on the internet
    /// (0.0.0.0/0 needs a public IPv4 address, ::/0 an IPv6 address); ranges left with no
    /// source are dropped.
    pub fn reachable_part(&self, interfaces: &[NetworkInterface]) -> Exposure {
        let v4 = interfaces.iter().any(|n| n.public_ip.is_some());
        let v6 = interfaces.iter().any(|n| !n.ipv6.is_empty());
        let ports = self
            .ports
            .iter()
            .filter_map(|p| {
                let sources: Vec<String> = p
                    .sources
                    .iter()
                    .filter(|s| if s.contains(':') { v6 } else { v4 })
                    .cloned()
                    .collect();
                (!sources.is_empty()).then(|| OpenPort {
                    sources,
                    ..p.clone()
                })
            })
            .collect();
        Exposure {
            ports,
            missing_groups: Vec::new(),
        }
    }

    /// True when some world-open range reaches through `interfaces` (see
    /// [`Exposure::reachable_part`]).
    pub fn reachable_on(&self, interfaces: &[NetworkInterface]) -> bool {
        !self.reachable_part(interfaces).is_empty()
    }

    /// True when nothing is open to the world.
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }

    /// Compact label for the fleet table: `all`, `22,3389`, `-` when closed, `?` suffix when unknown.
    pub fn label(&self) -> String {
        let mut s = if self.all_open() {
            "all".to_string()
        } else if self.ports.is_empty() {
            String::new()
        } else {
            let mut labels: Vec<String> = Vec::new();
            for l in self.ports.iter().map(OpenPort::label) {
                if !labels.contains(&l) {
                    labels.push(l);
                }
            }
            labels.join(",")
        };
        if !self.missing_groups.is_empty() {
            s.push('?');
        }
        if s.is_empty() { "-".into() } else { s }
    }
}

/// Computes the world-open ports of an instance or task from the groups of all its
/// `interfaces`.
///
/// Only sources 0.0.0.0/0 and ::/0 count. Group-to-group, private or narrower CIDRs and
/// prefix lists are not internet exposure (a prefix list is named in the detail view, not guessed).
pub fn exposure_of<S: std::hash::BuildHasher>(
    interfaces: &[NetworkInterface],
    groups: &HashMap<String, SecurityGroup, S>,
) -> Exposure {
    // (protocol, from, to) -> (sources, groups)
    type Key = (Protocol, Option<i32>, Option<i32>);
    let mut open: BTreeMap<Key, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    let mut missing = Vec::new();
    for gid in group_ids(interfaces) {
        let Some(group) = groups.get(gid) else {
            missing.push(gid.to_string());
            continue;
        };
        for rule in group.ingress.iter().filter(|r| r.source.is_world()) {
            let protocol = Protocol::parse(&rule.protocol);
            let (from, to) = match protocol {
                Protocol::Tcp | Protocol::Udp => {
                    let from = rule.from_port.filter(|p| *p >= 0).unwrap_or(0);
                    let to = rule.to_port.filter(|p| *p >= 0).unwrap_or(65535);
                    (Some(from.min(to)), Some(to.max(from)))
                }
                Protocol::Icmp => (rule.from_port, rule.to_port),
                Protocol::All | Protocol::Other(_) => (None, None),
            };
            let e = open.entry((protocol, from, to)).or_default();
            e.0.insert(rule.source.label().trim().to_string());
            e.1.insert(group.group_id.clone());
        }
    }
    let mut ports: Vec<OpenPort> = open
        .into_iter()
        .map(
            |((protocol, from_port, to_port), (sources, gids))| OpenPort {
                protocol,
                from_port,
                to_port,
                sources: sources.into_iter().collect(),
                group_ids: gids.into_iter().collect(),
            },
        )
        .collect();
    // Fold ranges fully covered by a wider range of the same protocol into it (keeps the label
    // honest), carrying their sources and groups over.
    let covers = |q: &OpenPort, p: &OpenPort| {
        p.protocol.has_ports()
            && q.protocol == p.protocol
            && q.from_port <= p.from_port
            && q.to_port >= p.to_port
            && !(q.from_port == p.from_port && q.to_port == p.to_port)
    };
    let snapshot = ports.clone();
    let folded: Vec<bool> = snapshot
        .iter()
        .map(|p| snapshot.iter().any(|q| covers(q, p)))
        .collect();
    for p in snapshot
        .iter()
        .zip(&folded)
        .filter(|(_, f)| **f)
        .map(|(p, _)| p)
    {
        if let Some(wide) = ports
            .iter_mut()
            .find(|q| covers(q, p) && !snapshot.iter().any(|r| covers(r, q)))
        {
            for s in &p.sources {
                if !wide.sources.contains(s) {
                    wide.sources.push(s.clone());
                }
            }
            for g in &p.group_ids {
                if !wide.group_ids.contains(g) {
                    wide.group_ids.push(g.clone());
                }
            }
            wide.sources.sort();
            wide.group_ids.sort();
        }
    }
    let mut k = 0;
    ports.retain(|_| {
        k += 1;
        !folded[k - 1]
    });
    Exposure {
        ports,
        missing_groups: missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IngressRule, Instance, InstanceState, NetworkInterface, RuleSource};

    fn rule(proto: &str, from: Option<i32>, to: Option<i32>, src: RuleSource) -> IngressRule {
        IngressRule {
            protocol: proto.into(),
            from_port: from,
            to_port: to,
            source: src,
        }
    }
    fn v4(c: &str) -> RuleSource {
        RuleSource::Cidr4(c.into())
    }
    fn v6(c: &str) -> RuleSource {
        RuleSource::Cidr6(c.into())
    }
    fn sg(id: &str, rules: Vec<IngressRule>) -> SecurityGroup {
        SecurityGroup {
            group_id: id.into(),
            name: id.into(),
            vpc_id: None,
            ingress: rules,
        }
    }
    fn inst(enis: &[&[&str]]) -> Instance {
        Instance {
            instance_id: "i-1".into(),
            name: String::new(),
            instance_type: "t3.micro".into(),
            state: InstanceState::Running,
            launch_time: None,
            vpc_id: None,
            interfaces: enis
                .iter()
                .enumerate()
                .map(|(i, gs)| NetworkInterface {
                    eni_id: format!("eni-{i}"),
                    device_index: i as i32,
                    subnet_id: None,
                    private_ip: None,
                    public_ip: None,
                    ipv6: vec![],
                    group_ids: gs.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
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
        }
    }
    fn groups(gs: Vec<SecurityGroup>) -> HashMap<String, SecurityGroup> {
        gs.into_iter().map(|g| (g.group_id.clone(), g)).collect()
    }

    /// One case: (name, ENIs with group ids, groups, expected label).
    type Case<'a> = (&'a str, Vec<&'a [&'a str]>, Vec<SecurityGroup>, &'a str);

    #[test]
    fn exposure_table() {
        let cases: Vec<Case> = vec![
            (
                "ssh open to ipv4 world",
                vec![&["sg-a"]],
                vec![sg(
                    "sg-a",
                    vec![rule("tcp", Some(22), Some(22), v4("0.0.0.0/0"))],
                )],
                "22",
            ),
            (
                "protocol -1 from world is all",
                vec![&["sg-a"]],
                vec![sg("sg-a", vec![rule("-1", None, None, v4("0.0.0.0/0"))])],
                "all",
            ),
            (
                "protocol -1 with -1 ports from ipv6 world is all",
                vec![&["sg-a"]],
                vec![sg("sg-a", vec![rule("-1", Some(-1), Some(-1), v6("::/0"))])],
                "all",
            ),
            (
                "ipv6 world only counts",
                vec![&["sg-a"]],
                vec![sg(
                    "sg-a",
                    vec![rule("tcp", Some(3389), Some(3389), v6("::/0"))],
                )],
                "3389",
            ),
            (
                "port range",
                vec![&["sg-a"]],
                vec![sg(
                    "sg-a",
                    vec![rule("tcp", Some(8000), Some(8100), v4("0.0.0.0/0"))],
                )],
                "8000-8100",
            ),
            (
                "udp is suffixed, icmp named",
                vec![&["sg-a"]],
                vec![sg(
                    "sg-a",
                    vec![
                        rule("udp", Some(53), Some(53), v4("0.0.0.0/0")),
                        rule("icmp", Some(-1), Some(-1), v4("0.0.0.0/0")),
                    ],
                )],
                "53/udp,icmp",
            ),
            (
                "group-to-group and private sources are not exposure",
                vec![&["sg-a"]],
                vec![sg(
                    "sg-a",
                    vec![
                        rule("tcp", Some(22), Some(22), RuleSource::Group("sg-b".into())),
                        rule("tcp", Some(5432), Some(5432), v4("10.0.0.0/8")),
                        rule("-1", None, None, v4("172.16.0.0/12")),
                        rule("tcp", Some(443), Some(443), v6("2001:db8::/32")),
                        rule(
                            "tcp",
                            Some(80),
                            Some(80),
                            RuleSource::PrefixList("pl-123".into()),
                        ),
                    ],
                )],
                "-",
            ),
            (
                "a narrow public cidr is not the world",
                vec![&["sg-a"]],
                vec![sg(
                    "sg-a",
                    vec![rule("tcp", Some(22), Some(22), v4("203.0.113.0/24"))],
                )],
                "-",
            ),
            (
                "union across groups and ENIs, sorted",
                vec![&["sg-a", "sg-b"], &["sg-c"]],
                vec![
                    sg(
                        "sg-a",
                        vec![rule("tcp", Some(3389), Some(3389), v4("0.0.0.0/0"))],
                    ),
                    sg(
                        "sg-b",
                        vec![rule("tcp", Some(443), Some(443), v4("10.0.0.0/8"))],
                    ),
                    sg(
                        "sg-c",
                        vec![rule("tcp", Some(22), Some(22), v4("0.0.0.0/0"))],
                    ),
                ],
                "22,3389",
            ),
            (
                "same port from v4 and v6 merges sources",
                vec![&["sg-a"], &["sg-b"]],
                vec![
                    sg(
                        "sg-a",
                        vec![rule("tcp", Some(22), Some(22), v4("0.0.0.0/0"))],
                    ),
                    sg("sg-b", vec![rule("tcp", Some(22), Some(22), v6("::/0"))]),
                ],
                "22",
            ),
            (
                "ranges inside a wider range are folded",
                vec![&["sg-a"]],
                vec![sg(
                    "sg-a",
                    vec![
                        rule("tcp", Some(0), Some(65535), v4("0.0.0.0/0")),
                        rule("tcp", Some(22), Some(22), v4("0.0.0.0/0")),
                    ],
                )],
                "0-65535",
            ),
            (
                "tcp by number",
                vec![&["sg-a"]],
                vec![sg(
                    "sg-a",
                    vec![rule("6", Some(25), Some(25), v4("0.0.0.0/0"))],
                )],
                "25",
            ),
            (
                "other protocol number is all of that protocol",
                vec![&["sg-a"]],
                vec![sg("sg-a", vec![rule("50", None, None, v4("0.0.0.0/0"))])],
                "proto-50",
            ),
            ("unknown group is flagged", vec![&["sg-gone"]], vec![], "?"),
            (
                "group shared by two ENIs counted once",
                vec![&["sg-a"], &["sg-a"]],
                vec![sg(
                    "sg-a",
                    vec![rule("tcp", Some(22), Some(22), v4("0.0.0.0/0"))],
                )],
                "22",
            ),
        ];
        for (name, enis, gs, want) in cases {
            let e = exposure_of(&inst(&enis).interfaces, &groups(gs));
            assert_eq!(e.label(), want, "case: {name}");
        }
    }

    #[test]
    fn merged_sources_and_groups_are_kept() {
        let gs = groups(vec![
            sg(
                "sg-a",
                vec![rule("tcp", Some(22), Some(22), v4("0.0.0.0/0"))],
            ),
            sg("sg-b", vec![rule("tcp", Some(22), Some(22), v6("::/0"))]),
        ]);
        let e = exposure_of(&inst(&[&["sg-a"], &["sg-b"]]).interfaces, &gs);
        assert_eq!(e.ports.len(), 1);
        assert_eq!(e.ports[0].sources, vec!["0.0.0.0/0", "::/0"]);
        assert_eq!(e.ports[0].group_ids, vec!["sg-a", "sg-b"]);
        assert!(e.ports[0].covers_tcp(22));
        assert!(!e.ports[0].covers_tcp(23));
    }

    #[test]
    fn folded_ranges_keep_their_sources_and_icmp_is_named_once() {
        let gs = groups(vec![sg(
            "sg-a",
            vec![
                rule("tcp", Some(0), Some(1024), v4("0.0.0.0/0")),
                rule("tcp", Some(22), Some(22), v6("::/0")),
                rule("icmp", Some(8), Some(-1), v4("0.0.0.0/0")),
                rule("icmp", Some(0), Some(-1), v4("0.0.0.0/0")),
            ],
        )]);
        let e = exposure_of(&inst(&[&["sg-a"]]).interfaces, &gs);
        assert_eq!(e.label(), "0-1024,icmp");
        assert_eq!(e.ports[0].sources, vec!["0.0.0.0/0", "::/0"]);
    }

    #[test]
    fn reachability_follows_the_address_family() {
        let gs = groups(vec![sg(
            "sg-a",
            vec![rule("tcp", Some(22), Some(22), v4("0.0.0.0/0"))],
        )]);
        let mut i = inst(&[&["sg-a"]]);
        let e = exposure_of(&i.interfaces, &gs);
        assert!(!e.reachable_on(&i.interfaces), "no public address");
        i.interfaces[0].ipv6 = vec!["2001:db8::1".into()];
        assert!(
            !e.reachable_on(&i.interfaces),
            "IPv6 only: a 0.0.0.0/0 rule does not reach it"
        );
        i.interfaces[0].public_ip = Some("198.51.100.1".into());
        assert!(e.reachable_on(&i.interfaces));
    }

    #[test]
    fn reachability_is_per_range() {
        // SSH open only from ::/0, web from 0.0.0.0/0, on an IPv4-only public instance.
        let gs = groups(vec![sg(
            "sg-a",
            vec![
                rule("tcp", Some(22), Some(22), v6("::/0")),
                rule("tcp", Some(443), Some(443), v4("0.0.0.0/0")),
            ],
        )]);
        let mut i = inst(&[&["sg-a"]]);
        i.interfaces[0].public_ip = Some("198.51.100.1".into());
        let e = exposure_of(&i.interfaces, &gs);
        assert_eq!(e.label(), "22,443");
        assert_eq!(e.reachable_part(&i.interfaces).label(), "443");
    }

    #[test]
    fn tcp_without_ports_means_every_port() {
        let gs = groups(vec![sg(
            "sg-a",
            vec![rule("tcp", None, None, v4("0.0.0.0/0"))],
        )]);
        let e = exposure_of(&inst(&[&["sg-a"]]).interfaces, &gs);
        assert_eq!(e.label(), "0-65535");
        assert!(e.ports[0].covers_tcp(3389));
    }
}
