//! EC2 networking for EA054: subnet → VPC → DHCP options, each a batched Describe call.

use super::Aws;
use super::settling::{Settled, is_id_not_found, settle_unknown};
use crate::facts::{CollectError, DhcpOptions};

/// Pairs of an asked ID and what was found for it, and the IDs EC2 says don't exist.
pub type Lookup<T> = (Vec<(String, T)>, Vec<(String, CollectError)>);

fn lookup<T>(settled: Settled<(String, T)>) -> Lookup<T> {
    (settled.found, settled.missing)
}

impl Aws {
    /// Subnet → VPC (DescribeSubnets, one batch; unknown subnets settle alone).
    pub async fn subnet_vpcs(&self, subnet_ids: &[String]) -> Result<Lookup<String>, CollectError> {
        settle_unknown(subnet_ids, "subnet-", is_id_not_found, |ids| async move {
            self.calls.record("ec2", "DescribeSubnets");
            let request = self.ec2().describe_subnets().set_subnet_ids(Some(ids));
            let output = &self
                .gate
                .ask("ec2", "DescribeSubnets", || request.clone().send())
                .await?;
            Ok(output
                .subnets()
                .iter()
                .filter_map(|s| Some((s.subnet_id()?.to_string(), s.vpc_id()?.to_string())))
                .collect())
        })
        .await
        .map(lookup)
    }

    /// VPC → DHCP options set (DescribeVpcs, one batch; unknown VPCs settle alone).
    pub async fn vpc_dhcp_options(
        &self,
        vpc_ids: &[String],
    ) -> Result<Lookup<String>, CollectError> {
        settle_unknown(vpc_ids, "vpc-", is_id_not_found, |ids| async move {
            self.calls.record("ec2", "DescribeVpcs");
            let request = self.ec2().describe_vpcs().set_vpc_ids(Some(ids));
            let output = &self
                .gate
                .ask("ec2", "DescribeVpcs", || request.clone().send())
                .await?;
            Ok(output
                .vpcs()
                .iter()
                .filter_map(|v| Some((v.vpc_id()?.to_string(), v.dhcp_options_id()?.to_string())))
                .collect())
        })
        .await
        .map(lookup)
    }

    /// DHCP options sets (DescribeDhcpOptions, one batch; unknown sets settle alone).
    pub async fn dhcp_options(&self, ids: &[String]) -> Result<Lookup<DhcpOptions>, CollectError> {
        settle_unknown(ids, "dopt-", is_id_not_found, |ids| async move {
            self.calls.record("ec2", "DescribeDhcpOptions");
            let request = self
                .ec2()
                .describe_dhcp_options()
                .set_dhcp_options_ids(Some(ids));
            let output = &self
                .gate
                .ask("ec2", "DescribeDhcpOptions", || request.clone().send())
                .await?;
            Ok(output.dhcp_options().iter().filter_map(dhcp_set).collect())
        })
        .await
        .map(lookup)
    }
}

/// One DHCP options set: its ID, and the domain names and servers it hands out.
fn dhcp_set(set: &aws_sdk_ec2::types::DhcpOptions) -> Option<(String, DhcpOptions)> {
    let mut options = DhcpOptions::default();
    for configuration in set.dhcp_configurations() {
        let values = configuration
            .values()
            .iter()
            .filter_map(|v| v.value().map(str::to_string));
        match configuration.key() {
            Some("domain-name") => options.domain_names.extend(values),
            Some("domain-name-servers") => options.domain_name_servers.extend(values),
            _ => {}
        }
    }
    Some((set.dhcp_options_id()?.to_string(), options))
}
