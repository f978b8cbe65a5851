//! EA050–EA056: how a cluster (running, or planned) uses its custom AMIs.

use std::collections::BTreeSet;

use super::{CUSTOM_AMI_DOC, Check, ClusterSubject, Finding, Rule, Severity};
use crate::context::Context;
use crate::facts::ImageLookup;

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "EA050",
        name: "single-and-multiple-custom-amis",
        severity: Severity::Error,
        title: "A cluster does not set both a cluster-level and instance-level custom AMIs",
        explanation: "EMR can't launch a cluster with both a cluster-level custom AMI and instance-level custom AMIs.",
        remediation: "Keep either the cluster's CustomAmiId or the instance groups'/fleets' CustomAmiIds, not both.",
        source: "spec, cluster-level and instance-level custom AMIs",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Cluster(single_and_multiple_custom_amis),
    },
    Rule {
        id: "EA051",
        name: "single-ami-mixed-architectures",
        severity: Severity::Error,
        title: "A cluster-level custom AMI is not used across architectures",
        explanation: "A cluster-level custom AMI has one architecture; x86_64 and Graviton (arm64) instance types in \
                      the same cluster need instance-level custom AMIs, one per architecture.",
        remediation: "Use instance-level custom AMIs (one per instance type, of its architecture), or instance types of \
                      one architecture.",
        source: "spec, comparison of cluster-level and instance-level custom AMIs",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Cluster(single_ami_mixed_architectures),
    },
    Rule {
        id: "EA052",
        name: "partial-instance-level-amis",
        severity: Severity::Error,
        title: "Instance-level custom AMIs cover every instance type",
        explanation: "With instance-level custom AMIs, every instance type needs one: EMR can't run default-AMI and \
                      custom-AMI instances in the same cluster.",
        remediation: "Give every instance type of every group or fleet a CustomAmiId.",
        source: "spec, comparison of cluster-level and instance-level custom AMIs",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Cluster(partial_instance_level_amis),
    },
    Rule {
        id: "EA053",
        name: "root-volume-smaller-than-ami",
        severity: Severity::Error,
        title: "The cluster's root volume is not smaller than the AMI's root snapshot",
        explanation: "EC2 can't create a root volume smaller than the AMI's root snapshot, so instances fail to launch. \
                      The root volume is EbsRootVolumeSize, or when it is not set the release's default (10 GiB up \
                      to 6.9, 15 GiB from 6.10, from the release table); EMR takes at most 100 GiB, so a root \
                      snapshot larger than that never fits.",
        remediation: "Set EbsRootVolumeSize to at least the AMI's root snapshot size; rebuild an AMI whose root \
                      snapshot is over 100 GiB with a smaller root volume.",
        source: "EC2 launch requirement (block device mapping); EMR root volume page (defaults, 100 GiB at most)",
        doc_url: "https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-custom-ami-root-volume-size.html",
        check: Check::Cluster(root_volume_smaller_than_ami),
    },
    Rule {
        id: "EA054",
        name: "dns-rotate-risk",
        severity: Severity::Warning,
        title: "The AMI does not rotate DNS servers in a VPC with a custom domain and AmazonProvidedDNS",
        explanation: "In a VPC with a non-standard domain name and AmazonProvidedDNS, the `rotate` option in the \
                      operating system's DNS configuration breaks name resolution on EMR nodes.",
        remediation: "Make sure the AMI's /etc/resolv.conf, and the DHCP client configuration that writes it, have no \
                      `options rotate`.",
        source: "spec, best practices",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Cluster(dns_rotate_risk),
    },
    Rule {
        id: "EA055",
        name: "repo-upgrade-disabled",
        severity: Severity::Info,
        title: "Security updates are applied at boot on custom-AMI clusters",
        explanation: "With RepoUpgradeOnBoot NONE, instances don't install the Amazon Linux security updates published \
                      after the AMI was built.",
        remediation: "Use RepoUpgradeOnBoot SECURITY (the default), or rebuild the AMI regularly.",
        source: "EMR RunJobFlow API (RepoUpgradeOnBoot)",
        doc_url: "https://docs.aws.amazon.com/emr/latest/APIReference/API_RunJobFlow.html",
        check: Check::Cluster(repo_upgrade_disabled),
    },
    Rule {
        id: "EA056",
        name: "plan-value-unresolved",
        severity: Severity::Warning,
        title: "Every value of a launch plan could be resolved",
        explanation: "A value given by `Ref` or an intrinsic function that neither a --parameter nor a template default \
                      resolves can't be checked: the rules that need it did not run on it.",
        remediation: "Pass the value with --parameter KEY=VALUE, or give the parameter a default; for a group or \
                      fleet added to a cluster defined elsewhere, audit that cluster (`emr-ami-audit cluster ID`).",
        source: "this tool's own, for launch plans (a CloudFormation or RunJobFlow value it could not resolve)",
        doc_url: "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-emr-cluster.html",
        check: Check::Cluster(plan_value_unresolved),
    },
];

