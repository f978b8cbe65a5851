//! EMR: the instance types a release supports in the region, the release labels, and clusters.

use std::collections::BTreeSet;

use aws_sdk_emr::types::{ClusterState, InstanceCollectionType};

use super::Aws;
use super::paging::{Page, each_page, every_page};
use crate::facts::cluster::container;
use crate::facts::{ClusterFacts, CollectError, InstanceCollection, InstanceSlot};

impl Aws {
    /// ListSupportedInstanceTypes for `release`, every page.
    pub async fn supported_instance_types(
        &self,
        release: &str,
    ) -> Result<BTreeSet<String>, CollectError> {
        let types = every_page(
            &self.calls,
            "emr",
            "ListSupportedInstanceTypes",
            |marker| async move {
                let request = self
                    .emr()
                    .list_supported_instance_types()
                    .release_label(release)
                    .set_marker(marker);
                let page = &self
                    .gate
                    .ask("emr", "ListSupportedInstanceTypes", || {
                        request.clone().send()
                    })
                    .await?;
                let types = page
                    .supported_instance_types()
                    .iter()
                    .filter_map(|t| t.r#type().map(str::to_string));
                Ok(Page::new(types, page.marker()))
            },
        )
        .await?;
        Ok(types.into_iter().collect())
    }
}

impl Aws {
    /// Every release label EMR offers in the region (ListReleaseLabels, every page), as EMR lists them.
    pub async fn release_labels(&self) -> Result<Vec<String>, CollectError> {
        every_page(
            &self.calls,
            "emr",
            "ListReleaseLabels",
            |token| async move {
                let request = self.emr().list_release_labels().set_next_token(token);
                let page = self
                    .gate
                    .ask("emr", "ListReleaseLabels", || request.clone().send())
                    .await?;
                Ok(Page::new(
                    page.release_labels().iter().cloned(),
                    page.next_token(),
                ))
            },
        )
        .await
    }
}

impl Aws {
    /// IDs of the clusters in `states`, created after `created_after` if given (ListClusters, every
    /// page), each page's handed to `take` as it arrives (describing them need not wait for the last
    /// page). On an error, the pages before it were taken.
    pub async fn list_clusters_each(
        &self,
        states: &[String],
        created_after: Option<chrono::DateTime<chrono::Utc>>,
        take: impl FnMut(Vec<String>),
    ) -> Result<(), CollectError> {
        let states: Vec<ClusterState> = states
            .iter()
            .map(|s| ClusterState::from(s.as_str()))
            .collect();
        let created_after =
            created_after.map(|t| aws_sdk_emr::primitives::DateTime::from_secs(t.timestamp()));
        let states = &states;
        let fetch = |marker| async move {
            let request = self
                .emr()
                .list_clusters()
                .set_cluster_states(Some(states.clone()))
                .set_created_after(created_after)
                .set_marker(marker);
            let page = &self
                .gate
                .ask("emr", "ListClusters", || request.clone().send())
                .await?;
            let ids = page
                .clusters()
                .iter()
                .filter_map(|c| c.id().map(str::to_string));
            Ok(Page::new(ids, page.marker()))
        };
        each_page(&self.calls, "emr", "ListClusters", fetch, take).await
    }

