//! EA060–EA065: what the image holds, read from its root filesystem (`inspect`, `image --rootfs`).

use super::{CUSTOM_AMI_DOC, Check, Finding, Rule, Severity};
use crate::context::Context;
use crate::facts::ContentsFacts;
use crate::release::RequiredLinux;

/// Accounts whose presence breaks EMR's own applications (spec: "for example hadoop, hdfs, yarn, spark").
const RESERVED: [&str; 4] = ["hadoop", "hdfs", "yarn", "spark"];
/// Other accounts EMR applications create.
const APPLICATION_ACCOUNTS: [&str; 16] = [
    "hive",
    "hbase",
    "oozie",
    "zookeeper",
    "livy",
    "presto",
    "trino",
    "zeppelin",
    "hue",
    "flink",
    "mapred",
    "kms",
    "httpfs",
    "tez",
    "sqoop",
    "emr-notebook",
];

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "EA060",
        name: "reserved-application-users",
        severity: Severity::Error,
        title: "The image defines no users or groups named like EMR's applications",
        explanation: "Creating users on the AMI with the same name as applications (hadoop, hdfs, yarn, spark) causes \
                      errors when EMR installs them; other application accounts (hive, hbase, oozie, …) can clash too.",
        remediation: "Remove those users and groups from the image (userdel/groupdel) before creating the AMI.",
        source: "spec, best practices",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Contents(reserved_application_users),
    },
    Rule {
        id: "EA061",
        name: "ssm-agent-enabled",
        severity: Severity::Info,
        title: "Whether the SSM agent starts at boot",
        explanation: "The seed page (Using a custom AMI) asks nothing about the SSM agent, and no current EMR page found \
                      forbids it. Amazon Linux AMIs ship the agent installed and enabled (since 2017.09), and so do \
                      EMR's default AMIs, so an enabled agent is what a stock base looks like, not a defect: this is \
                      a note for review, since the agent acts with the instance profile's permissions when Systems \
                      Manager is used.",
        remediation: "Nothing, if Systems Manager access to cluster nodes is intended; otherwise disable the agent in \
                      the image (`systemctl disable amazon-ssm-agent`, or `chkconfig` on Amazon Linux 1).",
        source: "not in the seed; SSM Agent preinstalled on Amazon Linux AMIs (Systems Manager User Guide)",
        doc_url: "https://docs.aws.amazon.com/systems-manager/latest/userguide/ami-preinstalled-agent.html",
        check: Check::Contents(ssm_agent_enabled),
    },
    Rule {
        id: "EA062",
        name: "resolv-conf-rotate",
        severity: Severity::Warning,
        title: "The image does not set `options rotate` for DNS",
        explanation: "In a VPC with a non-standard domain name and AmazonProvidedDNS, the `rotate` option breaks name \
                      resolution on EMR nodes.",
        remediation: "Remove `rotate` from resolv.conf and from what writes it (RES_OPTIONS, NetworkManager dns-options).",
        source: "spec, best practices",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Contents(resolv_conf_rotate),
    },
    Rule {
        id: "EA063",
        name: "large-relocated-directories",
        severity: Severity::Warning,
        title: "/tmp, /var and /emr hold little data",
        explanation: "EMR moves the contents of /tmp, /var and /emr to /mnt at startup; with a lot of data there, \
                      startup takes longer than expected.",
        remediation: "Clean /tmp, /var (package caches, logs) and /emr before creating the AMI.",
        source: "spec, best practices",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Contents(large_relocated_directories),
    },
    Rule {
        id: "EA064",
        name: "os-release-mismatch",
        severity: Severity::Error,
        title: "The image's operating system and kernel fit the release",
        explanation: "As EA015/EA016, read from inside the image: /etc/os-release must name the Amazon Linux generation \
                      the release needs, and the installed kernels must be of a line the release accepts (the release \
                      table: 6.1 for 7.x).",
        remediation: "Build from the Amazon Linux generation (and, for 7.x, the kernel-6.1 line) the release needs.",
        source: "spec; current AWS page; release table",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Contents(os_release_mismatch),
    },
    Rule {
        id: "EA065",
        name: "emr-instance-artifacts",
        severity: Severity::Error,
        title: "The image was not taken from an EMR cluster node",
        explanation: "Files that EMR provisioning leaves on a node (the instance controller, /var/aws/emr, \
                      /usr/share/aws/emr) show the image was made from an EMR instance, which causes errors.",
        remediation: "Build the AMI from an Amazon Linux AMI, not from an EMR cluster's instance.",
        source: "spec, best practices (do not copy a snapshot of an existing EMR instance)",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Contents(emr_instance_artifacts),
    },
];

