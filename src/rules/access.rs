//! EA030–EA033: who can launch the image, whether it is exposed, and how its root volume is encrypted.

use super::{CUSTOM_AMI_DOC, Check, Finding, ImageSubject, Rule, Severity};
use crate::context::Context;
use crate::facts::{LaunchAccess, LaunchPermission};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "EA030",
        name: "launch-permission",
        severity: Severity::Error,
        title: "The launching account may launch the AMI",
        explanation: "EMR launches the AMI with the cluster account's permissions: the AMI must be public, owned by that \
                      account, or shared with it (directly, or through its organization or organizational unit).",
        remediation: "Share the AMI with the account (`aws ec2 modify-image-attribute --launch-permission …`), or build \
                      it in that account.",
        source: "spec, best practices (launch permissions)",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(launch_permission),
    },
    Rule {
        id: "EA031",
        name: "public-image",
        severity: Severity::Warning,
        title: "An AMI of the auditing account is not public",
        explanation: "A public AMI exposes whatever was baked into it (configuration, credentials, data) to every AWS \
                      account. EMR never needs a custom AMI to be public.",
        remediation: "Make the AMI private and share it with the accounts that need it.",
        source: "EC2 User Guide, make an AMI public (security practice)",
        doc_url: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/sharingamis-intro.html",
        check: Check::Image(public_image),
    },
    Rule {
        id: "EA032",
        name: "root-volume-unencrypted",
        severity: Severity::Warning,
        title: "The AMI's root volume is encrypted",
        explanation: "Before EMR 5.24.0 an encrypted custom AMI is the only way to encrypt the root EBS volume; from 5.24.0 \
                      on a security configuration's local disk encryption does it (so it is informational there).",
        remediation: "Copy the AMI with `--encrypted`, or (5.24.0+) turn on EBS encryption in the security configuration.",
        source: "spec, opening list and note",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(root_volume_unencrypted),
    },
    Rule {
        id: "EA033",
        name: "kms-grants-for-service-role",
        severity: Severity::Info,
        title: "The EMR service role can use the root volume's KMS key",
        explanation: "When the root snapshot is encrypted with a customer managed KMS key, the EMR service role needs \
                      kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:CreateGrant, kms:GenerateDataKeyWithoutPlaintext and \
                      kms:DescribeKey on it, or instances fail to launch.",
        remediation: "Add those actions for the key to the EMR service role's policy (or the key policy).",
        source: "current AWS page (Using a custom AMI: encrypted root volume)",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(kms_grants_for_service_role),
    },
];

fn launch_permission(
    rule: &'static Rule,
    subject: &ImageSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    let Some(launcher) = cx.launching_account.as_deref() else {
        return vec![rule.finding(
            Severity::Warning,
            "the launching account is unknown (give --account); launch permission was not checked",
        )];
    };
    let owner = image.owner_id.as_deref().unwrap_or("(unknown)");
    if owner == launcher || image.public == Some(true) {
        return vec![];
    }
    let base = |severity, message: String| {
        rule.finding(severity, message)
            .with("Owner", owner)
            .with("LaunchingAccount", launcher)
    };
    match &subject.evidence.launch_access {
        LaunchAccess::Permissions(permissions) => {
            let listed = permissions.iter().any(|p| match p {
                LaunchPermission::Account(account) => account == launcher,
                LaunchPermission::Group(group) => group == "all",
                _ => false,
            });
            if listed {
                return vec![];
            }
            let orgs: Vec<&str> = permissions
                .iter()
                .filter_map(|p| match p {
                    LaunchPermission::Organization(arn)
                    | LaunchPermission::OrganizationalUnit(arn) => Some(arn.as_str()),
                    _ => None,
                })
                .collect();
            if orgs.is_empty() {
                vec![
                    base(
                        Severity::Error,
                        format!("the AMI is not shared with account {launcher}"),
                    )
                    .with("LaunchPermission", describe(permissions)),
                ]
            } else {
                vec![
                    base(
                        Severity::Warning,
                        format!(
                            "only an organization share could let account {launcher} launch the AMI: verify membership in {}",
                            orgs.join(", ")
                        ),
                    )
                    .with("LaunchPermission", describe(permissions)),
                ]
            }
        }
        LaunchAccess::ExecutableBySelf(true) => vec![],
        LaunchAccess::ExecutableBySelf(false) => vec![
            base(
                Severity::Error,
                format!("account {launcher} has no launch permission on the AMI"),
            )
            .with("ExecutableUsers", "self: not listed"),
        ],
        LaunchAccess::Failed(error) => {
            vec![base(Severity::Warning, format!("not audited: {error}"))]
        }
        LaunchAccess::NotFetched => vec![base(
            Severity::Warning,
            format!(
                "the AMI belongs to {owner} and is not public; launch permission for {launcher} can only be checked as \
                 its owner or as {launcher}"
            ),
        )],
    }
}

