//! A synthetic account in the replay format, for the scan benchmark (`benches/scan.rs`) and the tests
//! of a scan's overlapping phases: clusters on instance groups and fleets (50 to a ListClusters page),
//! 200 custom AMIs built from one Amazon Linux base that GetImageAncestry names, 40 instance types, 4
//! releases, 20 VPCs.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

pub const AMIS: usize = 200;
pub const RELEASES: [&str; 4] = ["emr-7.1.0", "emr-7.0.0", "emr-6.15.0", "emr-6.10.0"];
pub const VPCS: usize = 20;
pub const PAGE: usize = 50; // clusters per ListClusters page, as EMR answers
pub const ACCOUNT: &str = "111122223333";

pub fn instance_types() -> Vec<String> {
    let families = ["m5", "m6i", "r5", "c5", "m6g", "r6g", "c6g", "m7g"];
    let sizes = ["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge"];
    families
        .iter()
        .flat_map(|f| sizes.iter().map(move |s| format!("{f}.{s}")))
        .collect()
}

pub fn ami(i: usize) -> String {
    format!("ami-{:017x}", 0xbe000 + i % AMIS)
}

pub fn subnet(i: usize) -> String {
    format!("subnet-{:017x}", 0x5b000 + i % VPCS)
}

pub struct Writer {
    pub dir: std::path::PathBuf,
    pub exchanges: Vec<Value>,
}

impl Writer {
    pub fn add(&mut self, service: &str, action: &str, params: Value, body: String) {
        self.add_scoped(service, action, params, body, None, None);
    }

    /// An answer only for requests made with `account`'s assumed credentials and in `region`.
    pub fn add_scoped(
        &mut self,
        service: &str,
        action: &str,
        params: Value,
        body: String,
        account: Option<&str>,
        region: Option<&str>,
    ) {
        let extension = if matches!(service, "emr" | "organizations") {
            "json"
        } else {
            "xml"
        };
        let file = format!("{service}/{action}.{:05}.{extension}", self.exchanges.len());
        let path = self.dir.join(&file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, body).expect("write body");
        let mut exchange =
            json!({"service": service, "action": action, "params": params, "response": file});
        if let Some(account) = account {
            exchange["account"] = json!(account);
        }
        if let Some(region) = region {
            exchange["region"] = json!(region);
        }
        self.exchanges.push(exchange);
    }

    pub fn finish(self, region: &str) {
        std::fs::write(
            self.dir.join("exchanges.json"),
            json!({"region": region, "exchanges": self.exchanges}).to_string(),
        )
        .expect("write exchanges");
    }
}

pub fn ec2(action: &str, set: &str, items: &str) -> String {
    format!(
        "<{action}Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>bench</requestId><{set}>{items}</{set}></{action}Response>"
    )
}

