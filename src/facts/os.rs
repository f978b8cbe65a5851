//! Telling an image's operating system from what AWS shows of it: platform, name, description, tags.
//! Pure string work, shared by the rules that judge the Amazon Linux generation.

use std::fmt;

use super::image::ImageFacts;

/// The operating system family an image appears to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OsFamily {
    AmazonLinux1,
    AmazonLinux2,
    /// Amazon Linux 2023 and its kernel line (`6.1`, `6.12`) when something names it.
    AmazonLinux2023 {
        kernel: Option<String>,
    },
    Windows,
    /// Another operating system, by the name found (`Ubuntu`, `Red Hat Enterprise Linux`, …).
    Other(String),
}

impl fmt::Display for OsFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OsFamily::AmazonLinux1 => f.write_str("Amazon Linux (AL1)"),
            OsFamily::AmazonLinux2 => f.write_str("Amazon Linux 2"),
            OsFamily::AmazonLinux2023 { kernel: Some(k) } => {
                write!(f, "Amazon Linux 2023 (kernel {k})")
            }
            OsFamily::AmazonLinux2023 { kernel: None } => f.write_str("Amazon Linux 2023"),
            OsFamily::Windows => f.write_str("Windows"),
            OsFamily::Other(name) => f.write_str(name),
        }
    }
}

/// The family found and where: `name 'amzn2-ami-hvm-…'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsIdentity {
    pub family: OsFamily,
    pub evidence: String,
}

/// What was looked at, for the message when nothing could be told.
pub const LOOKED_AT: &str = "platform, name, description, tags and platform details";

/// Identify the OS from the image's own metadata, strongest evidence first.
pub fn identify(image: &ImageFacts) -> Option<OsIdentity> {
    if image
        .platform
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("windows"))
    {
        return Some(OsIdentity {
            family: OsFamily::Windows,
            evidence: "platform 'windows'".to_string(),
        });
    }
    let mut sources: Vec<(String, &str)> = Vec::new();
    if let Some(name) = &image.name {
        sources.push(("name".to_string(), name));
    }
    if let Some(description) = &image.description {
        sources.push(("description".to_string(), description));
    }
    for (key, value) in &image.tags {
        sources.push((format!("tag {key}"), value));
    }
    if let Some(details) = &image.platform_details {
        sources.push(("platform details".to_string(), details));
    }
    let (label, text, family) = sources
        .iter()
        .find_map(|(label, text)| family_in(text).map(|family| (label, *text, family)))?;
    let family = match family {
        OsFamily::AmazonLinux2023 { kernel: None } => OsFamily::AmazonLinux2023 {
            // The kernel line is often only in the description ("built from al2023-ami-…-kernel-6.1-…").
            kernel: kernel_in(text).or_else(|| sources.iter().find_map(|(_, t)| kernel_in(t))),
        },
        other => other,
    };
    Some(OsIdentity {
        family,
        evidence: format!("{label} '{text}'"),
    })
}

