//! The KMS key of an encrypted root snapshot: who manages it, and what its policy and grants let
//! principals do. Pure: `aws` fills these in, the EA033 rule reads them.

use serde_json::Value;

use super::error::CollectError;

/// What the collection learnt about the key of one image's encrypted root snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum RootKey {
    /// Not asked: the root is not an encrypted EBS snapshot, or the caller does not own the image
    /// (DescribeSnapshots only shows the owner's snapshots, so the key can't be learnt).
    NotFetched,
    /// DescribeSnapshots failed.
    Failed(CollectError),
    /// DescribeSnapshots did not list the snapshot, or listed it without a `KmsKeyId`.
    Unlisted(String),
    /// The snapshot's key and what was read about it.
    Key(Box<KeyFacts>),
}

/// Who manages a KMS key (DescribeKey's `KeyManager`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyManager {
    /// An AWS managed key (`alias/aws/ebs`): its policy can't be changed, so it can't be shared.
    Aws,
    Customer,
    /// A value this tool does not know.
    Other(String),
}

/// One grant of a key: who it lets do what (`Decrypt`, `CreateGrant`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrant {
    pub grantee: String,
    pub operations: Vec<String>,
}

/// A snapshot's key and what could be read about it. `None` means the call was not made (an AWS
/// managed key needs no policy read; another account's key policy can't be read from here).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyFacts {
    /// The snapshot's `KmsKeyId`: a key ARN.
    pub key_id: String,
    pub manager: Result<KeyManager, CollectError>,
    /// The key policy named `default`, as JSON text.
    pub policy: Option<Result<String, CollectError>>,
    pub grants: Option<Result<Vec<KeyGrant>, CollectError>>,
}

impl KeyFacts {
    /// The account in the key's ARN (`arn:aws:kms:us-east-1:111122223333:key/…`).
    pub fn account(&self) -> Option<&str> {
        arn_account(&self.key_id)
    }
}

/// The account field of an ARN, when it has one.
pub fn arn_account(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// One `Allow` statement of a key policy, reduced to what EA033 needs. Conditions are not evaluated:
/// EA033 counts a conditional allowance as allowing, because the usual one (`kms:GrantIsForAWSResource`
/// on kms:CreateGrant) holds for the grants EC2 makes at launch; the flag keeps the fact for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    /// `AWS` principals: ARNs, account IDs, or `*`.
    pub principals: Vec<String>,
    /// Actions as written (`kms:*`, `kms:ReEncrypt*`, `*`).
    pub actions: Vec<String>,
    pub conditional: bool,
}

/// The `Allow` statements of a key policy document, or why it could not be read. `Deny` statements
/// and `NotAction`/`NotPrincipal` are ignored, so the result is what the policy allows, not what a
/// principal may finally do: a Deny can still take an allowance away.
pub fn allowances(policy: &str) -> Result<Vec<Allowance>, String> {
    let document: Value =
        serde_json::from_str(policy).map_err(|e| format!("the key policy is not JSON: {e}"))?;
    let statements = match document.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => return Err("the key policy has no Statement".into()),
    };
    let strings = |value: Option<&Value>| -> Vec<String> {
        match value {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    Ok(statements
        .iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .map(|s| {
            let principals = match s.get("Principal") {
                Some(Value::String(star)) => vec![star.clone()],
                Some(Value::Object(map)) => strings(map.get("AWS")),
                _ => Vec::new(),
            };
            Allowance {
                principals,
                actions: strings(s.get("Action")),
                conditional: s.get("Condition").is_some(),
            }
        })
        .collect())
}

/// Whether an IAM action pattern (`kms:*`, `kms:ReEncrypt*`, `*`) covers `action` (`kms:Decrypt`).
/// IAM matches actions case-insensitively.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let (pattern, action) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    match pattern.split_once('*') {
        None => pattern == action,
        Some((prefix, rest)) => {
            action.starts_with(prefix) && (rest.is_empty() || action.ends_with(rest))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_match_with_wildcards() {
        assert!(action_matches("kms:*", "kms:Decrypt"));
        assert!(action_matches("kms:ReEncrypt*", "kms:ReEncryptFrom"));
        assert!(action_matches("KMS:decrypt", "kms:Decrypt"));
        assert!(action_matches("*", "kms:DescribeKey"));
        assert!(!action_matches("kms:Encrypt", "kms:Decrypt"));
    }

    #[test]
    fn policy_statements_are_read() {
        let policy = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
            {"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"},
            {"Effect":"Allow","Principal":{"AWS":["444455556666"]},"Action":["kms:Decrypt"],"Resource":"*",
             "Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}]}"#;
        let found = allowances(policy).expect("a policy");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].principals, ["arn:aws:iam::111122223333:root"]);
        assert!(found[1].conditional);
        assert!(allowances("not json").is_err());
        assert_eq!(
            arn_account("arn:aws:kms:us-east-1:111122223333:key/k"),
            Some("111122223333")
        );
        assert_eq!(arn_account("alias/aws/ebs"), None);
    }
}