fn single_and_multiple_custom_amis(
    rule: &'static Rule,
    subject: &ClusterSubject<'_>,
    _: &Context,
) -> Vec<Finding> {
    let cluster = subject.cluster;
    let Some(cluster_ami) = &cluster.custom_ami_id else {
        return vec![];
    };
    let instance_level: Vec<String> = cluster
        .instances
        .iter()
        .filter_map(|s| {
            s.custom_ami_id
                .as_ref()
                .map(|ami| format!("{} {} → {ami}", s.container, s.instance_type))
        })
        .collect();
    if instance_level.is_empty() {
        return vec![];
    }
    // A running cluster's groups and fleets may echo the cluster-level AMI (EMR does not document
    // whether ListInstanceGroups/ListInstanceFleets repeat it): the same AMI everywhere is what an echo
    // looks like, and such a cluster did launch. Only a different AMI at instance level is two levels. A
    // plan keeps the strict check: AWS says a launch request with both fails.
    let echoed = cluster.instances.iter().all(|s| {
        s.custom_ami_id
            .as_ref()
            .is_none_or(|ami| ami == cluster_ami)
    });
    if !cluster.planned && echoed {
        return vec![
            rule.finding(
                Severity::Info,
                format!(
                    "the instance groups or fleets report the cluster-level CustomAmiId {cluster_ami} again ({}): \
                     read as EMR echoing it, not as a second level",
                    instance_level.join("; ")
                ),
            )
            .with("CustomAmiId", cluster_ami)
            .with("InstanceLevelCustomAmiIds", instance_level.join("; ")),
        ];
    }
    vec![
        rule.finding(
            Severity::Error,
            format!(
                "the cluster sets CustomAmiId {cluster_ami} and instance-level custom AMIs ({})",
                instance_level.join("; ")
            ),
        )
        .with("CustomAmiId", cluster_ami)
        .with("InstanceLevelCustomAmiIds", instance_level.join("; ")),
    ]
}

