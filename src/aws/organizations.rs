//! AWS Organizations: the accounts of the caller's organization (`--accounts org`), all of them or
//! those under organizational units (`--ou`). Asked with the caller's own credentials, never an assumed
//! role: only the management account or a delegated administrator may list them. Organizations is
//! global; the SDK sends every region's requests to its one endpoint (us-east-1).

use super::Aws;
use super::integrity::IntegrityInterceptor;
use super::paging::{Page, every_page};
use crate::facts::CollectError;

/// A member account as Organizations lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    pub id: String,
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, … (the `State` field, else the older `Status`).
    pub state: String,
}

impl OrgAccount {
    /// Whether the account can be audited: suspended and closing accounts can't be signed in to.
    pub fn is_active(&self) -> bool {
        self.state == "ACTIVE"
    }
}

fn account(account: &aws_sdk_organizations::types::Account) -> Option<OrgAccount> {
    Some(OrgAccount {
        id: account.id()?.to_string(),
        name: account.name().unwrap_or_default().to_string(),
        state: account
            .state()
            .map(|s| s.as_str().to_string())
            .or_else(|| {
                #[allow(deprecated)]
                account.status().map(|s| s.as_str().to_string())
            })
            .unwrap_or_default(),
    })
}

impl Aws {
    /// An Organizations client with these clients' configuration (the caller's credentials), retried
    /// and checked like the others.
    fn organizations(&self) -> aws_sdk_organizations::Client {
        let config = aws_sdk_organizations::config::Builder::from(&self.config)
            .interceptor(IntegrityInterceptor)
            .retry_config(super::one_attempt());
        aws_sdk_organizations::Client::from_conf(config.build())
    }

    /// Every account of the organization (ListAccounts, every page).
    pub async fn organization_accounts(&self) -> Result<Vec<OrgAccount>, CollectError> {
        let client = &self.organizations();
        let gate = &self.gate;
        every_page(
            &self.calls,
            "organizations",
            "ListAccounts",
            |token| async move {
                let request = client.list_accounts().set_next_token(token);
                let output = gate
                    .ask("organizations", "ListAccounts", || request.clone().send())
                    .await?;
                Ok(Page::new(
                    output.accounts().iter().filter_map(account),
                    output.next_token(),
                ))
            },
        )
        .await
    }

    /// The accounts directly under organizational unit `ou` (ListAccountsForParent, every page).
    pub async fn accounts_in_ou(&self, ou: &str) -> Result<Vec<OrgAccount>, CollectError> {
        let client = &self.organizations();
        let gate = &self.gate;
        let action = "ListAccountsForParent";
        every_page(&self.calls, "organizations", action, |token| async move {
            let request = client
                .list_accounts_for_parent()
                .parent_id(ou)
                .set_next_token(token);
            let output = gate
                .ask("organizations", action, || request.clone().send())
                .await?;
            Ok(Page::new(
                output.accounts().iter().filter_map(account),
                output.next_token(),
            ))
        })
        .await
    }

    /// The organizational units directly under `ou` (ListOrganizationalUnitsForParent, every page).
    pub async fn child_ous(&self, ou: &str) -> Result<Vec<String>, CollectError> {
        let client = &self.organizations();
        let gate = &self.gate;
        let action = "ListOrganizationalUnitsForParent";
        every_page(&self.calls, "organizations", action, |token| async move {
            let request = client
                .list_organizational_units_for_parent()
                .parent_id(ou)
                .set_next_token(token);
            let output = gate
                .ask("organizations", action, || request.clone().send())
                .await?;
            Ok(Page::new(
                output
                    .organizational_units()
                    .iter()
                    .filter_map(|unit| unit.id().map(str::to_string)),
                output.next_token(),
            ))
        })
        .await
    }
}
