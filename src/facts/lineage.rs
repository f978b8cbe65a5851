//! An AMI's lineage: the chain of images back to its base, how each link is known, and what the base
//! is. Types and pure string work; `collect::trace` makes the calls that fill them.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::image::ImageFacts;
use super::os::{self, OsFamily};

/// Accounts that publish Amazon's own images, for images that carry no `amazon` owner alias.
const AMAZON_OWNERS: [&str; 5] = [
    "137112412989", // Amazon Linux
    "591542846629", // ECS-optimized
    "602401143452", // EKS-optimized
    "898082745236", // Deep Learning AMIs
    "801119661308", // Windows
];

/// Tags that Packer templates and image pipelines commonly use for the parent AMI's ID.
const PARENT_ID_TAGS: [&str; 8] = [
    "source_ami",
    "SourceAMI",
    "source_ami_id",
    "base_ami",
    "BaseAMI",
    "base_ami_id",
    "parent_ami",
    "ParentAMI",
];

/// … and for its name.
const PARENT_NAME_TAGS: [&str; 3] = ["source_ami_name", "base_ami_name", "SourceAMIName"];

/// How a link is known to be the parent of the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkSource {
    /// EC2 GetImageAncestry.
    Ancestry,
    /// The child image's SourceImageId (CopyImage, or CreateImage from an instance).
    SourceImageId,
    /// The instance the child was imaged from (SourceInstanceId, or named in the child's root snapshot
    /// description) was launched from this image.
    SourceInstance,
    /// The child's root snapshot description (`Copied for DestinationAmi … from SourceAmi …`).
    SnapshotDescription,
    /// A tag of the child (`source_ami`, `base_ami_name`, …).
    Tag,
    /// The child's name or description mentions it.
    Text,
}

impl fmt::Display for LinkSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkSource::Ancestry => "GetImageAncestry",
            LinkSource::SourceImageId => "SourceImageId",
            LinkSource::SourceInstance => "source instance",
            LinkSource::SnapshotDescription => "root snapshot description",
            LinkSource::Tag => "tag",
            LinkSource::Text => "name/description",
        })
    }
}

/// One image of the chain above an audited AMI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageLink {
    /// `None` when only the name is known (a tag or description naming the base).
    pub image_id: Option<String>,
    pub name: Option<String>,
    /// Set when the image lives in another region than the audit's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub owner_id: Option<String>,
    pub owner_alias: Option<String>,
    pub creation_date: Option<String>,
    pub source: LinkSource,
    /// Where exactly the link came from: `tag source_ami of ami-…`, …
    pub evidence: String,
    /// Why the image could not be described (deregistered, not shared, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_described: Option<String>,
    /// DescribeImages' answer for the image, when there was one.
    #[serde(skip)]
    pub facts: Option<Box<ImageFacts>>,
}

impl LineageLink {
    /// A link known by ID (and maybe described).
    pub fn to_image(
        image_id: &str,
        region: Option<String>,
        source: LinkSource,
        evidence: String,
    ) -> Self {
        LineageLink {
            image_id: Some(image_id.to_string()),
            region,
            ..LineageLink::unknown(source, evidence)
        }
    }

    /// A link known by name only (a tag or description naming the base).
    pub fn named(name: String, source: LinkSource, evidence: String) -> Self {
        LineageLink {
            name: Some(name),
            ..LineageLink::unknown(source, evidence)
        }
    }

    /// A link of which nothing is known yet but how it was found.
    fn unknown(source: LinkSource, evidence: String) -> Self {
        LineageLink {
            image_id: None,
            name: None,
            region: None,
            owner_id: None,
            owner_alias: None,
            creation_date: None,
            source,
            evidence,
            not_described: None,
            facts: None,
        }
    }