fn reserved_application_users(
    rule: &'static Rule,
    facts: &ContentsFacts,
    _: &Context,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (file, names) in [("/etc/passwd", &facts.users), ("/etc/group", &facts.groups)] {
        let Some(names) = names else {
            findings.push(rule.finding(
                Severity::Warning,
                format!("not audited: {file} could not be read"),
            ));
            continue;
        };
        let reserved: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| RESERVED.contains(n))
            .collect();
        if !reserved.is_empty() {
            findings.push(
                rule.finding(
                    Severity::Error,
                    format!(
                        "{file} defines {}, which EMR's applications need",
                        reserved.join(", ")
                    ),
                )
                .with("File", file)
                .with("Names", reserved.join(", ")),
            );
        }
        let other: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| APPLICATION_ACCOUNTS.contains(n))
            .collect();
        if !other.is_empty() {
            findings.push(
                rule.finding(
                    Severity::Warning,
                    format!(
                        "{file} defines {}, which EMR applications create",
                        other.join(", ")
                    ),
                )
                .with("File", file)
                .with("Names", other.join(", ")),
            );
        }
    }
    findings
}

fn ssm_agent_enabled(rule: &'static Rule, facts: &ContentsFacts, _: &Context) -> Vec<Finding> {
    if facts.ssm_enabled.is_empty() {
        return vec![];
    }
    vec![
        rule.finding(
            Severity::Info,
            "the SSM agent is enabled at boot, as on stock Amazon Linux and EMR's default AMIs: fine if Systems \
             Manager access is intended",
        )
            .with("EnabledBy", facts.ssm_enabled.join(", "))
            .with(
                "Installed",
                if facts.ssm_installed.is_empty() {
                    "(not found)".to_string()
                } else {
                    facts.ssm_installed.join(", ")
                },
            ),
    ]
}

fn resolv_conf_rotate(rule: &'static Rule, facts: &ContentsFacts, _: &Context) -> Vec<Finding> {
    facts
        .dns_rotate
        .iter()
        .map(|line| {
            rule.finding(Severity::Warning, format!("DNS `rotate` is set: {line}"))
                .with("Line", line)
        })
        .collect()
}

fn large_relocated_directories(
    rule: &'static Rule,
    facts: &ContentsFacts,
    cx: &Context,
) -> Vec<Finding> {
    let total: u64 = facts.relocated_bytes.values().sum();
    let threshold = cx.thresholds.relocated_bytes;
    if total <= threshold {
        return vec![];
    }
    let parts: Vec<String> = facts
        .relocated_bytes
        .iter()
        .map(|(dir, bytes)| format!("{dir} {}", human(*bytes)))
        .collect();
    vec![
        rule.finding(
            Severity::Warning,
            format!(
                "/tmp, /var and /emr hold {} (over {}): {}",
                human(total),
                human(threshold),
                parts.join(", ")
            ),
        )
        .with("Bytes", total)
        .with("Threshold", threshold),
    ]
}

fn human(bytes: u64) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    const MIB: f64 = 1024.0 * 1024.0;
    let b = bytes as f64;
    if b >= GIB {
        format!("{:.1} GiB", b / GIB)
    } else {
        format!("{:.1} MiB", b / MIB)
    }
}