fn single_ami_mixed_architectures(
    rule: &'static Rule,
    subject: &ClusterSubject<'_>,
    _: &Context,
) -> Vec<Finding> {
    let cluster = subject.cluster;
    let Some(cluster_ami) = &cluster.custom_ami_id else {
        return vec![];
    };
    let mut by_arch: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    let mut unknown = Vec::new();
    for t in cluster.instance_types() {
        let Some(Ok(facts)) = subject.region.instance_types.get(&t) else {
            unknown.push(t);
            continue;
        };
        // An instance type that runs several architectures (i386 and x86_64) counts by its 64-bit one.
        let arch = facts
            .architectures
            .iter()
            .find(|a| matches!(a.as_str(), "x86_64" | "arm64"))
            .or(facts.architectures.first());
        if let Some(arch) = arch {
            by_arch.entry(arch.clone()).or_default().insert(t.clone());
        }
    }
    if by_arch.len() <= 1 {
        if unknown.is_empty() {
            return vec![];
        }
        return vec![
            rule.finding(
                Severity::Warning,
                format!(
                    "not audited: the architecture of {} is unknown",
                    unknown.join(", ")
                ),
            )
            .with("CustomAmiId", cluster_ami),
        ];
    }
    let spans: Vec<String> = by_arch
        .iter()
        .map(|(arch, types)| {
            format!(
                "{arch}: {}",
                types.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    vec![
        rule.finding(Severity::Error,
            format!("cluster-level custom AMI {cluster_ami} serves instance types of several architectures ({})", spans.join("; ")),
        )
        .with("CustomAmiId", cluster_ami)
        .with("Architectures", spans.join("; ")),
    ]
}

fn partial_instance_level_amis(
    rule: &'static Rule,
    subject: &ClusterSubject<'_>,
    _: &Context,
) -> Vec<Finding> {
    let cluster = subject.cluster;
    if cluster.custom_ami_id.is_some() {
        return vec![];
    }
    let (with, without): (Vec<_>, Vec<_>) = cluster
        .instances
        .iter()
        .partition(|s| s.custom_ami_id.is_some());
    if with.is_empty() || without.is_empty() {
        return vec![];
    }
    let missing: Vec<String> = without
        .iter()
        .map(|s| format!("{} {}", s.container, s.instance_type))
        .collect();
    vec![
        rule.finding(Severity::Error,
            format!("instance-level custom AMIs are missing for {}: they would boot the EMR default AMI", missing.join("; ")),
        )
        .with("WithoutCustomAmiId", missing.join("; ")),
    ]
}

fn root_volume_smaller_than_ami(
    rule: &'static Rule,
    subject: &ClusterSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    let requested = subject.cluster.ebs_root_volume_gib;
    // A group added to a cluster defined elsewhere has that cluster's root size and release, which are
    // not here (EA056 says so): only a snapshot too large for any root volume can be judged.
    let elsewhere = subject.cluster.adds_to.is_some();
    subject
        .cluster
        .custom_amis()
        .iter()
        .filter_map(|ami| {
            let evidence = subject.images.get(ami)?;
            if let ImageLookup::Failed(error) = &evidence.lookup {
                // Unread is not fine: the size could be anything.
                let mut finding = rule
                    .finding(
                        Severity::Warning,
                        format!("not audited: the root snapshot size of {ami} is unknown: {error}"),
                    )
                    .with("CustomAmiId", ami);
                if let Some(requested) = requested {
                    finding = finding.with("EbsRootVolumeSize", requested);
                }
                return Some(finding);
            }
            let image = evidence.found()?;
            let snapshot = image.root_device()?.ebs.as_ref()?.volume_size_gib?;
            if elsewhere && snapshot <= crate::release::MAX_ROOT_VOLUME_GIB {
                return None;
            }
            root_volume_finding(rule, cx, ami, snapshot, requested)
        })
        .collect()
}

/// What the root volume EMR asks EC2 for (`EbsRootVolumeSize`, else the release's default from the
/// release table) says of an AMI whose root snapshot is `snapshot` GiB: EC2 refuses a root volume
/// smaller than its snapshot.
fn root_volume_finding(
    rule: &'static Rule,
    cx: &Context,
    ami: &str,
    snapshot: i32,
    requested: Option<i32>,
) -> Option<Finding> {
    use crate::release::MAX_ROOT_VOLUME_GIB;
    // Nothing EMR can be asked for fits: the largest EbsRootVolumeSize is 100 GiB.
    if snapshot > MAX_ROOT_VOLUME_GIB {
        let mut finding = rule
            .finding(
                Severity::Error,
                format!(
                    "{ami}'s root snapshot is {snapshot} GiB, more than the {MAX_ROOT_VOLUME_GIB} GiB EMR \
                     can give a root volume: no EbsRootVolumeSize fits, so instances can't launch"
                ),
            )
            .with("RootSnapshotGiB", snapshot)
            .with("MaxEbsRootVolumeSize", MAX_ROOT_VOLUME_GIB)
            .with("CustomAmiId", ami);
        if let Some(requested) = requested {
            finding = finding.with("EbsRootVolumeSize", requested);
        }
        return Some(finding);
    }
    match requested {
        Some(requested) if requested < snapshot => Some(
            rule.finding(
                Severity::Error,
                format!(
                    "EbsRootVolumeSize is {requested} GiB, smaller than {ami}'s {snapshot} GiB root snapshot"
                ),
            )
            .with("EbsRootVolumeSize", requested)
            .with("RootSnapshotGiB", snapshot)
            .with("CustomAmiId", ami),
        ),
        Some(_) => None,
        None => match cx.release.default_root_volume_gib() {
            Some(default) if default < snapshot => Some(
                rule.finding(
                    Severity::Error,
                    format!(
                        "EbsRootVolumeSize is not set, so EMR attaches {}'s default {default} GiB root volume, \
                         smaller than {ami}'s {snapshot} GiB root snapshot: EC2 refuses it; set \
                         EbsRootVolumeSize to at least {snapshot}",
                        cx.release
                    ),
                )
                .with("EbsRootVolumeSize", "(not set)")
                .with("DefaultRootVolumeGiB", default)
                .with("RootSnapshotGiB", snapshot)
                .with("CustomAmiId", ami),
            ),
            Some(_) => None,
            // A release past the release table: its default is not known, so say what is needed.
            None => Some(
                rule.finding(
                    Severity::Warning,
                    format!(
                        "EbsRootVolumeSize is not set and {}'s default root volume is not known (EA001): \
                         it must be at least {ami}'s {snapshot} GiB root snapshot",
                        cx.release
                    ),
                )
                .with("EbsRootVolumeSize", "(not set)")
                .with("RootSnapshotGiB", snapshot)
                .with("CustomAmiId", ami),
            ),
        },
    }
}

/// The domain name a VPC's instances get by default in a region.
fn standard_domain(region: &str) -> String {
    if region == "us-east-1" {
        "ec2.internal".to_string()
    } else {
        format!("{region}.compute.internal")
    }
}

fn dns_rotate_risk(
    rule: &'static Rule,
    subject: &ClusterSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    let cluster = subject.cluster;
    // A group added to a cluster defined elsewhere runs in that cluster's subnet, which is not here.
    if cluster.custom_amis().is_empty() || cluster.adds_to.is_some() {
        return vec![];
    }
    let standard = standard_domain(&cx.region);
    if cluster.subnet_ids.is_empty() {
        return vec![rule.finding(Severity::Warning,
            "not audited: the cluster names no subnet (EC2-Classic or the default VPC), so its DNS settings are unknown",
        )];
    }
    let mut findings = Vec::new();
    let mut seen_vpcs = BTreeSet::new();
    for subnet in &cluster.subnet_ids {
        match subject.region.network.dhcp_for_subnet(subnet) {
            Err(problem) => findings.push(
                rule.finding(
                    Severity::Warning,
                    format!("not audited: the DNS settings of {subnet} are unknown: {problem}"),
                )
                .with("SubnetId", subnet),
            ),
            Ok((vpc, _)) if !seen_vpcs.insert(vpc.to_string()) => {}
            Ok((vpc, dhcp)) => {
                let amazon_dns = dhcp
                    .domain_name_servers
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case("AmazonProvidedDNS"));
                let custom: Vec<&str> = dhcp
                    .domain_names
                    .iter()
                    .flat_map(|d| d.split_whitespace())
                    .filter(|d| *d != standard)
                    .collect();
                if amazon_dns && !custom.is_empty() {
                    findings.push(
                        rule.finding(Severity::Warning,
                            format!(
                                "{vpc} uses domain name {} with AmazonProvidedDNS: the AMI must not set `options rotate`",
                                custom.join(" ")
                            ),
                        )
                        .with("SubnetId", subnet)
                        .with("VpcId", vpc)
                        .with("DomainName", dhcp.domain_names.join(" "))
                        .with("DomainNameServers", dhcp.domain_name_servers.join(", ")),
                    );
                }
            }
        }
    }
    findings
}

fn repo_upgrade_disabled(
    rule: &'static Rule,
    subject: &ClusterSubject<'_>,
    _: &Context,
) -> Vec<Finding> {
    let cluster = subject.cluster;
    if cluster.repo_upgrade_on_boot.as_deref() != Some("NONE") || cluster.custom_amis().is_empty() {
        return vec![];
    }
    vec![
        rule.finding(Severity::Info,
            "RepoUpgradeOnBoot is NONE: security updates published after the custom AMI was built are not installed at boot",
        )
        .with("RepoUpgradeOnBoot", "NONE"),
    ]
}

fn plan_value_unresolved(
    rule: &'static Rule,
    subject: &ClusterSubject<'_>,
    _: &Context,
) -> Vec<Finding> {
    subject
        .cluster
        .unresolved
        .iter()
        .map(|problem| {
            rule.finding(Severity::Warning, format!("could not check {problem}"))
                .with("Unresolved", problem)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::facts::{ClusterFacts, DhcpOptions, ImageEvidence, RegionFacts};
    use crate::rules::testing::*;

    fn region() -> RegionFacts {
        let mut region = region_with(vec![m5(), m6g()], "emr-7.1.0", &["m5.xlarge", "m6g.xlarge"]);
        region
            .network
            .subnets
            .insert("subnet-1".into(), Ok("vpc-1".into()));
        region
            .network
            .vpcs
            .insert("vpc-1".into(), Ok("dopt-1".into()));
        region.network.dhcp_options.insert(
            "dopt-1".into(),
            Ok(DhcpOptions {
                domain_names: vec!["ec2.internal".into()],
                domain_name_servers: vec!["AmazonProvidedDNS".into()],
            }),
        );
        region
    }

    fn images() -> BTreeMap<String, ImageEvidence> {
        let image = good_image();
        BTreeMap::from([(image.image_id.clone(), evidence(image))])
    }

    const AMI: &str = "ami-0ea00000000000001";

    /// The rule's findings on the cluster (with the good image), as (rule, severity).
    fn run(
        id: &str,
        cluster: &ClusterFacts,
        region: &RegionFacts,
    ) -> Vec<(&'static str, Severity)> {
        let images = images();
        let subject = ClusterSubject {
            cluster,
            images: &images,
            region,
        };
        ids(cluster_findings(id, &subject, &context("emr-7.1.0")))
    }

    #[test]
    fn ea050_both_levels() {
        let both = cluster(
            Some(AMI),
            vec![
                slot("MASTER group", "m5.xlarge", None),
                slot("CORE group", "m5.xlarge", Some(AMI)),
            ],
        );
        // A running cluster reporting the cluster-level AMI again on a group: an echo, said at info.
        assert_eq!(run("EA050", &both, &region()), [("EA050", Severity::Info)]);
        // Planned, the same request is refused by AWS.
        let planned = ClusterFacts {
            planned: true,
            ..both.clone()
        };
        assert_eq!(
            run("EA050", &planned, &region()),
            [("EA050", Severity::Error)]
        );
        // A different AMI at instance level is two levels, running or planned.
        let other = cluster(
            Some(AMI),
            vec![slot(
                "CORE group",
                "m5.xlarge",
                Some("ami-0ea00000000000099"),
            )],
        );
        assert_eq!(
            run("EA050", &other, &region()),
            [("EA050", Severity::Error)]
        );
        let one = cluster(Some(AMI), vec![slot("MASTER group", "m5.xlarge", None)]);
        assert!(run("EA050", &one, &region()).is_empty());
    }

    #[test]
    fn ea051_cluster_ami_across_architectures() {
        let mixed = cluster(
            Some(AMI),
            vec![
                slot("CORE fleet", "m5.xlarge", None),
                slot("CORE fleet", "m6g.xlarge", None),
            ],
        );
        assert_eq!(
            run("EA051", &mixed, &region()),
            [("EA051", Severity::Error)]
        );
        let per_type = cluster(
            None,
            vec![
                slot("CORE fleet", "m5.xlarge", Some(AMI)),
                slot("CORE fleet", "m6g.xlarge", Some("ami-2")),
            ],
        );
        assert!(run("EA051", &per_type, &region()).is_empty());
    }

    #[test]
    fn ea052_partial_instance_level() {
        let partial = cluster(
            None,
            vec![
                slot("MASTER group", "m5.xlarge", Some(AMI)),
                slot("CORE group", "m5.xlarge", None),
            ],
        );
        assert_eq!(
            run("EA052", &partial, &region()),
            [("EA052", Severity::Error)]
        );
        let full = cluster(
            None,
            vec![
                slot("MASTER group", "m5.xlarge", Some(AMI)),
                slot("CORE group", "m5.xlarge", Some(AMI)),
            ],
        );
        assert!(run("EA052", &full, &region()).is_empty());
        let default_ami = cluster(None, vec![slot("MASTER group", "m5.xlarge", None)]);
        assert!(run("EA052", &default_ami, &region()).is_empty());
    }

    #[test]
    fn ea053_root_volume_below_snapshot() {
        let mut small = cluster(Some(AMI), vec![slot("MASTER group", "m5.xlarge", None)]);
        small.ebs_root_volume_gib = Some(15);
        assert_eq!(
            run("EA053", &small, &region()),
            [("EA053", Severity::Error)]
        );
        let mut fine = cluster(Some(AMI), vec![slot("MASTER group", "m5.xlarge", None)]);
        fine.ebs_root_volume_gib = Some(20);
        assert!(run("EA053", &fine, &region()).is_empty());
    }

    /// An image that could not be described leaves the size unknown: said, not passed.
    #[test]
    fn ea053_unread_image_is_not_audited_not_passed() {
        let mut sized = cluster(Some(AMI), vec![slot("MASTER group", "m5.xlarge", None)]);
        sized.ebs_root_volume_gib = Some(15);
        let mut images = images();
        if let Some(evidence) = images.get_mut(AMI) {
            evidence.lookup = ImageLookup::Failed(crate::facts::CollectError {
                service: "ec2".into(),
                action: "DescribeImages".into(),
                code: "RequestLimitExceeded".into(),
                message: "Request limit exceeded.".into(),
                status: Some(503),
            });
        }
        let region = region();
        let subject = ClusterSubject {
            cluster: &sized,
            images: &images,
            region: &region,
        };
        let found = cluster_findings("EA053", &subject, &context("emr-7.1.0"));
        assert_eq!(ids(found.clone()), [("EA053", Severity::Warning)]);
        assert!(
            found[0].message.starts_with("not audited"),
            "{:?}",
            found[0]
        );
    }

    /// The good image's root snapshot (20 GiB), with a cluster that sets no root size.
    fn unset_root(snapshot: i32, release: &str) -> Vec<Finding> {
        let mut image = good_image();
        if let Some(ebs) = image.block_devices.iter_mut().find_map(|d| d.ebs.as_mut()) {
            ebs.volume_size_gib = Some(snapshot);
        }
        let images = BTreeMap::from([(image.image_id.clone(), evidence(image))]);
        let mut unset = cluster(Some(AMI), vec![slot("MASTER group", "m5.xlarge", None)]);
        unset.ebs_root_volume_gib = None;
        let region = region();
        let subject = ClusterSubject {
            cluster: &unset,
            images: &images,
            region: &region,
        };
        cluster_findings("EA053", &subject, &context(release))
    }

    #[test]
    fn ea053_unset_root_size_uses_the_release_default() {
        // 7.x attaches 15 GiB by default: a 20 GiB snapshot doesn't fit, a 15 GiB one does.
        let over = unset_root(20, "emr-7.1.0");
        assert_eq!(ids(over.clone()), [("EA053", Severity::Error)]);
        assert!(
            over[0].message.contains("default 15 GiB"),
            "{}",
            over[0].message
        );
        assert!(unset_root(15, "emr-7.1.0").is_empty());
        // 6.9 attaches 10 GiB: a 12 GiB snapshot doesn't fit there, and does on 6.10.
        assert_eq!(
            ids(unset_root(12, "emr-6.9.0")),
            [("EA053", Severity::Error)]
        );
        assert!(unset_root(12, "emr-6.10.0").is_empty());
        // 12 GiB fits 7.x's 15 GiB default.
        assert!(unset_root(12, "emr-7.1.0").is_empty());
        // A release past the table: its default is unknown, said as a warning.
        assert_eq!(
            ids(unset_root(20, "emr-8.0.0")),
            [("EA053", Severity::Warning)]
        );
    }

    #[test]
    fn ea053_snapshot_over_100_gib_never_fits() {
        let never = unset_root(120, "emr-7.1.0");
        assert_eq!(ids(never.clone()), [("EA053", Severity::Error)]);
        assert!(never[0].message.contains("100 GiB"), "{}", never[0].message);
        // Even with the largest size asked for.
        let mut asked = cluster(Some(AMI), vec![slot("MASTER group", "m5.xlarge", None)]);
        asked.ebs_root_volume_gib = Some(100);
        let mut image = good_image();
        if let Some(ebs) = image.block_devices.iter_mut().find_map(|d| d.ebs.as_mut()) {
            ebs.volume_size_gib = Some(101);
        }
        let images = BTreeMap::from([(image.image_id.clone(), evidence(image))]);
        let region = region();
        let subject = ClusterSubject {
            cluster: &asked,
            images: &images,
            region: &region,
        };
        assert_eq!(
            ids(cluster_findings("EA053", &subject, &context("emr-7.1.0"))),
            [("EA053", Severity::Error)]
        );
    }

    #[test]
    fn ea054_custom_domain_with_amazon_dns() {
        let custom = cluster(Some(AMI), vec![slot("MASTER group", "m5.xlarge", None)]);
        assert!(run("EA054", &custom, &region()).is_empty());
        let mut corp = region();
        corp.network.dhcp_options.insert(
            "dopt-1".into(),
            Ok(DhcpOptions {
                domain_names: vec!["corp.example.com".into()],
                domain_name_servers: vec!["AmazonProvidedDNS".into()],
            }),
        );
        assert_eq!(run("EA054", &custom, &corp), [("EA054", Severity::Warning)]);
        let mut own_dns = corp.clone();
        own_dns.network.dhcp_options.insert(
            "dopt-1".into(),
            Ok(DhcpOptions {
                domain_names: vec!["corp.example.com".into()],
                domain_name_servers: vec!["10.0.0.2".into()],
            }),
        );
        assert!(run("EA054", &custom, &own_dns).is_empty());
        let default_ami = cluster(None, vec![slot("MASTER group", "m5.xlarge", None)]);
        assert!(run("EA054", &default_ami, &corp).is_empty());
    }

    #[test]
    fn ea054_standard_domain_depends_on_region() {
        let custom = cluster(Some(AMI), vec![slot("MASTER group", "m5.xlarge", None)]);
        let mut eu = region();
        eu.network.dhcp_options.insert(
            "dopt-1".into(),
            Ok(DhcpOptions {
                domain_names: vec!["eu-west-1.compute.internal".into()],
                domain_name_servers: vec!["AmazonProvidedDNS".into()],
            }),
        );
        let images = images();
        let subject = ClusterSubject {
            cluster: &custom,
            images: &images,
            region: &eu,
        };
        let mut cx = context("emr-7.1.0");
        cx.region = "eu-west-1".into();
        assert!(cluster_findings("EA054", &subject, &cx).is_empty());
        // In us-east-1 the same domain is not the standard one.
        assert_eq!(run("EA054", &custom, &eu), [("EA054", Severity::Warning)]);
        let mut no_subnet = custom.clone();
        no_subnet.subnet_ids.clear();
        assert_eq!(
            run("EA054", &no_subnet, &region()),
            [("EA054", Severity::Warning)]
        );
    }

    #[test]
    fn ea051_says_when_an_architecture_is_unknown() {
        let unknown = cluster(
            Some(AMI),
            vec![
                slot("CORE fleet", "m5.xlarge", None),
                slot("CORE fleet", "x9z.xlarge", None),
            ],
        );
        assert_eq!(
            run("EA051", &unknown, &region()),
            [("EA051", Severity::Warning)]
        );
    }

    #[test]
    fn ea055_repo_upgrade_none() {
        let mut none = cluster(Some(AMI), vec![slot("MASTER group", "m5.xlarge", None)]);
        none.repo_upgrade_on_boot = Some("NONE".into());
        assert_eq!(run("EA055", &none, &region()), [("EA055", Severity::Info)]);
        let security = cluster(Some(AMI), vec![slot("MASTER group", "m5.xlarge", None)]);
        assert!(run("EA055", &security, &region()).is_empty());
    }

    #[test]
    fn ea056_unresolved_plan_values() {
        let mut plan = cluster(Some(AMI), vec![slot("MASTER group", "m5.xlarge", None)]);
        plan.unresolved
            .push("Resources.Cluster.Properties.CustomAmiId: Ref AmiId has no value".into());
        assert_eq!(
            run("EA056", &plan, &region()),
            [("EA056", Severity::Warning)]
        );
        let resolved = cluster(Some(AMI), vec![]);
        assert!(run("EA056", &resolved, &region()).is_empty());
    }
}