    /// Fill the link from DescribeImages' answer.
    pub fn describe(&mut self, image: &ImageFacts) {
        self.name = image.name.clone().or(self.name.take());
        self.owner_id = image.owner_id.clone().or(self.owner_id.take());
        self.owner_alias = image.owner_alias.clone().or(self.owner_alias.take());
        self.creation_date = image.creation_date.clone().or(self.creation_date.take());
        self.facts = Some(Box::new(image.clone()));
    }

    /// `ami-… (name)`, `name`, or `ami-…`.
    pub fn label(&self) -> String {
        match (&self.image_id, &self.name) {
            (Some(id), Some(name)) => format!("{id} ({name})"),
            (Some(id), None) => id.clone(),
            (None, Some(name)) => name.clone(),
            (None, None) => "(unknown)".to_string(),
        }
    }

    /// Whether the image is one of Amazon's own (owner alias `amazon`, or an Amazon publishing account).
    pub fn is_amazons(&self) -> Option<bool> {
        is_amazon_owned(self.owner_alias.as_deref(), self.owner_id.as_deref())
    }

    /// The creation date (YYYY-MM-DD) from the image, or from the date stamp in an Amazon Linux name.
    pub fn created_on(&self) -> Option<(String, &'static str)> {
        if let Some(date) = self.creation_date.as_deref().and_then(|d| d.get(..10)) {
            return Some((date.to_string(), "CreationDate"));
        }
        let name = self.name.as_deref()?;
        let stamp = date_stamp(version_token(name)?)?;
        Some((stamp, "the date stamp in its name"))
    }
}

/// Whether an owner is Amazon, as far as alias and account say; `None` when neither is known.
pub fn is_amazon_owned(alias: Option<&str>, owner: Option<&str>) -> Option<bool> {
    if alias == Some("amazon") || owner.is_some_and(|o| AMAZON_OWNERS.contains(&o)) {
        return Some(true);
    }
    if alias.is_none() && owner.is_none() {
        return None;
    }
    Some(false)
}

/// The instance an image in the chain was created from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceInstance {
    pub instance_id: String,
    /// The image created from it.
    pub image_id: String,
    /// The instance's tags, when it could be described.
    pub tags: Option<BTreeMap<String, String>>,
    /// Why the instance could not be described.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

