//! EA030–EA033: who can launch the image, whether it is exposed, and how its root volume is encrypted.

use super::{CUSTOM_AMI_DOC, Check, Finding, ImageSubject, Rule, Severity};
use crate::context::Context;
use crate::facts::kms::{KeyFacts, KeyManager, RootKey, action_matches, allowances, arn_account};
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
        severity: Severity::Error,
        title: "The root volume's KMS key can be used by the launching account and the EMR roles",
        explanation: "An encrypted root snapshot is decrypted with its KMS key at every launch. The AWS managed key \
                      (alias/aws/ebs) can't be shared, so another account can't launch the AMI (error). A customer \
                      managed key must let the EMR service role and the instance profile's role use it (kms:Decrypt, \
                      kms:CreateGrant, kms:ReEncrypt*, kms:GenerateDataKeyWithoutPlaintext, kms:DescribeKey) through \
                      its key policy or grants; in an image audit, where the roles are unknown, the launching account \
                      must be allowed. The key is read only for the caller's own images (DescribeSnapshots, \
                      kms:DescribeKey, kms:GetKeyPolicy, kms:ListGrants); whatever could not be read is said.",
        remediation: "Re-encrypt the AMI with a customer managed key (`aws ec2 copy-image --encrypted --kms-key-id …`) to \
                      share it; add the EMR roles (or the launching account) to the key policy as key users.",
        source: "current AWS page (Using a custom AMI: encrypted root volume); EMR Management Guide, customize IAM roles",
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
        // Past the release table local disk encryption is assumed still there (EA001 warns).
        Some(false) if cx.release.has_local_disk_encryption() != Some(false) => vec![
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

/// What EMR needs of the root snapshot's key, as AWS's custom AMI page lists it.
const KEY_ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:CreateGrant",
    "kms:ReEncrypt*",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
];

/// The grant operations that stand for each of [`KEY_ACTIONS`] (a grant names operations, not actions).
fn grant_covers(operations: &[String], action: &str) -> bool {
    let wanted: &[&str] = match action {
        "kms:ReEncrypt*" => &["ReEncryptFrom", "ReEncryptTo"],
        other => &[other.trim_start_matches("kms:")],
    };
    wanted.iter().all(|w| operations.iter().any(|o| o == w))
}

fn kms_grants_for_service_role(
    rule: &'static Rule,
    subject: &ImageSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    let Some((Some(true), snapshot)) = root_encryption(subject) else {
        return vec![];
    };
    let owner = subject
        .evidence
        .found()
        .and_then(|i| i.owner_id.as_deref())
        .unwrap_or("(unknown)");
    let launcher = cx.launching_account.as_deref();
    let cross_account = launcher.is_some_and(|l| l != owner);
    let base = |severity, message: String| {
        rule.finding(severity, message)
            .with("SnapshotId", &snapshot)
            .with("Encrypted", "true")
    };
    let key = match &subject.evidence.root_key {
        // Collection only reads the keys of the caller's own images; say which gap left this one unread.
        RootKey::NotFetched => {
            let message = match cx.caller_account.as_deref() {
                None => "not audited: the caller's account is unknown, so the root snapshot's KMS key was not read"
                    .to_string(),
                Some(caller) if caller == owner => {
                    "not audited: the root device names no snapshot, so its KMS key can't be read".to_string()
                }
                Some(_) => format!(
                    "not audited: the root snapshot's KMS key can only be read by the AMI's owner ({owner}); it must \
                     let the launching account and the EMR roles use it"
                ),
            };
            return vec![base(Severity::Info, message)];
        }
        RootKey::Failed(error) => {
            return vec![base(Severity::Warning, format!("not audited: {error}"))];
        }
        RootKey::Unlisted(_) => {
            return vec![base(
                Severity::Warning,
                "not audited: DescribeSnapshots did not list the root snapshot with its KMS key"
                    .into(),
            )];
        }
        RootKey::Key(key) => key,
    };
    let keyed = |severity, message: String| base(severity, message).with("KmsKeyId", &key.key_id);
    match &key.manager {
        Err(error) => vec![keyed(Severity::Warning, format!("not audited: {error}"))],
        Ok(KeyManager::Aws) if cross_account => {
            let launcher = launcher.unwrap_or_default();
            vec![
                keyed(
                    Severity::Error,
                    format!(
                        "the root snapshot is encrypted with the AWS managed key, which can't be shared: account \
                         {launcher} can't launch the AMI"
                    ),
                )
                .with("KeyManager", "AWS")
                .with("LaunchingAccount", launcher),
            ]
        }
        Ok(KeyManager::Aws) => vec![],
        Ok(KeyManager::Other(manager)) => vec![keyed(
            Severity::Info,
            format!("not audited: KeyManager {manager} is not one this tool knows"),
        )],
        Ok(KeyManager::Customer) => customer_key(key, cx, launcher, cross_account)
            .into_iter()
            .map(|(severity, message, principal)| {
                keyed(severity, message)
                    .with("KeyManager", "CUSTOMER")
                    .with("Principal", principal)
            })
            .collect(),
    }
}