/// Write the scenario; returns the floor of calls per action the tool must make.
pub fn generate(dir: &Path, clusters: usize) -> BTreeMap<String, u64> {
    let types = instance_types();
    let mut w = Writer {
        dir: dir.to_path_buf(),
        exchanges: Vec::new(),
    };
    w.add("sts", "GetCallerIdentity", json!({}), format!(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::{ACCOUNT}:role/bench</Arn><UserId>AROABENCH:bench</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></GetCallerIdentityResponse>"));
    let states = json!(["BOOTSTRAPPING", "RUNNING", "STARTING", "WAITING"]);
    let ids: Vec<String> = (0..clusters).map(|i| format!("j-BENCH{i:08}")).collect();
    let pages: Vec<&[String]> = ids.chunks(PAGE).collect();
    for (p, page) in pages.iter().enumerate() {
        let summaries: Vec<Value> = page
            .iter()
            .map(|id| json!({"Id": id, "Name": id, "Status": {"State": "RUNNING"}}))
            .collect();
        let mut body = json!({"Clusters": summaries});
        if p + 1 < pages.len() {
            body["Marker"] = json!(format!("page-{}", p + 1));
        }
        let mut params = json!({"ClusterStates": states});
        if p > 0 {
            params["Marker"] = json!(format!("page-{p}"));
        }
        w.add("emr", "ListClusters", params, body.to_string());
    }
    for (i, id) in ids.iter().enumerate() {
        let fleets = i % 2 == 1;
        let t = |k: usize| types[(i * 3 + k) % types.len()].clone();
        let mut cluster = json!({
            "Id": id, "Name": format!("bench-{i}"), "Status": {"State": "RUNNING"},
            "Ec2InstanceAttributes": {"Ec2SubnetId": subnet(i)},
            "InstanceCollectionType": if fleets { "INSTANCE_FLEET" } else { "INSTANCE_GROUP" },
            "ReleaseLabel": RELEASES[i % RELEASES.len()],
            "Applications": [{"Name": "Hadoop"}, {"Name": "Spark"}],
            "EbsRootVolumeSize": 20, "RepoUpgradeOnBoot": "SECURITY",
        });
        if !fleets {
            cluster["CustomAmiId"] = json!(ami(i));
        }
        w.add(
            "emr",
            "DescribeCluster",
            json!({"ClusterId": id}),
            json!({"Cluster": cluster}).to_string(),
        );
        if fleets {
            let body = json!({"InstanceFleets": [
                {"Id": format!("if-M{i:010}"), "InstanceFleetType": "MASTER", "InstanceTypeSpecifications": [{"InstanceType": t(0), "CustomAmiId": ami(i)}]},
                {"Id": format!("if-C{i:010}"), "InstanceFleetType": "CORE", "InstanceTypeSpecifications": [
                    {"InstanceType": t(1), "CustomAmiId": ami(i + 1)}, {"InstanceType": t(2), "CustomAmiId": ami(i + 2)}]}]});
            w.add(
                "emr",
                "ListInstanceFleets",
                json!({"ClusterId": id}),
                body.to_string(),
            );
        } else {
            let body = json!({"InstanceGroups": [
                {"Id": format!("ig-M{i:010}"), "Name": "Primary", "InstanceGroupType": "MASTER", "InstanceType": t(0)},
                {"Id": format!("ig-C{i:010}"), "Name": "Core", "InstanceGroupType": "CORE", "InstanceType": t(1)}]});
            w.add(
                "emr",
                "ListInstanceGroups",
                json!({"ClusterId": id}),
                body.to_string(),
            );
        }
    }
    // Per run: images in batches of 100 (sorted, as the tool asks), one instance-type batch, EMR's list
    // per release, and one batch per network level.
    let mut all_amis: Vec<String> = (0..AMIS).map(ami).collect();
    all_amis.sort();
    for chunk in all_amis.chunks(100) {
        let items: String = chunk.iter().map(|id| format!(
            "<item><imageId>{id}</imageId><imageState>available</imageState><imageOwnerId>{ACCOUNT}</imageOwnerId><isPublic>false</isPublic><architecture>x86_64</architecture><name>bench-al2023-ami-2023.6.20241111.0-kernel-6.1-x86_64</name><rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping><item><deviceName>/dev/xvda</deviceName><ebs><snapshotId>snap-0123456789abcdef0</snapshotId><volumeSize>20</volumeSize><volumeType>gp3</volumeType><encrypted>false</encrypted></ebs></item></blockDeviceMapping><virtualizationType>hvm</virtualizationType><enaSupport>true</enaSupport><bootMode>uefi-preferred</bootMode></item>")).collect();
        w.add(
            "ec2",
            "DescribeImages",
            json!({"ImageId": chunk}),
            ec2("DescribeImages", "imagesSet", &items),
        );
    }
    // Lineage: every AMI was built from one Amazon AL2023 base, as GetImageAncestry says (one call per
    // AMI: the API takes one ID); the base is described once and its family looked up once.
    let base = "ami-0b100000000000001";
    let base_name = "al2023-ami-2023.6.20241111.0-kernel-6.1-x86_64";
    for id in &all_amis {
        let items = format!(
            "<item><creationDate>2026-11-20T08:00:00.000Z</creationDate><imageId>{id}</imageId><sourceImageId>{base}</sourceImageId><sourceImageRegion>us-east-1</sourceImageRegion></item><item><creationDate>2026-11-11T22:10:04.000Z</creationDate><imageId>{base}</imageId><imageOwnerAlias>amazon</imageOwnerAlias></item>"
        );
        w.add(
            "ec2",
            "GetImageAncestry",
            json!({"ImageId": id}),
            ec2("GetImageAncestry", "imageAncestryEntrySet", &items),
        );
    }
    let base_item = format!(
        "<item><imageId>{base}</imageId><imageState>available</imageState><imageOwnerId>137112412989</imageOwnerId><imageOwnerAlias>amazon</imageOwnerAlias><isPublic>true</isPublic><creationDate>2026-11-11T22:10:04.000Z</creationDate><architecture>x86_64</architecture><name>{base_name}</name><rootDeviceType>ebs</rootDeviceType><virtualizationType>hvm</virtualizationType></item>"
    );
    w.add(
        "ec2",
        "DescribeImages",
        json!({"ImageId": [base]}),
        ec2("DescribeImages", "imagesSet", &base_item),
    );
    w.add(
        "ec2",
        "DescribeImages",
        json!({"Owner": ["amazon"], "Filter": [{"Name": "name", "Value": ["al2023-ami-*-kernel-6.1-x86_64"]}]}),
        ec2("DescribeImages", "imagesSet", &base_item),
    );
    let type_items: String = types.iter().map(|t| {
        let arch = if t.contains('g') && !t.starts_with("m5") && !t.starts_with("c5") && !t.starts_with("r5") { "arm64" } else { "x86_64" };
        format!("<item><instanceType>{t}</instanceType><processorInfo><supportedArchitectures><item>{arch}</item></supportedArchitectures></processorInfo><supportedBootModes><item>uefi</item></supportedBootModes><networkInfo><enaSupport>required</enaSupport></networkInfo></item>")
    }).collect();
    w.add(
        "ec2",
        "DescribeInstanceTypes",
        json!({"InstanceType": types}),
        ec2("DescribeInstanceTypes", "instanceTypeSet", &type_items),
    );
    for release in RELEASES {
        let supported: Vec<Value> = types.iter().map(|t| json!({"Type": t})).collect();
        w.add(
            "emr",
            "ListSupportedInstanceTypes",
            json!({"ReleaseLabel": release}),
            json!({"SupportedInstanceTypes": supported}).to_string(),
        );
    }
    let subnets: Vec<String> = (0..VPCS).map(subnet).collect();
    let vpc = |i: usize| format!("vpc-{:017x}", 0x7c000 + i);
    let dopt = |i: usize| format!("dopt-{:017x}", 0xd0000 + i);
    let items: String = (0..VPCS)
        .map(|i| {
            format!(
                "<item><subnetId>{}</subnetId><vpcId>{}</vpcId></item>",
                subnet(i),
                vpc(i)
            )
        })
        .collect();
    w.add(
        "ec2",
        "DescribeSubnets",
        json!({"SubnetId": subnets}),
        ec2("DescribeSubnets", "subnetSet", &items),
    );
    let items: String = (0..VPCS)
        .map(|i| {
            format!(
                "<item><vpcId>{}</vpcId><dhcpOptionsId>{}</dhcpOptionsId></item>",
                vpc(i),
                dopt(i)
            )
        })
        .collect();
    w.add(
        "ec2",
        "DescribeVpcs",
        json!({"VpcId": (0..VPCS).map(vpc).collect::<Vec<_>>()}),
        ec2("DescribeVpcs", "vpcSet", &items),
    );
    let items: String = (0..VPCS).map(|i| format!("<item><dhcpOptionsId>{}</dhcpOptionsId><dhcpConfigurationSet><item><key>domain-name</key><valueSet><item><value>ec2.internal</value></item></valueSet></item><item><key>domain-name-servers</key><valueSet><item><value>AmazonProvidedDNS</value></item></valueSet></item></dhcpConfigurationSet></item>", dopt(i))).collect();
    w.add(
        "ec2",
        "DescribeDhcpOptions",
        json!({"DhcpOptionsId": (0..VPCS).map(dopt).collect::<Vec<_>>()}),
        ec2("DescribeDhcpOptions", "dhcpOptionsSet", &items),
    );
    let index = json!({"description": format!("synthetic benchmark account: {clusters} clusters"), "region": "us-east-1", "exchanges": w.exchanges});
    std::fs::write(
        dir.join("exchanges.json"),
        serde_json::to_string_pretty(&index).expect("json"),
    )
    .expect("write index");

    let groups = clusters.div_ceil(2) as u64;
    let fleets = (clusters / 2) as u64;
    BTreeMap::from([
        ("sts:GetCallerIdentity".to_string(), 1),
        ("emr:ListClusters".to_string(), pages.len() as u64),
        ("emr:DescribeCluster".to_string(), clusters as u64),
        ("emr:ListInstanceGroups".to_string(), groups),
        ("emr:ListInstanceFleets".to_string(), fleets),
        // The audited AMIs, the base they share, and the base's family.
        (
            "ec2:DescribeImages".to_string(),
            AMIS.div_ceil(100) as u64 + 2,
        ),
        ("ec2:GetImageAncestry".to_string(), AMIS as u64),
        ("ec2:DescribeInstanceTypes".to_string(), 1),
        (
            "emr:ListSupportedInstanceTypes".to_string(),
            RELEASES.len() as u64,
        ),
        ("ec2:DescribeSubnets".to_string(), 1),
        ("ec2:DescribeVpcs".to_string(), 1),
        ("ec2:DescribeDhcpOptions".to_string(), 1),
    ])
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .collect()
}
