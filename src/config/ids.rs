//! AWS identifiers in the config: region codes and their partitions, role ARNs, MFA serials,
//! endpoint URLs, examiner CIDRs, and suggestions for near-miss region codes.

use std::net::IpAddr;

/// AWS partitions accepted in ARNs.
pub const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

/// Direction words of region codes (`us-EAST-1`).
const DIRECTIONS: [&str; 9] = [
    "east",
    "west",
    "north",
    "south",
    "central",
    "northeast",
    "southeast",
    "northwest",
    "southwest",
];

/// What a role ARN looks like, for error messages.
const ROLE_ARN_FORM: &str = "expected arn:PARTITION:iam::ACCOUNT_ID(12 digits):role/NAME";
/// What an `mfa_serial` looks like, for error messages.
const MFA_FORM: &str =
    "expected arn:PARTITION:iam::ACCOUNT_ID:mfa/NAME or a hardware token serial like GAHT12345678";
/// What a region code looks like, for error messages.
const REGION_FORM: &str = "expected a region code like us-east-1, eu-central-2 or us-gov-west-1";

/// True for region codes shaped like `us-east-1`, `us-gov-west-1`, `ap-southeast-4`: two
/// letters, optional `-gov`, a direction word, a number 1-99.
pub fn is_valid_region(s: &str) -> bool {
    let mut parts = s.split('-');
    let cc = parts.next().unwrap_or_default();
    if cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_lowercase()) {
        return false;
    }
    let mut dir = parts.next();
    if dir == Some("gov") {
        dir = parts.next();
    }
    let (Some(dir), Some(num), None) = (dir, parts.next(), parts.next()) else {
        return false;
    };
    DIRECTIONS.contains(&dir)
        && (1..=2).contains(&num.len())
        && num.bytes().all(|b| b.is_ascii_digit())
        && !num.starts_with('0')
}

/// The partition a (valid) region code belongs to: `aws-cn`, `aws-us-gov` or `aws`.
pub fn region_partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.contains("-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Splits a role ARN into (partition, account id, role name without path); the error is a
/// complete message saying what is wrong and what is expected.
pub fn parse_role_arn(s: &str) -> Result<(String, String, String), String> {
    let fail = |why: String| format!("bad role ARN `{s}`: {why}; {ROLE_ARN_FORM}");
    let (partition, account, resource) = split_iam_arn(s).map_err(fail)?;
    let Some(rest) = resource.strip_prefix("role/") else {
        return Err(fail(format!(
            "resource `{resource}` does not start with `role/`"
        )));
    };
    let (path, name) = rest.rsplit_once('/').unwrap_or(("", rest));
    if !(1..=64).contains(&name.len()) || !name.chars().all(is_iam_name_char) {
        return Err(fail(format!(
            "role name `{name}` is not 1-64 characters of letters, digits and _+=,.@-"
        )));
    }
    let path_ok = |seg: &str| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_graphic());
    if !path.is_empty() && !path.split('/').all(path_ok) {
        return Err(fail(format!("bad role path `/{path}/`")));
    }
    Ok((partition.to_string(), account.to_string(), name.to_string()))
}

/// Checks the common part of IAM ARNs: `arn:PARTITION:iam::ACCOUNT_ID:RESOURCE`.
fn split_iam_arn(s: &str) -> Result<(&str, &str, &str), String> {
    let fields: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = fields[..] else {
        return Err("not an ARN (six `:`-separated fields)".to_string());
    };
    if arn != "arn" {
        return Err("does not start with `arn:`".to_string());
    }
    if !PARTITIONS.contains(&partition) {
        return Err(format!(
            "unknown partition `{partition}` (aws, aws-cn or aws-us-gov)"
        ));
    }
    if service == "sts" {
        return Err("that is an STS session ARN, not the IAM role or device".to_string());
    }
    if service != "iam" {
        return Err(format!("service is `{service}`, not `iam`"));
    }
    if !region.is_empty() {
        return Err(format!("IAM ARNs have no region, found `{region}`"));
    }
    if !is_account_id(account) {
        return Err(format!("account id `{account}` is not 12 digits"));
    }
    Ok((partition, account, resource))
}