/// Who must be able to use the key: the EMR roles when the run knows them (a cluster or a plan), else the
/// launching account when it isn't the owner's. Each as (label, ARN or account ID).
fn key_users(cx: &Context, launcher: Option<&str>, cross_account: bool) -> Vec<(String, String)> {
    let role_arn = |name: &str| {
        if name.starts_with("arn:") {
            Some(name.to_string())
        } else {
            // A role's ARN from its name needs its account: the launching account's.
            launcher.map(|account| format!("arn:aws:iam::{account}:role/{name}"))
        }
    };
    let mut users = Vec::new();
    if let Some(arn) = cx.roles.service_role.as_deref().and_then(role_arn) {
        users.push(("the EMR service role".to_string(), arn));
    }
    // EMR requires the instance profile and its role to share a name (EMR Management Guide, customize IAM
    // roles), so the profile's name is the role's.
    if let Some(name) = cx.roles.instance_profile.as_deref() {
        let name = name.rsplit('/').next().unwrap_or(name);
        if let Some(arn) = role_arn(name) {
            users.push(("the instance profile's role".to_string(), arn));
        }
    }
    if users.is_empty()
        && cross_account
        && let Some(account) = launcher
    {
        users.push(("the launching account".to_string(), account.to_string()));
    }
    users
}

/// How a policy principal relates to a key user: names it, or names its whole account (whose IAM
/// policies then decide).
enum Match {
    Direct,
    Account,
}

fn principal_match(principal: &str, user: &str) -> Option<Match> {
    let user_account = arn_account(user).unwrap_or(user);
    let principal_account = arn_account(principal).unwrap_or(principal);
    if principal == "*" || principal == user {
        return Some(Match::Direct);
    }
    let is_root = principal.ends_with(":root") || !principal.contains(':');
    if principal_account == user_account {
        // For the launching account (no role known), any principal of it will do.
        if is_root || !user.contains(':') {
            return Some(if user.contains(':') {
                Match::Account
            } else {
                Match::Direct
            });
        }
    }
    None
}

