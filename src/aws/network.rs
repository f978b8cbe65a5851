//! EC2 networking for EA054: subnet → VPC → DHCP options, each a batched Describe call.

use super::{Answer, Aws};
use crate::facts::{CollectError, DhcpOptions};

impl Aws {
    /// Subnet → VPC (DescribeSubnets, one batch).
    pub async fn subnet_vpcs(
        &self,
        subnet_ids: &[String],
    ) -> Result<Vec<(String, String)>, CollectError> {
        self.calls.record("ec2", "DescribeSubnets");
        let output = self
            .ec2
            .describe_subnets()
            .set_subnet_ids(Some(subnet_ids.to_vec()))
            .send()
            .within(&self.gate, "ec2", "DescribeSubnets")
            .await?;
        Ok(output
            .subnets()
            .iter()
            .filter_map(|s| Some((s.subnet_id()?.to_string(), s.vpc_id()?.to_string())))
            .collect())
    }

    /// VPC → DHCP options set (DescribeVpcs, one batch).
    pub async fn vpc_dhcp_options(
        &self,
        vpc_ids: &[String],
    ) -> Result<Vec<(String, String)>, CollectError> {
        self.calls.record("ec2", "DescribeVpcs");
        let output = self
            .ec2
            .describe_vpcs()
            .set_vpc_ids(Some(vpc_ids.to_vec()))
            .send()
            .within(&self.gate, "ec2", "DescribeVpcs")
            .await?;
        Ok(output
            .vpcs()
            .iter()
            .filter_map(|v| Some((v.vpc_id()?.to_string(), v.dhcp_options_id()?.to_string())))
            .collect())
    }

    /// DHCP options sets (DescribeDhcpOptions, one batch).
    pub async fn dhcp_options(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, DhcpOptions)>, CollectError> {
        self.calls.record("ec2", "DescribeDhcpOptions");
        let output = self
            .ec2
            .describe_dhcp_options()
            .set_dhcp_options_ids(Some(ids.to_vec()))
            .send()
            .within(&self.gate, "ec2", "DescribeDhcpOptions")
            .await?;
        Ok(output
            .dhcp_options()
            .iter()
            .filter_map(|set| {
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
            })
            .collect())
    }
}