    /// DescribeCluster, then ListInstanceGroups or ListInstanceFleets (every page).
    pub async fn describe_cluster(&self, cluster_id: &str) -> Result<ClusterFacts, CollectError> {
        self.calls.record("emr", "DescribeCluster");
        let request = self.emr().describe_cluster().cluster_id(cluster_id);
        let output = &self
            .gate
            .ask("emr", "DescribeCluster", || request.clone().send())
            .await?;
        let cluster = output.cluster().ok_or_else(|| CollectError {
            service: "emr".into(),
            action: "DescribeCluster".into(),
            code: "EmptyAnswer".into(),
            message: format!("no cluster in the answer for {cluster_id}"),
            status: None,
        })?;
        let text = |v: Option<&str>| v.map(str::to_string);
        let collection = match cluster.instance_collection_type() {
            Some(InstanceCollectionType::InstanceFleet) => Some(InstanceCollection::InstanceFleets),
            Some(InstanceCollectionType::InstanceGroup) => Some(InstanceCollection::InstanceGroups),
            _ => None,
        };
        let mut subnet_ids: Vec<String> = Vec::new();
        if let Some(attributes) = cluster.ec2_instance_attributes() {
            for subnet in attributes.ec2_subnet_id().into_iter().chain(
                attributes
                    .requested_ec2_subnet_ids()
                    .iter()
                    .map(String::as_str),
            ) {
                if !subnet.is_empty() && !subnet_ids.iter().any(|s| s == subnet) {
                    subnet_ids.push(subnet.to_string());
                }
            }
        }
        let mut facts = ClusterFacts {
            cluster_id: cluster.id().unwrap_or(cluster_id).to_string(),
            name: text(cluster.name()),
            state: cluster
                .status()
                .and_then(|s| s.state())
                .map(|s| s.as_str().to_string()),
            release_label: text(cluster.release_label()),
            custom_ami_id: text(cluster.custom_ami_id()),
            applications: cluster
                .applications()
                .iter()
                .filter_map(|a| a.name().map(str::to_string))
                .collect(),
            ebs_root_volume_gib: cluster.ebs_root_volume_size(),
            repo_upgrade_on_boot: cluster
                .repo_upgrade_on_boot()
                .map(|r| r.as_str().to_string()),
            os_release_label: text(cluster.os_release_label()),
            collection,
            service_role: text(cluster.service_role()),
            instance_profile: text(
                cluster
                    .ec2_instance_attributes()
                    .and_then(|a| a.iam_instance_profile()),
            ),
            subnet_ids,
            instances: Vec::new(),
            unresolved: Vec::new(),
            adds_to: None,
            planned: false,
        };
        facts.instances = match collection {
            Some(InstanceCollection::InstanceFleets) => {
                self.instance_fleets(&facts.cluster_id).await?
            }
            _ => self.instance_groups(&facts.cluster_id).await?,
        };
        Ok(facts)
    }

    async fn instance_groups(&self, cluster_id: &str) -> Result<Vec<InstanceSlot>, CollectError> {
        every_page(
            &self.calls,
            "emr",
            "ListInstanceGroups",
            |marker| async move {
                let request = self
                    .emr()
                    .list_instance_groups()
                    .cluster_id(cluster_id)
                    .set_marker(marker);
                let page = &self
                    .gate
                    .ask("emr", "ListInstanceGroups", || request.clone().send())
                    .await?;
                let slots = page.instance_groups().iter().filter_map(|group| {
                    Some(InstanceSlot {
                        container: container(
                            group.instance_group_type().map(|t| t.as_str()),
                            "group",
                            group.id(),
                            group.name(),
                        ),
                        instance_type: group.instance_type()?.to_string(),
                        custom_ami_id: group.custom_ami_id().map(str::to_string),
                    })
                });
                Ok(Page::new(slots, page.marker()))
            },
        )
        .await
    }

    async fn instance_fleets(&self, cluster_id: &str) -> Result<Vec<InstanceSlot>, CollectError> {
        every_page(
            &self.calls,
            "emr",
            "ListInstanceFleets",
            |marker| async move {
                let request = self
                    .emr()
                    .list_instance_fleets()
                    .cluster_id(cluster_id)
                    .set_marker(marker);
                let page = &self
                    .gate
                    .ask("emr", "ListInstanceFleets", || request.clone().send())
                    .await?;
                let mut slots = Vec::new();
                for fleet in page.instance_fleets() {
                    let where_ = container(
                        fleet.instance_fleet_type().map(|t| t.as_str()),
                        "fleet",
                        fleet.id(),
                        fleet.name(),
                    );
                    for spec in fleet.instance_type_specifications() {
                        let Some(instance_type) = spec.instance_type() else {
                            continue;
                        };
                        slots.push(InstanceSlot {
                            container: where_.clone(),
                            instance_type: instance_type.to_string(),
                            custom_ami_id: spec.custom_ami_id().map(str::to_string),
                        });
                    }
                }
                Ok(Page::new(slots, page.marker()))
            },
        )
        .await
    }
}