/// EA033 for a customer managed key: what each key user lacks, or what could not be read.
fn customer_key(
    key: &KeyFacts,
    cx: &Context,
    launcher: Option<&str>,
    cross_account: bool,
) -> Vec<(Severity, String, String)> {
    let users = key_users(cx, launcher, cross_account);
    if users.is_empty() {
        // Same account and no roles known: the key is the launcher's own, nothing to match against.
        return vec![];
    }
    let everyone = users
        .iter()
        .map(|(_, who)| who.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let policy = match &key.policy {
        None => {
            let account = key.account().unwrap_or("(unknown)");
            return vec![(
                Severity::Info,
                format!(
                    "not audited: the customer managed key belongs to account {account}; its key policy and grants \
                     can only be read there"
                ),
                everyone,
            )];
        }
        Some(Err(error)) => {
            return vec![(Severity::Warning, format!("not audited: {error}"), everyone)];
        }
        Some(Ok(text)) => match allowances(text) {
            Ok(allowances) => allowances,
            Err(problem) => {
                return vec![(
                    Severity::Warning,
                    format!("not audited: {problem}"),
                    everyone,
                )];
            }
        },
    };
    let grants = match &key.grants {
        Some(Ok(grants)) => Ok(grants.as_slice()),
        Some(Err(error)) => Err(error.to_string()),
        None => Err("ListGrants was not asked".to_string()),
    };
    let mut findings = Vec::new();
    for (label, user) in &users {
        let mut missing = Vec::new();
        let mut delegated = Vec::new();
        for action in KEY_ACTIONS {
            let mut direct = false;
            let mut account = false;
            for allowance in &policy {
                if !allowance.actions.iter().any(|a| action_matches(a, action)) {
                    continue;
                }
                for principal in &allowance.principals {
                    match principal_match(principal, user) {
                        Some(Match::Direct) => direct = true,
                        Some(Match::Account) => account = true,
                        None => {}
                    }
                }
            }
            let granted = grants.as_ref().is_ok_and(|grants| {
                grants
                    .iter()
                    .any(|g| &g.grantee == user && grant_covers(&g.operations, action))
            });
            if direct || granted {
                continue;
            }
            if account {
                delegated.push(*action);
            } else {
                missing.push(*action);
            }
        }
        if !missing.is_empty() {
            let unread = match &grants {
                Ok(_) => String::new(),
                Err(error) => format!(" (grants not read: {error})"),
            };
            findings.push((
                Severity::Warning,
                format!(
                    "{label} {user} may not use the customer managed key: its key policy and grants allow no {}{unread}",
                    missing.join(", ")
                ),
                user.clone(),
            ));
        } else if !delegated.is_empty() {
            let account = arn_account(user).unwrap_or(user);
            findings.push((
                Severity::Info,
                format!(
                    "the key policy leaves {}'s use of the key to account {account}'s IAM policies, which were not \
                     read: {label} {user} needs {} there",
                    if label.starts_with("the launching") { "the account" } else { "the role" },
                    delegated.join(", ")
                ),
                user.clone(),
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{CollectError, ImageEvidence, ImageLookup, KeyGrant, RegionFacts};
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

    fn keyed(manager: Result<KeyManager, CollectError>) -> ImageEvidence {
        let mut ev = encrypted(true);
        ev.root_key = RootKey::Key(Box::new(KeyFacts {
            key_id: "arn:aws:kms:us-east-1:111122223333:key/k1".into(),
            manager,
            policy: None,
            grants: None,
        }));
        ev
    }

    fn customer(policy: &str, grants: Vec<KeyGrant>) -> ImageEvidence {
        let mut ev = keyed(Ok(KeyManager::Customer));
        if let RootKey::Key(key) = &mut ev.root_key {
            key.policy = Some(Ok(policy.to_string()));
            key.grants = Some(Ok(grants));
        }
        ev
    }

    fn denied(action: &str) -> CollectError {
        CollectError {
            service: "kms".into(),
            action: action.into(),
            code: "AccessDeniedException".into(),
            message: "not authorized".into(),
            status: Some(400),
        }
    }

    fn with_roles() -> Context {
        let mut cx = context("emr-7.1.0");
        cx.roles = crate::context::EmrRoles {
            service_role: Some("EMR_DefaultRole".into()),
            instance_profile: Some("EMR_EC2_DefaultRole".into()),
        };
        cx
    }

    const ROOT_ONLY: &str = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;
    const KEY_USERS: &str = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/EMR_DefaultRole","arn:aws:iam::111122223333:role/EMR_EC2_DefaultRole"]},"Action":["kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey","kms:CreateGrant"],"Resource":"*"}]}"#;

    #[test]
    fn ea033_quiet_for_unencrypted_roots() {
        let region = RegionFacts::default();
        assert!(fired("EA033", &encrypted(false), &region, &launching_elsewhere()).is_empty());
    }

    #[test]
    fn ea033_aws_managed_key_is_an_error_only_across_accounts() {
        let region = RegionFacts::default();
        let aws = keyed(Ok(KeyManager::Aws));
        let found = findings("EA033", &aws, &region, &launching_elsewhere());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Error);
        assert!(found[0].message.contains("can't be shared"));
        assert!(fired("EA033", &aws, &region, &context("emr-7.1.0")).is_empty());
    }

    #[test]
    fn ea033_customer_key_roles_missing_and_present() {
        let region = RegionFacts::default();
        // The policy delegates to IAM only: the roles' own policies decide (info, not read).
        let delegated = findings(
            "EA033",
            &customer(ROOT_ONLY, vec![]),
            &region,
            &with_roles(),
        );
        assert_eq!(delegated.len(), 2);
        assert!(delegated.iter().all(|f| f.severity == Severity::Info));
        // A policy naming other principals: both roles lack every action.
        let other = ROOT_ONLY.replace("111122223333:root", "999999999999:root");
        let missing = findings("EA033", &customer(&other, vec![]), &region, &with_roles());
        assert_eq!(missing.len(), 2);
        assert_eq!(missing[0].severity, Severity::Warning);
        assert!(missing[0].message.contains("kms:CreateGrant"));
        assert!(
            missing[0]
                .message
                .contains("arn:aws:iam::111122223333:role/EMR_DefaultRole")
        );
        // Key users in the policy: quiet.
        assert!(
            fired(
                "EA033",
                &customer(KEY_USERS, vec![]),
                &region,
                &with_roles()
            )
            .is_empty()
        );
        // Grants cover what the policy does not.
        let operations = [
            "Decrypt",
            "CreateGrant",
            "ReEncryptFrom",
            "ReEncryptTo",
            "GenerateDataKeyWithoutPlaintext",
            "DescribeKey",
        ];
        let grants = ["EMR_DefaultRole", "EMR_EC2_DefaultRole"]
            .iter()
            .map(|r| KeyGrant {
                grantee: format!("arn:aws:iam::111122223333:role/{r}"),
                operations: operations.iter().map(|o| o.to_string()).collect(),
            })
            .collect();
        assert!(fired("EA033", &customer(&other, grants), &region, &with_roles()).is_empty());
    }

    #[test]
    fn ea033_customer_key_and_the_launching_account() {
        let region = RegionFacts::default();
        let shared = ROOT_ONLY.replace("111122223333:root", &format!("{LAUNCHER}:root"));
        assert!(
            fired(
                "EA033",
                &customer(&shared, vec![]),
                &region,
                &launching_elsewhere()
            )
            .is_empty()
        );
        let found = findings(
            "EA033",
            &customer(ROOT_ONLY, vec![]),
            &region,
            &launching_elsewhere(),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(found[0].message.contains(LAUNCHER));
        // The launcher's own key, no roles known: nothing to match, quiet.
        assert!(
            fired(
                "EA033",
                &customer(ROOT_ONLY, vec![]),
                &region,
                &context("emr-7.1.0")
            )
            .is_empty()
        );
    }

    #[test]
    fn ea033_says_what_could_not_be_read() {
        let region = RegionFacts::default();
        let found = findings(
            "EA033",
            &keyed(Err(denied("DescribeKey"))),
            &region,
            &launching_elsewhere(),
        );
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(
            found[0]
                .message
                .starts_with("not audited: kms:DescribeKey failed")
        );
        assert!(found[0].message.contains("(grant kms:DescribeKey)"));
        let mut policy_denied = keyed(Ok(KeyManager::Customer));
        if let RootKey::Key(key) = &mut policy_denied.root_key {
            key.policy = Some(Err(denied("GetKeyPolicy")));
            key.grants = Some(Err(denied("ListGrants")));
        }
        let found = findings("EA033", &policy_denied, &region, &with_roles());
        assert!(found[0].message.contains("(grant kms:GetKeyPolicy)"));
        // Another account's key: its policy is not read, and that is said.
        let mut foreign = keyed(Ok(KeyManager::Customer));
        if let RootKey::Key(key) = &mut foreign.root_key {
            key.key_id = "arn:aws:kms:us-east-1:999988887777:key/k2".into();
        }
        let found = findings("EA033", &foreign, &region, &with_roles());
        assert_eq!(found[0].severity, Severity::Info);
        assert!(found[0].message.contains("belongs to account 999988887777"));
        // Not the caller's image: the key can't be learnt.
        let mut theirs = encrypted(true);
        if let ImageLookup::Found(image) = &mut theirs.lookup {
            image.owner_id = Some("999988887777".into());
        }
        let found = findings("EA033", &theirs, &region, &launching_elsewhere());
        assert_eq!(found[0].severity, Severity::Info);
        assert!(
            found[0]
                .message
                .contains("only be read by the AMI's owner (999988887777)")
        );
        let mut unknown_caller = launching_elsewhere();
        unknown_caller.caller_account = None;
        let found = findings("EA033", &encrypted(true), &region, &unknown_caller);
        assert!(found[0].message.contains("caller's account is unknown"));
        let mut failed = encrypted(true);
        failed.root_key = RootKey::Failed(CollectError {
            service: "ec2".into(),
            action: "DescribeSnapshots".into(),
            code: "UnauthorizedOperation".into(),
            message: "no".into(),
            status: None,
        });
        let found = findings("EA033", &failed, &region, &launching_elsewhere());
        assert!(found[0].message.contains("grant ec2:DescribeSnapshots"));
        let mut unlisted = encrypted(true);
        unlisted.root_key = RootKey::Unlisted("snap-1".into());
        assert_eq!(
            fired("EA033", &unlisted, &region, &launching_elsewhere()),
            [("EA033", Severity::Warning)]
        );
    }
}