/// A 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An Organizations OU id: `ou-` + 4-32 root characters + `-` + 8-32 characters, lower case.
pub(super) fn is_ou_id(s: &str) -> bool {
    let part = |p: &str, lo: usize| {
        (lo..=32).contains(&p.len())
            && p.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    };
    s.strip_prefix("ou-")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(root, ou)| part(root, 4) && part(ou, 8))
}

/// `[\w+=,.@-]`: characters of IAM names and role session names.
pub(super) fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// Checks an `mfa_serial`; returns the partition when it is an ARN.
pub(super) fn check_mfa_serial(s: &str) -> Result<Option<&str>, String> {
    if s.starts_with("arn:") {
        let fail = |why: String| format!("bad mfa_serial `{s}`: {why}; {MFA_FORM}");
        let (partition, _, resource) = split_iam_arn(s).map_err(fail)?;
        let ok = resource.strip_prefix("mfa/").is_some_and(|name| {
            !name.is_empty()
                && !name.ends_with('/')
                && name.chars().all(|c| c == '/' || is_iam_name_char(c))
        });
        if !ok {
            return Err(fail(format!("resource `{resource}` is not `mfa/NAME`")));
        }
        return Ok(Some(partition));
    }
    let serial_char = |c: char| is_iam_name_char(c) || c == '/' || c == ':';
    if (9..=256).contains(&s.len()) && s.chars().all(serial_char) {
        Ok(None)
    } else {
        Err(format!("bad mfa_serial `{s}`: {MFA_FORM}"))
    }
}

/// Checks `http(s)://HOST[:PORT][/PATH]`.
pub(super) fn check_endpoint_url(s: &str) -> Result<(), &'static str> {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .ok_or("the scheme must be http:// or https://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err("user:password@ does not belong in a URL here");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (ip, after) = v6.split_once(']').ok_or("unclosed `[` in the host")?;
        ip.parse::<std::net::Ipv6Addr>()
            .map_err(|_| "bad IPv6 address in the host")?;
        (ip, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let host_char = |c: char| c.is_ascii_alphanumeric() || ".-_:".contains(c);
    if host.is_empty() || !host.chars().all(host_char) {
        return Err("the host is missing or has characters other than letters, digits and .-_");
    }
    if port.is_some_and(|p| p.parse::<u16>().map_or(true, |p| p == 0)) {
        return Err("the port is not a number 1-65535");
    }
    if path.contains(|c: char| c.is_whitespace() || c.is_control() || c == '#' || c == '?') {
        return Err("the path has spaces, `?` or `#`");
    }
    Ok(())
}

/// Checks an IPv4 or IPv6 CIDR meant for one examiner.
pub(super) fn check_cidr(s: &str) -> Result<(), String> {
    let expected = "expected an IPv4 or IPv6 CIDR like 203.0.113.7/32 or 2001:db8::7/128";
    let bad = || format!("bad examiner_cidr `{s}`: {expected}");
    let (addr, len) = s.split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let len: u32 = len.parse().map_err(|_| bad())?;
    let (bits, max) = match addr {
        IpAddr::V4(a) => (u128::from(a.to_bits()) << 96, 32),
        IpAddr::V6(a) => (a.to_bits(), 128),
    };
    if len > max {
        return Err(bad());
    }
    if len == 0 {
        return Err(format!(
            "examiner_cidr `{s}` would open SSH on quarantined instances to the whole internet: \
             expected the examiner's own address, e.g. 203.0.113.7/32"
        ));
    }
    // IPv4 addresses sit in the top 32 bits, so the prefix always counts from bit 127.
    let keep = u128::MAX << (128 - len);
    if bits & !keep != 0 {
        let net = bits & keep;
        let net: IpAddr = match addr {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::from_bits((net >> 96) as u32)),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from_bits(net)),
        };
        return Err(format!(
            "examiner_cidr `{s}` has host bits set: expected {net}/{len}, or {addr}/{max} for one host"
        ));
    }
    Ok(())
}

/// Closest valid-looking region code for a near miss (`US_EAST1`, `eu-centrl-1`, `us-east-1a`).
fn suggest_region(s: &str) -> Option<String> {
    let compact: String = s
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let cc = compact.get(..2)?;
    if !cc.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let rest = &compact[2..];
    let (gov, rest) = rest.strip_prefix("gov").map_or(("", rest), |r| ("-gov", r));
    let (word, tail) = rest.split_at(rest.find(|c: char| c.is_ascii_digit())?);
    let num: String = tail.chars().take_while(char::is_ascii_digit).collect();
    let dir = DIRECTIONS.iter().min_by_key(|d| edit_distance(d, word))?;
    let candidate = format!("{cc}{gov}-{dir}-{num}");
    (edit_distance(dir, word) <= 2 && is_valid_region(&candidate) && candidate != s)
        .then_some(candidate)
}