/// Words of a text, lower-cased, split on anything that is not a letter, digit or dot.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.to_ascii_lowercase()
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .map(|w| w.trim_matches('.'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether `words` contains `sequence` as consecutive words.
pub(crate) fn has_sequence(words: &[String], sequence: &[&str]) -> bool {
    words
        .windows(sequence.len())
        .any(|w| w.iter().zip(sequence).all(|(a, b)| a == b))
}

/// Matched on whole words, so "Amazon Linux 2018.03" is not Amazon Linux 2 and "final2023" is not AL2023.
fn family_in(text: &str) -> Option<OsFamily> {
    let words = words(text);
    let has = |w: &str| words.iter().any(|x| x == w);
    let seq = |s: &[&str]| has_sequence(&words, s);
    // Order matters: "amazon linux 2" is a prefix of "amazon linux 2023".
    if has("al2023") || seq(&["amazon", "linux", "2023"]) {
        return Some(OsFamily::AmazonLinux2023 { kernel: None });
    }
    if has("amzn2") || has("al2") || seq(&["amazon", "linux", "2"]) {
        return Some(OsFamily::AmazonLinux2);
    }
    if seq(&["amzn", "ami"]) || seq(&["amazon", "linux", "ami"]) || has("al1") {
        return Some(OsFamily::AmazonLinux1);
    }
    if has("windows") {
        return Some(OsFamily::Windows);
    }
    const OTHERS: [(&[&str], &str); 12] = [
        (&["ubuntu"], "Ubuntu"),
        (&["debian"], "Debian"),
        (&["red", "hat"], "Red Hat Enterprise Linux"),
        (&["rhel"], "Red Hat Enterprise Linux"),
        (&["centos"], "CentOS"),
        (&["suse"], "SUSE Linux"),
        (&["sles"], "SUSE Linux"),
        (&["rocky"], "Rocky Linux"),
        (&["almalinux"], "AlmaLinux"),
        (&["fedora"], "Fedora"),
        (&["bottlerocket"], "Bottlerocket"),
        (&["oracle", "linux"], "Oracle Linux"),
    ];
    OTHERS
        .iter()
        .find(|(sequence, _)| seq(sequence))
        .map(|(_, name)| OsFamily::Other((*name).to_string()))
}

/// The family a text names, with the AL2023 kernel line when the same text names it.
pub(crate) fn family_with_kernel(text: &str) -> Option<OsFamily> {
    match family_in(text)? {
        OsFamily::AmazonLinux2023 { kernel: None } => Some(OsFamily::AmazonLinux2023 {
            kernel: kernel_in(text),
        }),
        other => Some(other),
    }
}

/// `kernel-6.1` → `6.1`: the word after `kernel`, as MAJOR.MINOR.
fn kernel_in(text: &str) -> Option<String> {
    let words = words(text);
    words.windows(2).find_map(|pair| {
        if pair[0] != "kernel" {
            return None;
        }
        let mut parts = pair[1].split('.');
        let major = parts
            .next()
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))?;
        let minor = parts
            .next()
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))?;
        Some(format!("{major}.{minor}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str, description: Option<&str>) -> ImageFacts {
        ImageFacts {
            image_id: "ami-12345678".into(),
            name: Some(name.into()),
            description: description.map(str::to_string),
            ..Default::default()
        }
    }

    fn family(name: &str, description: Option<&str>) -> Option<OsFamily> {
        identify(&named(name, description)).map(|i| i.family)
    }

    #[test]
    fn amazon_linux_generations_from_names() {
        assert_eq!(
            family("amzn2-ami-kernel-5.10-hvm-2.0.20241113.1-x86_64-gp2", None),
            Some(OsFamily::AmazonLinux2)
        );
        assert_eq!(
            family("amzn-ami-hvm-2018.03.0.20180811-x86_64-gp2", None),
            Some(OsFamily::AmazonLinux1)
        );
        assert_eq!(
            family("al2023-ami-2023.6.20241111.0-kernel-6.1-x86_64", None),
            Some(OsFamily::AmazonLinux2023 {
                kernel: Some("6.1".into())
            })
        );
        assert_eq!(
            family(
                "al2023-ami-minimal-2023.6.20241111.0-kernel-6.12-arm64",
                None
            ),
            Some(OsFamily::AmazonLinux2023 {
                kernel: Some("6.12".into())
            })
        );
        assert_eq!(
            family("emr-base-al2-2024", None),
            Some(OsFamily::AmazonLinux2)
        );
    }

    #[test]
    fn descriptions_and_kernel_from_elsewhere() {
        assert_eq!(
            family(
                "emr-base-al2023-x86_64",
                Some("built from al2023-ami-2023.6.20241111.0-kernel-6.1-x86_64")
            ),
            Some(OsFamily::AmazonLinux2023 {
                kernel: Some("6.1".into())
            })
        );
        assert_eq!(
            family(
                "golden",
                Some("Amazon Linux 2 AMI 2.0.20241113.1 x86_64 HVM gp2")
            ),
            Some(OsFamily::AmazonLinux2)
        );
        assert_eq!(
            family(
                "golden",
                Some("Amazon Linux AMI 2018.03.0.20180811 x86_64 HVM ebs")
            ),
            Some(OsFamily::AmazonLinux1)
        );
        assert_eq!(
            family("my-al2023-image", None),
            Some(OsFamily::AmazonLinux2023 { kernel: None })
        );
    }

    #[test]
    fn other_systems_and_unknown() {
        assert_eq!(
            family(
                "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20241112",
                None
            ),
            Some(OsFamily::Other("Ubuntu".into()))
        );
        assert_eq!(
            family("RHEL-9.4.0_HVM-20240605-x86_64-82-Hourly2-GP3", None),
            Some(OsFamily::Other("Red Hat Enterprise Linux".into()))
        );
        assert_eq!(
            family("golden-image-2024-11", Some("Golden image (platform team)")),
            None
        );
        let mut windows = named("anything", None);
        windows.platform = Some("windows".into());
        assert_eq!(
            identify(&windows).map(|i| i.family),
            Some(OsFamily::Windows)
        );
    }

    #[test]
    fn whole_words_only() {
        assert_eq!(
            family("golden", Some("Amazon Linux 2018.03 hardened")),
            None
        );
        assert_eq!(family("build-final2023-x86", None), None);
        assert_eq!(
            family("amzn-ami-2018.03-hardened", None),
            Some(OsFamily::AmazonLinux1)
        );
        assert_eq!(family("my-windowsless-image", None), None);
        assert_eq!(
            family("Windows_Server-2022-English-Full-Base", None),
            Some(OsFamily::Windows)
        );
        assert_eq!(
            family("al2023-ami-2023.6.20241111.0-kernel-6.1-x86_64", None),
            Some(OsFamily::AmazonLinux2023 {
                kernel: Some("6.1".into())
            })
        );
    }

    #[test]
    fn evidence_names_the_source() {
        let mut image = named("golden", None);
        image.tags.insert(
            "base_ami_name".into(),
            "amzn2-ami-hvm-2.0.20241113.1-x86_64-gp2".into(),
        );
        let id = identify(&image).expect("identified from tag");
        assert_eq!(id.family, OsFamily::AmazonLinux2);
        assert_eq!(
            id.evidence,
            "tag base_ami_name 'amzn2-ami-hvm-2.0.20241113.1-x86_64-gp2'"
        );
    }
}
