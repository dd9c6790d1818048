//! AMIs and who owns them: an image owned by neither the account, Amazon nor the Marketplace is
//! `foreign-ami`; one that can no longer be described is `unknown-ami`.

use serde::Serialize;

use super::flags::Flag;

/// An AMI as DescribeImages reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Image {
    /// `ami-...`
    pub image_id: String,
    /// Account that owns it.
    pub owner_id: String,
    /// `amazon` or `aws-marketplace` for AWS's own and Marketplace images.
    pub owner_alias: Option<String>,
    /// Image name.
    pub name: String,
}

/// Owner aliases AWS gives its own and the Marketplace's images.
pub const TRUSTED_ALIASES: [&str; 2] = ["amazon", "aws-marketplace"];

/// The image flag of an instance of `account_id` launched from an image that was described as
/// `described` (None: not described yet; Some(None): DescribeImages does not know it).
pub fn image_flag(described: Option<&Option<Image>>, account_id: &str) -> Option<Flag> {
    match described? {
        None => Some(Flag::UnknownAmi),
        Some(img) => {
            let trusted = img
                .owner_alias
                .as_deref()
                .is_some_and(|a| TRUSTED_ALIASES.contains(&a));
            (!trusted && img.owner_id != account_id).then_some(Flag::ForeignAmi)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(owner: &str, alias: Option<&str>) -> Option<Image> {
        Some(Image {
            image_id: "ami-1".into(),
            owner_id: owner.into(),
            owner_alias: alias.map(str::to_string),
            name: "n".into(),
        })
    }

    #[test]
    fn own_amazon_and_marketplace_images_are_not_foreign() {
        let me = "111111111111";
        assert_eq!(image_flag(Some(&img(me, None)), me), None);
        assert_eq!(
            image_flag(Some(&img("801119661308", Some("amazon"))), me),
            None
        );
        assert_eq!(
            image_flag(Some(&img("679593333241", Some("aws-marketplace"))), me),
            None
        );
        assert_eq!(
            image_flag(Some(&img("777788889999", None)), me),
            Some(Flag::ForeignAmi)
        );
        // An alias an attacker's account cannot have is still only these two.
        assert_eq!(
            image_flag(Some(&img("777788889999", Some("self"))), me),
            Some(Flag::ForeignAmi)
        );
        assert_eq!(image_flag(Some(&None), me), Some(Flag::UnknownAmi));
        assert_eq!(image_flag(None, me), None, "not described yet: no guess");
    }
}