fn os_release_mismatch(rule: &'static Rule, facts: &ContentsFacts, cx: &Context) -> Vec<Finding> {
    let Some(required) = cx.release.required_linux() else {
        return vec![super::not_known_for_release(rule, cx)];
    };
    let Some(os) = &facts.os_release else {
        return vec![rule.finding(
            Severity::Warning,
            format!(
                "not audited: no readable /etc/os-release (absent, or see the run errors); {} needs {required}",
                cx.release
            ),
        )];
    };
    let id = os.get("ID").map(String::as_str).unwrap_or("");
    let version = os.get("VERSION_ID").map(String::as_str).unwrap_or("");
    let pretty = os
        .get("PRETTY_NAME")
        .cloned()
        .unwrap_or_else(|| format!("{id} {version}"));
    let found = match (id, version) {
        ("amzn", "2") => Some(RequiredLinux::AmazonLinux2),
        ("amzn", "2023") => Some(RequiredLinux::AmazonLinux2023),
        ("amzn", v) if v.starts_with("20") => Some(RequiredLinux::AmazonLinux1),
        _ => None,
    };
    let mut findings = Vec::new();
    if found != Some(required) {
        findings.push(
            rule.finding(
                Severity::Error,
                format!(
                    "/etc/os-release says {pretty}; {} needs {required}",
                    cx.release
                ),
            )
            .with("ID", id)
            .with("VERSION_ID", version),
        );
    }
    // The kernel lines the release table accepts, judged on an image of the generation it needs.
    let lines = cx.release.kernel_lines().unwrap_or_default();
    if !lines.is_empty() && found == Some(required) {
        let other: Vec<&str> = facts
            .kernels
            .iter()
            .map(String::as_str)
            .filter(|k| !lines.contains(&kernel_line(k)))
            .collect();
        if facts.kernels.is_empty() {
            findings.push(rule.finding(
                Severity::Warning,
                "not audited: no installed kernel found under /lib/modules or /boot",
            ));
        } else if !other.is_empty() {
            findings.push(
                rule.finding(
                    Severity::Error,
                    format!(
                        "kernels of other lines than {} are installed ({}); {} accepts kernel {}",
                        lines.join(", "),
                        other.join(", "),
                        cx.release,
                        lines.join(", ")
                    ),
                )
                .with("Kernels", facts.kernels.join(", ")),
            );
        }
    }
    findings
}

/// `6.1.112-122.189.amzn2023.x86_64` → `6.1`: a kernel release's line (MAJOR.MINOR); `6.12.8-1…` is
/// `6.12`, not `6.1` (a prefix test would take it for 6.1).
fn kernel_line(release: &str) -> &str {
    let mut dots = release.match_indices('.').map(|(i, _)| i);
    match (dots.next(), dots.next()) {
        (Some(_), Some(second)) => &release[..second],
        _ => release.split('-').next().unwrap_or(release),
    }
}

fn emr_instance_artifacts(rule: &'static Rule, facts: &ContentsFacts, _: &Context) -> Vec<Finding> {
    if facts.emr_artifacts.is_empty() {
        return vec![];
    }
    vec![
        rule.finding(
            Severity::Error,
            format!(
                "EMR provisioning files are present ({}): the image was taken from an EMR instance",
                facts.emr_artifacts.join(", ")
            ),
        )
        .with("Paths", facts.emr_artifacts.join(", ")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::context;

    #[test]
    fn ea061_an_enabled_agent_is_a_note_not_a_warning() {
        let rule = super::super::find("EA061").expect("EA061");
        assert_eq!(rule.severity, Severity::Info);
        let cx = context("emr-7.1.0");
        let enabled = ContentsFacts {
            ssm_enabled: vec![
                "/etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service".into(),
            ],
            ssm_installed: vec!["/usr/bin/amazon-ssm-agent".into()],
            ..Default::default()
        };
        let found = ssm_agent_enabled(rule, &enabled, &cx);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Info);
        assert!(ssm_agent_enabled(rule, &ContentsFacts::default(), &cx).is_empty());
    }

    #[test]
    fn kernel_lines_of_kernel_releases() {
        assert_eq!(kernel_line("6.1.112-122.189.amzn2023.x86_64"), "6.1");
        assert_eq!(kernel_line("6.12.8-1.amzn2023.x86_64"), "6.12");
        assert_eq!(kernel_line("6.18.2-3.amzn2023.aarch64"), "6.18");
        assert_eq!(kernel_line("5.10"), "5.10");
        assert_eq!(kernel_line("weird"), "weird");
    }
}
