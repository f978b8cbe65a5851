//! A failed AWS call, as a fact.

use std::fmt;

use serde::Serialize;

/// A failed AWS call, kept as a fact so a target is reported "not audited" instead of dropped.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CollectError {
    /// `ec2`, `emr`, `sts`, …
    pub service: String,
    /// `DescribeImages`, …
    pub action: String,
    /// AWS error code (`UnauthorizedOperation`), or a transport failure's kind.
    pub code: String,
    /// One line, cut short: never a raw body.
    pub message: String,
    /// The HTTP status of the answer, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl CollectError {
    /// The IAM action that would have allowed the call.
    pub fn iam_action(&self) -> String {
        let service = match self.service.as_str() {
            "emr" => "elasticmapreduce",
            other => other,
        };
        format!("{service}:{}", self.action)
    }

    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_str(),
            "UnauthorizedOperation" | "AccessDenied" | "AccessDeniedException" | "AuthFailure"
        ) || self.code.starts_with("UnauthorizedOperation")
    }
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} failed: {}", self.service, self.action, self.code)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if self.is_access_denied() && self.service == "ebs" {
            // The EBS direct APIs also say AccessDenied when the caller may not use an encrypted
            // snapshot's KMS key (reason DEPENDENCY_ACCESS_DENIED).
            write!(
                f,
                " (grant {}, and kms:Decrypt on the snapshot's key if it is encrypted)",
                self.iam_action()
            )?;
        } else if self.is_access_denied() {
            write!(f, " (grant {})", self.iam_action())?;
        }
        Ok(())
    }
}
