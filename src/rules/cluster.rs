//! EA050–EA056: how a cluster (running, or planned) uses its custom AMIs.

use std::collections::BTreeSet;

use super::{CUSTOM_AMI_DOC, Check, ClusterSubject, Finding, Rule, Severity};
use crate::context::Context;

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
        title: "EbsRootVolumeSize is not smaller than the AMI's root snapshot",
        explanation: "EC2 can't create a root volume smaller than the AMI's root snapshot, so instances fail to launch.",
        remediation: "Raise EbsRootVolumeSize to at least the AMI's root volume size, or leave it unset.",
        source: "EC2 launch requirement (block device mapping)",
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
        source: "emr-ami-audit plan",
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
    _: &Context,
) -> Vec<Finding> {
    let Some(requested) = subject.cluster.ebs_root_volume_gib else {
        return vec![];
    };
    subject
        .cluster
        .custom_amis()
        .iter()
        .filter_map(|ami| {
            let image = subject.images.get(ami)?.found()?;
            let snapshot = image.root_device()?.ebs.as_ref()?.volume_size_gib?;
            (requested < snapshot).then(|| {
                rule.finding(Severity::Error,
                    format!("EbsRootVolumeSize is {requested} GiB, smaller than {ami}'s {snapshot} GiB root snapshot"),
                )
                .with("EbsRootVolumeSize", requested)
                .with("RootSnapshotGiB", snapshot)
                .with("CustomAmiId", ami)
            })
        })
        .collect()
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
        let fine = cluster(Some(AMI), vec![slot("MASTER group", "m5.xlarge", None)]);
        assert!(run("EA053", &fine, &region()).is_empty());
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