fn describe(permissions: &[LaunchPermission]) -> String {
    if permissions.is_empty() {
        return "(private: no one)".to_string();
    }
    permissions
        .iter()
        .map(|p| match p {
            LaunchPermission::Account(a) => format!("account {a}"),
            LaunchPermission::Group(g) => format!("group {g}"),
            LaunchPermission::Organization(o) => format!("organization {o}"),
            LaunchPermission::OrganizationalUnit(o) => format!("OU {o}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn public_image(rule: &'static Rule, subject: &ImageSubject<'_>, cx: &Context) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    let owned = cx.caller_account.is_some() && image.owner_id == cx.caller_account;
    if !owned || image.public != Some(true) {
        return vec![];
    }
    vec![
        rule.finding(
            Severity::Warning,
            "the AMI is public: every AWS account can launch and inspect it",
        )
        .with("Public", "true")
        .with("Owner", image.owner_id.as_deref().unwrap_or_default()),
    ]
}

fn root_encryption(subject: &ImageSubject<'_>) -> Option<(Option<bool>, String)> {
    let image = subject.evidence.found()?;
    if image.root_device_type.as_deref() != Some("ebs") {
        return None;
    }
    let ebs = image.root_device()?.ebs.as_ref()?;
    Some((
        ebs.encrypted,
        ebs.snapshot_id
            .clone()
            .unwrap_or_else(|| "(unknown snapshot)".into()),
    ))
}

fn root_volume_unencrypted(
    rule: &'static Rule,
    subject: &ImageSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    let Some((encrypted, snapshot)) = root_encryption(subject) else {
        return vec![];
    };
    match encrypted {
        Some(true) => vec![],
        Some(false) if cx.release.has_local_disk_encryption() => vec![
            rule.finding(Severity::Info,
                format!(
                    "the root snapshot is not encrypted; with {} use a security configuration's local disk encryption",
                    cx.release
                ),
            )
            .with("SnapshotId", snapshot)
            .with("Encrypted", "false"),
        ],
        Some(false) => vec![
            rule.finding(Severity::Warning,
                format!(
                    "the root snapshot is not encrypted; before 5.24.0 ({}) an encrypted AMI is the only way to encrypt the root volume",
                    cx.release
                ),
            )
            .with("SnapshotId", snapshot)
            .with("Encrypted", "false"),
        ],
        None => vec![
            rule.finding(Severity::Info, "DescribeImages did not say whether the root snapshot is encrypted")
                .with("SnapshotId", snapshot),
        ],
    }
}

fn kms_grants_for_service_role(
    rule: &'static Rule,
    subject: &ImageSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    let Some((Some(true), snapshot)) = root_encryption(subject) else {
        return vec![];
    };
    let owner = subject.evidence.found().and_then(|i| i.owner_id.clone());
    // AWS managed keys can't be shared, so a cross-account encrypted AMI is always under a customer managed key.
    let cross_account =
        owner.is_some() && cx.launching_account.is_some() && owner != cx.launching_account;
    let message = if cross_account {
        "the root snapshot is encrypted and shared across accounts, so its KMS key is customer managed: the EMR service \
         role needs grants on it"
    } else {
        "the root snapshot is encrypted: if its KMS key is customer managed, the EMR service role needs grants on it"
    };
    vec![
        rule.finding(Severity::Info, message)
            .with("SnapshotId", snapshot)
            .with("Encrypted", "true"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ImageEvidence, RegionFacts};
    use crate::rules::testing::*;

    fn with_access(access: LaunchAccess) -> ImageEvidence {
        let mut ev = evidence(good_image());
        ev.launch_access = access;
        ev
    }

    fn launching_elsewhere() -> Context {
        let mut cx = context("emr-7.1.0");
        cx.launching_account = Some(LAUNCHER.into());
        cx
    }

    #[test]
    fn ea030_quiet_for_owner_public_and_shared() {
        let region = RegionFacts::default();
        assert!(
            fired(
                "EA030",
                &evidence(good_image()),
                &region,
                &context("emr-7.1.0")
            )
            .is_empty()
        );
        let mut public = good_image();
        public.public = Some(true);
        assert!(fired("EA030", &evidence(public), &region, &launching_elsewhere()).is_empty());
        let shared = with_access(LaunchAccess::Permissions(vec![LaunchPermission::Account(
            LAUNCHER.into(),
        )]));
        assert!(fired("EA030", &shared, &region, &launching_elsewhere()).is_empty());
        assert!(
            fired(
                "EA030",
                &with_access(LaunchAccess::ExecutableBySelf(true)),
                &region,
                &launching_elsewhere()
            )
            .is_empty()
        );
    }

    #[test]
    fn ea030_fires_when_not_shared_and_warns_for_org_shares() {
        let region = RegionFacts::default();
        let other = with_access(LaunchAccess::Permissions(vec![LaunchPermission::Account(
            "555566667777".into(),
        )]));
        assert_eq!(
            fired("EA030", &other, &region, &launching_elsewhere()),
            [("EA030", Severity::Error)]
        );
        let org = with_access(LaunchAccess::Permissions(vec![
            LaunchPermission::Organization(
                "arn:aws:organizations::111122223333:organization/o-exampleorgid".into(),
            ),
        ]));
        let findings = findings("EA030", &org, &region, &launching_elsewhere());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
        assert!(findings[0].message.contains(
            "verify membership in arn:aws:organizations::111122223333:organization/o-exampleorgid"
        ));
        assert_eq!(
            fired(
                "EA030",
                &with_access(LaunchAccess::ExecutableBySelf(false)),
                &region,
                &launching_elsewhere()
            ),
            [("EA030", Severity::Error)]
        );
        assert_eq!(
            fired(
                "EA030",
                &with_access(LaunchAccess::NotFetched),
                &region,
                &launching_elsewhere()
            ),
            [("EA030", Severity::Warning)]
        );
    }

    #[test]
    fn ea030_public_group_ou_shares_and_failed_lookups() {
        let region = RegionFacts::default();
        let all = with_access(LaunchAccess::Permissions(vec![LaunchPermission::Group(
            "all".into(),
        )]));
        assert!(fired("EA030", &all, &region, &launching_elsewhere()).is_empty());
        let ou = with_access(LaunchAccess::Permissions(vec![
            LaunchPermission::OrganizationalUnit(
                "arn:aws:organizations::111122223333:ou/o-exampleorgid/ou-ab12-cdef3456".into(),
            ),
        ]));
        assert_eq!(
            fired("EA030", &ou, &region, &launching_elsewhere()),
            [("EA030", Severity::Warning)]
        );
        let private = with_access(LaunchAccess::Permissions(vec![]));
        let found = findings("EA030", &private, &region, &launching_elsewhere());
        assert_eq!(found[0].severity, Severity::Error);
        assert_eq!(found[0].evidence["LaunchPermission"], "(private: no one)");
        let failed = with_access(LaunchAccess::Failed(crate::facts::CollectError {
            service: "ec2".into(),
            action: "DescribeImageAttribute".into(),
            code: "UnauthorizedOperation".into(),
            message: "You are not authorized".into(),
            status: None,
        }));
        let found = findings("EA030", &failed, &region, &launching_elsewhere());
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(
            found[0].message.contains("not audited")
                && found[0]
                    .message
                    .contains("grant ec2:DescribeImageAttribute")
        );
    }

    #[test]
    fn ea031_public_and_owned() {
        let region = RegionFacts::default();
        let mut public = good_image();
        public.public = Some(true);
        assert_eq!(
            fired(
                "EA031",
                &evidence(public.clone()),
                &region,
                &context("emr-7.1.0")
            ),
            [("EA031", Severity::Warning)]
        );
        public.owner_id = Some("801119661308".into());
        assert!(fired("EA031", &evidence(public), &region, &context("emr-7.1.0")).is_empty());
        assert!(
            fired(
                "EA031",
                &evidence(good_image()),
                &region,
                &context("emr-7.1.0")
            )
            .is_empty()
        );
    }

    fn encrypted(value: bool) -> ImageEvidence {
        let mut image = good_image();
        if let Some(ebs) = image.block_devices[0].ebs.as_mut() {
            ebs.encrypted = Some(value);
        }
        evidence(image)
    }

    #[test]
    fn ea032_severity_depends_on_release() {
        let region = RegionFacts::default();
        assert_eq!(
            fired("EA032", &encrypted(false), &region, &context("emr-5.23.0")),
            [("EA032", Severity::Warning)]
        );
        assert_eq!(
            fired("EA032", &encrypted(false), &region, &context("emr-7.1.0")),
            [("EA032", Severity::Info)]
        );
        // 5.24.0 is the first release with local disk encryption.
        let at_boundary = fired("EA032", &encrypted(false), &region, &context("emr-5.24.0"));
        assert_eq!(at_boundary, [("EA032", Severity::Info)]);
        assert!(fired("EA032", &encrypted(true), &region, &context("emr-5.23.0")).is_empty());
    }

    #[test]
    fn ea033_only_for_encrypted_roots() {
        let region = RegionFacts::default();
        let findings = findings("EA033", &encrypted(true), &region, &launching_elsewhere());
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("shared across accounts"));
        assert!(fired("EA033", &encrypted(false), &region, &context("emr-7.1.0")).is_empty());
    }
}