impl SourceInstance {
    /// Tags EMR puts on its cluster nodes (`aws:elasticmapreduce:job-flow-id`, …).
    pub fn emr_tags(&self) -> Vec<(&str, &str)> {
        self.tags
            .iter()
            .flatten()
            .filter(|(k, _)| k.starts_with("aws:elasticmapreduce:"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// The newest Amazon image of a base's family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewestBase {
    pub image_id: String,
    pub name: String,
    pub creation_date: Option<String>,
}

/// What is known of an AMI's ancestry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Lineage {
    /// The images above the AMI, nearest first; the last is the base.
    pub chain: Vec<LineageLink>,
    /// Instances that images of the chain (the AMI included) were created from.
    pub source_instances: Vec<SourceInstance>,
    /// Evidence that was unavailable and what was used instead.
    pub notes: Vec<String>,
    /// The name pattern of the base's Amazon Linux family (`al2023-ami-*-kernel-6.1-x86_64`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The newest Amazon image of that family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_in_family: Option<NewestBase>,
    /// Why the family's images could not be looked up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_lookup_error: Option<String>,
}

impl Lineage {
    /// The end of the chain, when the chain has one.
    pub fn base(&self) -> Option<&LineageLink> {
        self.chain.last()
    }

    /// The base and what it is, when anything can be told: the nearest-to-root link that classifies.
    pub fn classified_base(&self) -> Option<(&LineageLink, BaseClass)> {
        self.chain
            .iter()
            .rev()
            .find_map(|link| classify(link).map(|class| (link, class)))
    }

    /// How the chain is known, for one-line displays: `GetImageAncestry`, `SourceImageId → tag`, …
    pub fn how(&self) -> String {
        let mut sources: Vec<String> = Vec::new();
        for link in &self.chain {
            let source = link.source.to_string();
            if sources.last() != Some(&source) {
                sources.push(source);
            }
        }
        sources.join(" → ")
    }
}

/// The base an audited AMI stands on: the end of its chain, or the AMI itself when it is one of
/// Amazon's own images (then it has no parent to find). `None` when the base was not traced.
pub fn base_of(lineage: Option<&Lineage>, image: &ImageFacts) -> Option<(LineageLink, bool)> {
    if let Some(base) = lineage.and_then(Lineage::base) {
        return Some((base.clone(), false));
    }
    if is_amazon_owned(image.owner_alias.as_deref(), image.owner_id.as_deref()) != Some(true) {
        return None;
    }
    let mut itself = LineageLink::to_image(
        &image.image_id,
        None,
        LinkSource::Ancestry,
        "the AMI is one of Amazon's own images".to_string(),
    );
    itself.describe(image);
    Some((itself, true))
}

/// The base in one line, for tables: `ami-… (name) · Amazon Linux 2023 (kernel 6.1) · via GetImageAncestry`.
pub fn summary(lineage: Option<&Lineage>, image: &ImageFacts) -> String {
    match base_of(lineage, image) {
        Some((_, true)) => "the AMI itself (one of Amazon's own images)".to_string(),
        Some((base, false)) => {
            let what = lineage
                .and_then(Lineage::classified_base)
                .map(|(_, class)| class.to_string())
                .unwrap_or_else(|| "OS unknown".to_string());
            let how = lineage.map(Lineage::how).unwrap_or_default();
            format!("{} · {what} · via {how}", base.label())
        }
        None => match lineage
            .map(|l| l.notes.join("; "))
            .filter(|n| !n.is_empty())
        {
            Some(notes) => format!("not traced: {notes}"),
            None => "not traced".to_string(),
        },
    }
}

/// What a base image is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseClass {
    pub family: OsFamily,
    /// An Amazon Linux variant that is not plain Amazon Linux: `ECS-optimized`, `EKS-optimized`, …
    pub derivative: Option<&'static str>,
    /// What the family was told from: `name 'al2023-ami-…'`.
    pub evidence: String,
}

impl BaseClass {
    pub fn is_plain_amazon_linux(&self) -> bool {
        self.derivative.is_none()
            && matches!(
                self.family,
                OsFamily::AmazonLinux1 | OsFamily::AmazonLinux2 | OsFamily::AmazonLinux2023 { .. }
            )
    }
}

impl fmt::Display for BaseClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.derivative {
            Some(derivative) => write!(f, "{derivative} {}", self.family),
            None => write!(f, "{}", self.family),
        }
    }
}

/// What a link's image is, from its name, description and platform.
pub fn classify(link: &LineageLink) -> Option<BaseClass> {
    let mut texts: Vec<(&str, &str)> = Vec::new();
    if let Some(name) = link.name.as_deref() {
        texts.push(("name", name));
    }
    if let Some(facts) = &link.facts {
        if let Some(description) = facts.description.as_deref() {
            texts.push(("description", description));
        }
        if facts.platform.as_deref() == Some("windows") {
            texts.push(("platform", "windows"));
        }
    }
    texts.iter().find_map(|(field, text)| {
        let family = os::family_with_kernel(text)?;
        Some(BaseClass {
            family,
            derivative: derivative_in(text),
            evidence: format!("{field} '{text}'"),
        })
    })
}

/// Amazon Linux variants built for another service.
fn derivative_in(text: &str) -> Option<&'static str> {
    let words = os::words(text);
    let has = |w: &str| words.iter().any(|x| x == w);
    if has("ecs") {
        Some("ECS-optimized")
    } else if has("eks") {
        Some("EKS-optimized")
    } else if has("dlami") || os::has_sequence(&words, &["deep", "learning"]) {
        Some("Deep Learning AMI")
    } else if has("sagemaker") {
        Some("SageMaker")
    } else {
        None
    }
}

