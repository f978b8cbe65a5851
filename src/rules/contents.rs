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
        severity: Severity::Warning,
        title: "The SSM agent is not enabled at boot",
        explanation: "EMR installs and manages its own SSM agent on cluster nodes; the current AWS page asks for custom \
                      AMIs without an SSM agent enabled at boot.",
        remediation: "Disable the agent in the image (`systemctl disable amazon-ssm-agent`, or `chkconfig` on Amazon \
                      Linux 1) or remove it.",
        source: "current AWS page (Using a custom AMI)",
        doc_url: CUSTOM_AMI_DOC,
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
                      the release needs, and an AL2023 image for 7.x must run a 6.1 kernel.",
        remediation: "Build from the Amazon Linux generation (and, for 7.x, the kernel-6.1 line) the release needs.",
        source: "spec; current AWS page",
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
        rule.finding(Severity::Warning, "the SSM agent is enabled at boot")
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
                "not audited: no /etc/os-release; {} needs {required}",
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
    if required == RequiredLinux::AmazonLinux2023 && found == Some(RequiredLinux::AmazonLinux2023) {
        let other: Vec<&str> = facts
            .kernels
            .iter()
            .map(String::as_str)
            .filter(|k| !k.starts_with("6.1."))
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
                        "kernels other than 6.1 are installed ({}); {} needs the 6.1 kernel line",
                        other.join(", "),
                        cx.release
                    ),
                )
                .with("Kernels", facts.kernels.join(", ")),
            );
        }
    }
    findings
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