/// Levenshtein distance between two ASCII words.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut cur = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The message for a bad region code, with a suggestion when one is close.
pub(super) fn bad_region(s: &str) -> String {
    let hint = suggest_region(s).map(|c| format!(" (did you mean `{c}`?)"));
    format!(
        "bad region `{s}`: {REGION_FORM}{}",
        hint.unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{check, err};
    use super::*;

    #[test]
    fn bad_role_arns() {
        let form = "expected arn:PARTITION:iam::ACCOUNT_ID(12 digits):role/NAME";
        let cases = [
            ("arn:aws:iam::12:role/x", "account id `12` is not 12 digits"),
            (
                "arn:aws:iam::12345678901a:role/x",
                "account id `12345678901a` is not 12 digits",
            ),
            (
                "arn:azure:iam::123456789012:role/x",
                "unknown partition `azure` (aws, aws-cn or aws-us-gov)",
            ),
            (
                "arn:aws:iam::123456789012:user/x",
                "resource `user/x` does not start with `role/`",
            ),
            (
                "arn:aws:iam::123456789012:role/",
                "role name `` is not 1-64 characters of letters, digits and _+=,.@-",
            ),
            (
                "arn:aws:iam::123456789012:role/a b",
                "role name `a b` is not 1-64 characters of letters, digits and _+=,.@-",
            ),
            (
                "arn:aws:iam::123456789012:role/ops//x",
                "bad role path `/ops//`",
            ),
            (
                "arn:aws:iam:us-east-1:123456789012:role/x",
                "IAM ARNs have no region, found `us-east-1`",
            ),
            (
                "arn:aws:s3::123456789012:role/x",
                "service is `s3`, not `iam`",
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/x/s",
                "that is an STS session ARN, not the IAM role or device",
            ),
            ("role/x", "not an ARN (six `:`-separated fields)"),
            (
                "ARN:aws:iam::123456789012:role/x",
                "does not start with `arn:`",
            ),
        ];
        for (arn, why) in cases {
            let want = format!("bad role ARN `{arn}`: {why}; {form}");
            assert_eq!(parse_role_arn(arn), Err(want.clone()));
            let src = format!("[[account]]\nalias = \"a\"\nrole_arn = \"{arn}\"\n");
            assert_eq!(err(&src), format!("config.toml:3:12: {want}"));
        }
    }

    #[test]
    fn good_role_arns() {
        let cases = [
            (
                "arn:aws:iam::123456789012:role/r",
                ("aws", "123456789012", "r"),
            ),
            (
                "arn:aws-cn:iam::123456789012:role/ops/team/Read+Only",
                ("aws-cn", "123456789012", "Read+Only"),
            ),
            (
                "arn:aws-us-gov:iam::000000000000:role/a=b,c.d@e-f_g",
                ("aws-us-gov", "000000000000", "a=b,c.d@e-f_g"),
            ),
        ];
        for (arn, (p, a, n)) in cases {
            assert_eq!(
                parse_role_arn(arn),
                Ok((p.to_string(), a.to_string(), n.to_string())),
                "{arn}"
            );
        }
    }

    #[test]
    fn region_codes() {
        for r in [
            "us-east-1",
            "eu-central-2",
            "ap-southeast-4",
            "us-gov-west-1",
            "cn-north-1",
            "il-central-1",
            "mx-central-1",
            "ap-northeast-3",
            "ca-west-1",
            "sa-east-1",
            "af-south-1",
            "me-south-1",
        ] {
            assert!(is_valid_region(r), "{r}");
        }
        for r in [
            "",
            "us-east",
            "us-east-1a",
            "US-EAST-1",
            "us_east_1",
            "use-east-1",
            "us-up-1",
            "us-east-01",
            "us-east-100",
            "us-gov-1",
            "us-east-1-1",
            "u1-east-1",
            "us-east-0",
        ] {
            assert!(!is_valid_region(r), "{r}");
        }
        assert_eq!(region_partition("cn-northwest-1"), "aws-cn");
        assert_eq!(region_partition("us-gov-east-1"), "aws-us-gov");
        assert_eq!(region_partition("eu-west-1"), "aws");
    }

    #[test]
    fn region_suggestions() {
        let cases = [
            ("us-east1", Some("us-east-1")),
            ("US_EAST_1", Some("us-east-1")),
            ("eu-centrl-1", Some("eu-central-1")),
            ("us-east-1a", Some("us-east-1")),
            ("usgovwest1", Some("us-gov-west-1")),
            ("ap-south-east-2", Some("ap-southeast-2")),
            ("us-east", None),
            ("virginia", None),
            ("us-east-1", None),
        ];
        for (input, want) in cases {
            assert_eq!(suggest_region(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn endpoint_urls() {
        let acct = "[[account]]\nalias = \"a\"\nregions = [\"us-east-1\"]\n";
        let form = "expected http(s)://HOST[:PORT][/PATH], e.g. http://127.0.0.1:5000";
        let bad = [
            ("ftp://x", "the scheme must be http:// or https://"),
            ("127.0.0.1:5000", "the scheme must be http:// or https://"),
            (
                "http://",
                "the host is missing or has characters other than letters, digits and .-_",
            ),
            (
                "http://:5000",
                "the host is missing or has characters other than letters, digits and .-_",
            ),
            (
                "http://local host",
                "the host is missing or has characters other than letters, digits and .-_",
            ),
            ("http://localhost:0", "the port is not a number 1-65535"),
            ("http://localhost:99999", "the port is not a number 1-65535"),
            ("http://localhost:", "the port is not a number 1-65535"),
            ("http://a:b:1", "the port is not a number 1-65535"),
            ("http://[::1", "unclosed `[` in the host"),
            ("http://[zz]:80", "bad IPv6 address in the host"),
            (
                "http://user:pw@host",
                "user:password@ does not belong in a URL here",
            ),
            ("http://host/a b", "the path has spaces, `?` or `#`"),
        ];
        for (url, why) in bad {
            let src = format!("{acct}endpoint_url = \"{url}\"\n");
            assert_eq!(
                err(&src),
                format!("config.toml:4:16: bad endpoint_url `{url}`: {why}; {form}")
            );
        }
        for url in [
            "http://127.0.0.1:5000",
            "https://moto.internal",
            "http://[::1]:4566/",
            "http://localhost:4566/aws",
        ] {
            assert_eq!(check_endpoint_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn examiner_cidrs() {
        check(&[
            (
                "[settings]\nexaminer_cidr = \"203.0.113.7\"\n",
                "config.toml:2:17: bad examiner_cidr `203.0.113.7`: expected an IPv4 or IPv6 CIDR \
                 like 203.0.113.7/32 or 2001:db8::7/128",
            ),
            (
                "[settings]\nexaminer_cidr = \"0.0.0.0/0\"\n",
                "config.toml:2:17: examiner_cidr `0.0.0.0/0` would open SSH on quarantined instances \
                 to the whole internet: expected the examiner's own address, e.g. 203.0.113.7/32",
            ),
            (
                "[settings]\nexaminer_cidr = \"10.1.2.3/16\"\n",
                "config.toml:2:17: examiner_cidr `10.1.2.3/16` has host bits set: expected \
                 10.1.0.0/16, or 10.1.2.3/32 for one host",
            ),
        ]);
        for ok in [
            "203.0.113.7/32",
            "10.0.0.0/8",
            "2001:db8::7/128",
            "2001:db8::/32",
            "198.51.100.0/24",
        ] {
            assert_eq!(check_cidr(ok), Ok(()), "{ok}");
        }
        for bad in [
            "10.0.0.0/33",
            "::1/129",
            "10.0.0.0/+8",
            "10.0.0.0/",
            "/8",
            "x/8",
        ] {
            assert!(
                check_cidr(bad)
                    .unwrap_err()
                    .starts_with("bad examiner_cidr"),
                "{bad}"
            );
        }
        assert_eq!(
            check_cidr("2001:db8::7/64").unwrap_err(),
            "examiner_cidr `2001:db8::7/64` has host bits set: expected 2001:db8::/64, or 2001:db8::7/128 for one host"
        );
    }
}