/// The version token of an Amazon Linux image name: the `-`-separated token of digits and dots that
/// holds an 8-digit date (`2023.6.20241111.0`, `2.0.20241113.1`, `2018.03.0.20180811`).
pub fn version_token(name: &str) -> Option<&str> {
    name.split('-').find(|token| {
        token.contains('.')
            && token.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && date_stamp(token).is_some()
    })
}

/// `2023.6.20241111.0` → `2024-11-11`.
fn date_stamp(token: &str) -> Option<String> {
    token.split('.').find_map(|part| {
        let valid = part.len() == 8
            && part.bytes().all(|b| b.is_ascii_digit())
            && (part.starts_with("19") || part.starts_with("20"));
        valid.then(|| format!("{}-{}-{}", &part[..4], &part[4..6], &part[6..]))
    })
}

/// The DescribeImages name filter for a base's family: its name with the version replaced by `*`.
/// Only Amazon Linux names (`al2023-ami-`, `amzn2-ami-`, `amzn-ami-`) have one.
pub fn family_pattern(name: &str) -> Option<String> {
    if !is_amazon_linux_name(name) {
        return None;
    }
    let version = version_token(name)?;
    Some(
        name.split('-')
            .map(|token| if token == version { "*" } else { token })
            .collect::<Vec<_>>()
            .join("-"),
    )
}

fn is_amazon_linux_name(name: &str) -> bool {
    ["al2023-ami-", "amzn2-ami-", "amzn-ami-"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// Compare two versions by their dot-separated numbers (`2023.10.…` > `2023.9.…`).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let numbers = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    numbers(a).cmp(&numbers(b))
}

/// The newest image among `candidates` (ID, name, creation date) of exactly `pattern`'s family.
pub fn newest_of_family(
    pattern: &str,
    candidates: &[(String, String, Option<String>)],
) -> Option<NewestBase> {
    candidates
        .iter()
        .filter(|(_, name, _)| family_pattern(name).as_deref() == Some(pattern))
        .max_by(|a, b| {
            let version = |n: &str| version_token(n).unwrap_or_default().to_string();
            compare_versions(&version(&a.1), &version(&b.1)).then_with(|| a.2.cmp(&b.2))
        })
        .map(|(id, name, created)| NewestBase {
            image_id: id.clone(),
            name: name.clone(),
            creation_date: created.clone(),
        })
}

/// What a root snapshot's description says about where the image came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotOrigin {
    /// `Created by CreateImage(i-…) for ami-…`: imaged from that instance.
    Instance(String),
    /// `Copied for DestinationAmi ami-X from SourceAmi ami-Y …`: a copy of ami-Y.
    CopiedFrom(String),
}

pub fn snapshot_origin(description: &str) -> Option<SnapshotOrigin> {
    if let Some(rest) = description.strip_prefix("Created by CreateImage(") {
        let instance: String = rest.chars().take_while(|c| *c != ')').collect();
        return is_resource_id(&instance, "i-").then_some(SnapshotOrigin::Instance(instance));
    }
    if description.starts_with("Copied for DestinationAmi") {
        let (_, after) = description.split_once("from SourceAmi ")?;
        let source = after.split_whitespace().next()?;
        return is_resource_id(source, "ami-").then(|| SnapshotOrigin::CopiedFrom(source.into()));
    }
    None
}

fn is_resource_id(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix).is_some_and(|hex| {
        (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// What an image's own tags, name and description say of its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextParent {
    Id {
        image_id: String,
        source: LinkSource,
        evidence: String,
    },
    Name {
        name: String,
        source: LinkSource,
        evidence: String,
    },
}

impl TextParent {
    /// The parent as a link of the chain.
    pub fn into_link(self, region: Option<String>) -> LineageLink {
        match self {
            TextParent::Id {
                image_id,
                source,
                evidence,
            } => LineageLink::to_image(&image_id, region, source, evidence),
            TextParent::Name {
                name,
                source,
                evidence,
            } => LineageLink::named(name, source, evidence),
        }
    }
}

pub fn text_parent(image: &ImageFacts) -> Option<TextParent> {
    for key in PARENT_ID_TAGS {
        if let Some(value) = image.tags.get(key).map(|v| v.trim())
            && is_resource_id(value, "ami-")
        {
            return Some(TextParent::Id {
                image_id: value.to_string(),
                source: LinkSource::Tag,
                evidence: format!("tag {key} of {}", image.image_id),
            });
        }
    }
    for key in PARENT_NAME_TAGS {
        if let Some(value) = image.tags.get(key).map(|v| v.trim())
            && !value.is_empty()
        {
            return Some(TextParent::Name {
                name: value.to_string(),
                source: LinkSource::Tag,
                evidence: format!("tag {key} of {}", image.image_id),
            });
        }
    }
    let fields = [
        ("description", image.description.as_deref()),
        ("name", image.name.as_deref()),
    ];
    for (field, text) in fields {
        let Some(text) = text else { continue };
        let evidence = format!("{field} of {}", image.image_id);
        if let Some(id) = tokens(text).find(|t| is_resource_id(t, "ami-") && *t != image.image_id) {
            return Some(TextParent::Id {
                image_id: id.to_string(),
                source: LinkSource::Text,
                evidence,
            });
        }
        if let Some(name) = tokens(text).find(|t| {
            is_amazon_linux_name(t)
                && version_token(t).is_some()
                && Some(*t) != image.name.as_deref()
        }) {
            return Some(TextParent::Name {
                name: name.to_string(),
                source: LinkSource::Text,
                evidence,
            });
        }
        // Copies often keep Amazon's own description ("Amazon Linux 2 AMI 2.0.… x86_64 HVM gp2"),
        // which names the base as surely as its name does: read it as that name.
        if let Some(name) = name_from_amazon_description(text)
            && Some(name.as_str()) != image.name.as_deref()
        {
            return Some(TextParent::Name {
                evidence: format!("{evidence} (Amazon Linux's description of {name})"),
                name,
                source: LinkSource::Text,
            });
        }
    }
    None
}

/// The name of the Amazon Linux AMI whose own description `text` carries:
/// - `Amazon Linux 2023 AMI 2023.6.20241111.0 x86_64 HVM kernel-6.1` → `al2023-ami-2023.6.20241111.0-kernel-6.1-x86_64`
/// - `Amazon Linux 2 AMI 2.0.20260930.0 x86_64 HVM gp2` → `amzn2-ami-hvm-2.0.20260930.0-x86_64-gp2`
/// - `Amazon Linux 2 Kernel 5.10 AMI 2.0.… x86_64 HVM gp2` → `amzn2-ami-kernel-5.10-hvm-2.0.…-x86_64-gp2`
/// - `Amazon Linux AMI 2018.03.0.20180811 x86_64 HVM gp2` → `amzn-ami-hvm-2018.03.0.20180811-x86_64-gp2`
///
/// `Minimal` before `HVM` gives the `-minimal` images. Anything else in those places: `None`.
pub fn name_from_amazon_description(text: &str) -> Option<String> {
    let start = text.find("Amazon Linux ")?;
    let words: Vec<&str> = text[start..].split_whitespace().skip(2).collect();
    let (generation, rest) = match *words.first()? {
        "2023" => ("al2023", &words[1..]),
        "2" => ("amzn2", &words[1..]),
        "AMI" => ("amzn", &words[..]),
        _ => return None,
    };
    // An AL2 kernel line comes before `AMI`: `Kernel 5.10 AMI …`.
    let (kernel, rest) = match rest {
        ["Kernel", line, rest @ ..] if generation == "amzn2" && is_version(line) => {
            (Some(*line), rest)
        }
        _ => (None, rest),
    };
    let ["AMI", version, arch, rest @ ..] = rest else {
        return None;
    };
    if !is_version(version) || date_stamp(version).is_none() {
        return None;
    }
    if !matches!(*arch, "x86_64" | "arm64") {
        return None;
    }
    let (minimal, rest) = match rest {
        ["Minimal", rest @ ..] => ("-minimal", rest),
        _ => ("", rest),
    };
    let ["HVM", last, ..] = rest else {
        return None;
    };
    let simple =
        |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.');
    match generation {
        "al2023" => {
            let line = last.strip_prefix("kernel-").filter(|l| is_version(l))?;
            Some(format!(
                "al2023-ami{minimal}-{version}-kernel-{line}-{arch}"
            ))
        }
        _ if !simple(last) => None,
        "amzn2" => {
            let kernel = kernel.map(|k| format!("-kernel-{k}")).unwrap_or_default();
            Some(format!(
                "amzn2-ami{minimal}{kernel}-hvm-{version}-{arch}-{last}"
            ))
        }
        _ => Some(format!("amzn-ami{minimal}-hvm-{version}-{arch}-{last}")),
    }
}

/// Dot-separated numbers: `5.10`, `2.0.20260930.0`.
fn is_version(word: &str) -> bool {
    word.contains('.')
        && word
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Whitespace-separated words with surrounding punctuation trimmed.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace().map(|t| {
        t.trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '(' | ')' | '\'' | '"' | '[' | ']'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_patterns_replace_the_version() {
        let cases = [
            (
                "al2023-ami-2023.6.20241111.0-kernel-6.1-x86_64",
                "al2023-ami-*-kernel-6.1-x86_64",
            ),
            (
                "al2023-ami-minimal-2023.6.20241111.0-kernel-6.1-arm64",
                "al2023-ami-minimal-*-kernel-6.1-arm64",
            ),
            (
                "amzn2-ami-kernel-5.10-hvm-2.0.20241113.1-x86_64-gp2",
                "amzn2-ami-kernel-5.10-hvm-*-x86_64-gp2",
            ),
            (
                "amzn-ami-hvm-2018.03.0.20180811-x86_64-gp2",
                "amzn-ami-hvm-*-x86_64-gp2",
            ),
        ];
        for (name, pattern) in cases {
            assert_eq!(family_pattern(name).as_deref(), Some(pattern), "{name}");
        }
        assert_eq!(family_pattern("ubuntu-noble-24.04-amd64-20261101"), None);
        assert_eq!(family_pattern("amzn2-ami-ecs-hvm-latest"), None);
    }

    #[test]
    fn newest_ignores_other_families_and_compares_numerically() {
        let candidates = vec![
            (
                "ami-1".to_string(),
                "al2023-ami-2023.9.20261110.0-kernel-6.1-x86_64".to_string(),
                None,
            ),
            (
                "ami-2".to_string(),
                "al2023-ami-2023.10.20261201.0-kernel-6.1-x86_64".to_string(),
                None,
            ),
            (
                "ami-3".to_string(),
                "al2023-ami-minimal-2023.11.20261218.0-kernel-6.1-x86_64".to_string(),
                None,
            ),
        ];
        let newest = newest_of_family("al2023-ami-*-kernel-6.1-x86_64", &candidates);
        assert_eq!(newest.map(|n| n.image_id), Some("ami-2".to_string()));
        assert_eq!(
            newest_of_family("amzn-ami-hvm-*-x86_64-gp2", &candidates),
            None
        );
    }

    #[test]
    fn dates_come_from_version_stamps() {
        let link = LineageLink {
            name: Some("amzn-ami-hvm-2018.03.0.20180811-x86_64-gp2".into()),
            ..LineageLink::to_image("ami-1", None, LinkSource::Tag, String::new())
        };
        assert_eq!(
            link.created_on(),
            Some(("2018-08-11".to_string(), "the date stamp in its name"))
        );
        let dated = LineageLink {
            creation_date: Some("2024-11-11T22:10:04.000Z".into()),
            ..link
        };
        assert_eq!(dated.created_on().map(|d| d.0), Some("2024-11-11".into()));
        // A date that is not ASCII where the day should be is not a date (and no panic).
        let garbled = LineageLink {
            creation_date: Some("2018-08-1é".into()),
            name: None,
            ..dated
        };
        assert_eq!(garbled.created_on(), None);
    }

    #[test]
    fn snapshot_descriptions() {
        assert_eq!(
            snapshot_origin(
                "Created by CreateImage(i-0f19000000000a019) for ami-0ea00000000000019 from vol-0f19000000000b019"
            ),
            Some(SnapshotOrigin::Instance("i-0f19000000000a019".into()))
        );
        assert_eq!(
            snapshot_origin(
                "Created by CreateImage(i-1234567890abcdef0) for ami-0abcdef1234567890"
            ),
            Some(SnapshotOrigin::Instance("i-1234567890abcdef0".into()))
        );
        assert_eq!(
            snapshot_origin(
                "Copied for DestinationAmi ami-0aaaaaaaaaaaaaaaa from SourceAmi ami-0bbbbbbbbbbbbbbbb for SourceSnapshot snap-0cccccccccccccccc. Task created on 1,700,000,000,000."
            ),
            Some(SnapshotOrigin::CopiedFrom("ami-0bbbbbbbbbbbbbbbb".into()))
        );
        assert_eq!(snapshot_origin("nightly backup"), None);
    }

    fn image(name: &str, description: &str, tags: &[(&str, &str)]) -> ImageFacts {
        ImageFacts {
            image_id: "ami-0aa00000000000001".into(),
            name: Some(name.into()),
            description: Some(description.into()),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn parents_from_tags_and_text() {
        let packer = image(
            "x",
            "",
            &[
                ("source_ami", "ami-0ab00000000000005"),
                (
                    "source_ami_name",
                    "al2023-ami-2023.5.20240805.0-kernel-6.1-x86_64",
                ),
            ],
        );
        assert!(matches!(
            text_parent(&packer),
            Some(TextParent::Id { image_id, evidence, .. }) if image_id == "ami-0ab00000000000005" && evidence.starts_with("tag source_ami ")
        ));
        let named = image(
            "emr-base",
            "EMR base built from amzn2-ami-kernel-5.10-hvm-2.0.20240916.0-x86_64-gp2",
            &[],
        );
        assert!(matches!(
            text_parent(&named),
            Some(TextParent::Name { name, .. }) if name == "amzn2-ami-kernel-5.10-hvm-2.0.20240916.0-x86_64-gp2"
        ));
        let by_id = image("copy", "Copy of ami-0123456789abcdef0 (hardened)", &[]);
        assert!(matches!(
            text_parent(&by_id),
            Some(TextParent::Id { image_id, .. }) if image_id == "ami-0123456789abcdef0"
        ));
        // An AL-looking word in the image's own name is not a parent, and neither is its own ID.
        let own = image(
            "emr-base-al2023-k61-x86_64-20241120",
            "ami-0aa00000000000001",
            &[],
        );
        assert_eq!(text_parent(&own), None);
    }

    #[test]
    fn amazon_linux_descriptions_name_their_image() {
        let cases = [
            (
                "Amazon Linux 2 AMI 2.0.20260930.0 x86_64 HVM gp2",
                "amzn2-ami-hvm-2.0.20260930.0-x86_64-gp2",
            ),
            (
                "Amazon Linux 2023 AMI 2023.6.20241111.0 x86_64 HVM kernel-6.1",
                "al2023-ami-2023.6.20241111.0-kernel-6.1-x86_64",
            ),
            (
                "Amazon Linux 2023 AMI 2023.12.20260727.0 arm64 Minimal HVM kernel-6.12",
                "al2023-ami-minimal-2023.12.20260727.0-kernel-6.12-arm64",
            ),
            (
                "Amazon Linux 2 Kernel 5.10 AMI 2.0.20260727.0 x86_64 HVM gp2",
                "amzn2-ami-kernel-5.10-hvm-2.0.20260727.0-x86_64-gp2",
            ),
            (
                "Amazon Linux AMI 2018.03.0.20180811 x86_64 HVM gp2",
                "amzn-ami-hvm-2018.03.0.20180811-x86_64-gp2",
            ),
            // A copy that keeps the description after words of its own.
            (
                "Hardened copy of Amazon Linux 2 AMI 2.0.20260930.0 x86_64 HVM gp2",
                "amzn2-ami-hvm-2.0.20260930.0-x86_64-gp2",
            ),
        ];
        for (description, name) in cases {
            assert_eq!(
                name_from_amazon_description(description).as_deref(),
                Some(name),
                "{description}"
            );
            // The name read is one of the families the newest-image lookup knows.
            assert!(family_pattern(name).is_some(), "{name}");
        }
        for not_one in [
            "Amazon Linux 2 based golden image",
            "Amazon Linux 2023 AMI latest x86_64 HVM kernel-6.1",
            "Amazon Linux 2 AMI 2.0.20260930.0 i386 HVM gp2",
            "Amazon Linux 2023 AMI 2023.6.20241111.0 x86_64 HVM",
            "Amazon Linux 2 AMI 2.0.20260930.0 x86_64 HVM gp2/../x",
            "Ubuntu 24.04",
            "",
        ] {
            assert_eq!(name_from_amazon_description(not_one), None, "{not_one}");
        }
    }

    #[test]
    fn a_kept_amazon_description_is_a_parent() {
        let copy = image(
            "platform-golden-2026-10",
            "Amazon Linux 2023 AMI 2023.6.20241111.0 x86_64 HVM kernel-6.1",
            &[],
        );
        match text_parent(&copy) {
            Some(TextParent::Name {
                name,
                source,
                evidence,
            }) => {
                assert_eq!(name, "al2023-ami-2023.6.20241111.0-kernel-6.1-x86_64");
                assert_eq!(source, LinkSource::Text);
                assert!(
                    evidence.starts_with("description of ami-0aa00000000000001"),
                    "{evidence}"
                );
                assert!(
                    evidence.contains("Amazon Linux's description"),
                    "{evidence}"
                );
            }
            other => panic!("{other:?}"),
        }
        let base = classify(&named_link(
            "al2023-ami-2023.6.20241111.0-kernel-6.1-x86_64",
        ))
        .expect("classified");
        assert!(base.is_plain_amazon_linux());
        // A description naming no Amazon image stays no parent.
        assert_eq!(
            text_parent(&image("golden", "Amazon Linux 2 based", &[])),
            None
        );
    }

    fn named_link(name: &str) -> LineageLink {
        LineageLink {
            name: Some(name.into()),
            ..LineageLink::to_image("ami-1", None, LinkSource::Ancestry, String::new())
        }
    }

    #[test]
    fn bases_are_classified() {
        let plain = classify(&named_link(
            "al2023-ami-2023.9.20261110.0-kernel-6.12-x86_64",
        ));
        let plain = plain.expect("classified");
        assert!(plain.is_plain_amazon_linux());
        assert_eq!(
            plain.family,
            OsFamily::AmazonLinux2023 {
                kernel: Some("6.12".into())
            }
        );
        let ecs = classify(&named_link("amzn2-ami-ecs-hvm-2.0.20261015-x86_64-ebs")).expect("ecs");
        assert_eq!(ecs.derivative, Some("ECS-optimized"));
        assert_eq!(ecs.to_string(), "ECS-optimized Amazon Linux 2");
        let ubuntu = classify(&named_link(
            "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20261101",
        ))
        .expect("ubuntu");
        assert_eq!(ubuntu.family, OsFamily::Other("Ubuntu".into()));
        assert_eq!(classify(&named_link("golden-image")), None);
    }

    #[test]
    fn amazon_ownership() {
        assert_eq!(is_amazon_owned(Some("amazon"), None), Some(true));
        assert_eq!(is_amazon_owned(None, Some("137112412989")), Some(true));
        assert_eq!(is_amazon_owned(None, Some("111122223333")), Some(false));
        assert_eq!(is_amazon_owned(None, None), None);
    }
}
