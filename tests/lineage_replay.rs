//! End-to-end: tracing AMIs to their bases (`mocks/lineage`) and the provenance rules on them.

mod common;

use common::*;
use serde_json::{Value, json};

const LINEAGE: &str = "mocks/lineage";

fn lab(n: u32) -> String {
    format!("ami-0aa000000000000{n:02x}")
}

fn lineage_json(args: &[&str]) -> (i32, Value) {
    let run = run(command()
        .args(["--replay", LINEAGE, "--now", NOW, "--format", "json"])
        .args(args));
    assert!(run.code != 2 && run.code != 3, "{args:?}: {}", run.stderr);
    (run.code, parse_report(&run))
}

/// The first command of the scenario: eight AMIs, one per lineage path, on emr-7.1.0.
fn eight() -> (i32, Value) {
    let ids: Vec<String> = [1, 2, 3, 4, 5, 6, 7, 10].into_iter().map(lab).collect();
    let mut args: Vec<&str> = vec!["image"];
    args.extend(ids.iter().map(String::as_str));
    args.extend(["--release", "emr-7.1.0", "--instance-type", "m5.xlarge"]);
    lineage_json(&args)
}

fn finding<'a>(target: &'a Value, rule: &str) -> Option<&'a Value> {
    target["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["rule"] == rule))
}

/// The provenance-related rules that fired on a target, as `rule:severity`.
fn provenance(target: &Value) -> Vec<String> {
    rule_severities(target)
        .into_iter()
        .filter(|r| {
            ["EA015", "EA016", "EA040", "EA041", "EA042"]
                .iter()
                .any(|id| r.starts_with(id))
        })
        .collect()
}

fn chain_ids(target: &Value) -> Vec<String> {
    target["lineage"]["chain"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| l["image_id"].as_str().unwrap_or("(name only)").to_string())
        .collect()
}

#[test]
fn each_lineage_path_names_the_base_and_how_it_is_known() {
    let (code, report) = eight();
    assert_eq!(code, 1);
    // GetImageAncestry: the whole chain in one answer.
    let one = target(&report, &lab(1));
    assert_eq!(
        chain_ids(one),
        ["ami-0aa0000000000a001", "ami-0ab00000000000001"]
    );
    assert_eq!(one["lineage"]["chain"][1]["source"], "ancestry");
    assert_eq!(one["lineage"]["notes"], json!([]));
    // GetImageAncestry failing (HTTP 500) falls back to SourceImageId, across regions.
    let two = target(&report, &lab(2));
    assert_eq!(
        chain_ids(two),
        ["ami-0cc0000000000a002", "ami-0cd00000000000001"]
    );
    assert_eq!(two["lineage"]["chain"][0]["source"], "source_image_id");
    assert_eq!(two["lineage"]["chain"][0]["region"], "us-west-2");
    assert_eq!(two["lineage"]["chain"][1]["owner_alias"], "amazon");
    let note = two["lineage"]["notes"][0].as_str().unwrap_or_default();
    assert!(note.contains("InternalError"), "{note}");
    // CreateImage from an instance: SourceInstanceId → DescribeInstances → its ImageId.
    let three = target(&report, &lab(3));
    assert_eq!(chain_ids(three), ["ami-0ab00000000000001"]);
    assert_eq!(three["lineage"]["chain"][0]["source"], "source_instance");
    // No source fields: the root snapshot's description names the instance.
    let four = target(&report, &lab(4));
    assert_eq!(chain_ids(four), ["ami-0ab00000000000004"]);
    let evidence = four["lineage"]["chain"][0]["evidence"]
        .as_str()
        .unwrap_or_default();
    assert!(
        evidence.contains("root snapshot snap-0aa0000000000d004"),
        "{evidence}"
    );
    // Packer tags on an image shared by another account (its snapshot and instance are not visible).
    let five = target(&report, &lab(5));
    assert_eq!(chain_ids(five), ["ami-0ab00000000000005"]);
    assert_eq!(five["lineage"]["chain"][0]["source"], "tag");
    // A name in the description, matched to Amazon's image by the family lookup.
    let six = target(&report, &lab(6));
    assert_eq!(chain_ids(six), ["ami-0ab00000000000006"]);
    assert_eq!(six["lineage"]["chain"][0]["source"], "text");
    // Nothing knowable.
    let seven = target(&report, &lab(7));
    assert_eq!(chain_ids(seven), Vec::<String>::new());
    assert!(
        seven["base"]
            .as_str()
            .is_some_and(|b| b.starts_with("not traced"))
    );
    // Every traced AMI names its base in one line.
    for n in [1, 2, 3, 4, 5, 6, 10] {
        let base = target(&report, &lab(n))["base"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(base.contains(" · via "), "{n}: {base}");
    }
}

#[test]
fn rules_fire_exactly_where_the_base_deserves_it() {
    let (_, report) = eight();
    let expected: [(u32, &[&str]); 8] = [
        (1, &[]),
        (2, &[]),
        (3, &["EA041:error"]),
        (4, &["EA016:error"]),
        (5, &["EA042:warning"]),
        (6, &["EA015:error", "EA042:warning"]),
        // The OS can't be told, so EA016 says the 7.x kernel line was not checked.
        (
            7,
            &["EA015:warning", "EA016:info", "EA040:info", "EA042:info"],
        ),
        (10, &["EA015:error"]),
    ];
    for (n, rules) in expected {
        assert_eq!(provenance(target(&report, &lab(n))), rules, "{}", lab(n));
    }
    let node = finding(target(&report, &lab(3)), "EA041").expect("EA041");
    assert_eq!(node["evidence"]["SourceInstance"], "i-0aa0000000000c003");
    assert!(
        node["evidence"]["Tag"]
            .as_str()
            .is_some_and(|t| t.starts_with("aws:elasticmapreduce:"))
    );
    let kernel = finding(target(&report, &lab(4)), "EA016").expect("EA016");
    assert_eq!(kernel["evidence"]["Kernel"], "6.12");
    assert!(
        kernel["evidence"]["BaseFrom"]
            .as_str()
            .is_some_and(|b| b.contains("i-0aa0000000000c004"))
    );
    let stale = finding(target(&report, &lab(5)), "EA042").expect("EA042");
    assert_eq!(stale["evidence"]["Created"], "2024-08-05");
    assert_eq!(
        stale["evidence"]["Newest"],
        "ami-0ab00000000000001 (al2023-ami-2023.9.20261110.0-kernel-6.1-x86_64)"
    );
    let ubuntu = finding(target(&report, &lab(10)), "EA015").expect("EA015");
    assert_eq!(ubuntu["evidence"]["Found"], "Ubuntu");
}

#[test]
fn the_newest_base_is_looked_up_once_per_family() {
    let (_, report) = eight();
    // Families: al2023 kernel-6.1 x86_64 (the bases of 01, 02, 03 and 05), kernel-6.12 (04), AL2 (06).
    let families: Vec<&str> = report["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["lineage"]["family"].as_str())
        .collect();
    assert_eq!(families.len(), 6);
    // One DescribeImages for the audited AMIs, one ExecutableBy=self, one for the ancestry's ancestors,
    // one for the walk's parents here and one per level in us-west-2, and one per family.
    assert_eq!(
        report["stats"]["api_calls"],
        json!({
            "sts:GetCallerIdentity": 1,
            "ec2:DescribeImages": 1 + 1 + 1 + 1 + 2 + 3,
            "ec2:DescribeInstanceTypes": 1,
            "emr:ListSupportedInstanceTypes": 1,
            "ec2:GetImageAncestry": 8,
            // The walk's root snapshot of L04, and (EA033) the KMS keys of the caller's encrypted roots.
            "ec2:DescribeSnapshots": 1 + 1,
            "ec2:DescribeInstances": 1,
            "kms:DescribeKey": 1,
        })
    );
}

#[test]
fn oozie_on_the_2018_08_11_base() {
    let base = ["image", &lab(8), "--release", "emr-5.29.0"];
    let (code, report) = lineage_json(&[&base[..], &["--application", "Oozie"]].concat());
    assert_eq!(code, 1);
    let t = target(&report, &lab(8));
    assert_eq!(provenance(t), ["EA040:error", "EA042:warning"]);
    let oozie = finding(t, "EA040").expect("EA040");
    assert_eq!(oozie["evidence"]["Created"], "2018-08-11");
    assert_eq!(
        oozie["evidence"]["Base"],
        "ami-0ab00000000000008 (amzn-ami-hvm-2018.03.0.20180811-x86_64-gp2)"
    );
    let (_, report) = lineage_json(&base);
    assert_eq!(
        provenance(target(&report, &lab(8))),
        ["EA040:warning", "EA042:warning"]
    );
    let (code, report) = lineage_json(&[&base[..], &["--application", "Spark,Hive"]].concat());
    assert_eq!(code, 0);
    assert_eq!(provenance(target(&report, &lab(8))), ["EA042:warning"]);
}

#[test]
fn a_derivative_base_is_a_warning() {
    let (code, report) = lineage_json(&[
        "image",
        &lab(9),
        "--release",
        "emr-6.15.0",
        "--instance-type",
        "m5.xlarge",
    ]);
    assert_eq!(code, 0);
    let t = target(&report, &lab(9));
    assert_eq!(provenance(t), ["EA015:warning"]);
    let derivative = finding(t, "EA015").expect("EA015");
    assert_eq!(
        derivative["evidence"]["Found"],
        "ECS-optimized Amazon Linux 2"
    );
}

#[test]
fn table_shows_the_base_line() {
    let run = run(command().args([
        "--replay",
        LINEAGE,
        "--now",
        NOW,
        "image",
        &lab(8),
        "--release",
        "emr-5.29.0",
    ]));
    assert!(
        run.stdout.contains(
            "  base: ami-0ab00000000000008 (amzn-ami-hvm-2018.03.0.20180811-x86_64-gp2) · Amazon Linux (AL1) · via GetImageAncestry"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn max_age_days_moves_the_staleness_threshold() {
    // The ECS base of 09 is 41 days old on the reference date.
    let (_, report) = lineage_json(&[
        "--max-age-days",
        "30",
        "image",
        &lab(9),
        "--release",
        "emr-6.15.0",
        "--instance-type",
        "m5.xlarge",
    ]);
    let stale = finding(target(&report, &lab(9)), "EA042").expect("EA042 at 30 days");
    assert_eq!(stale["evidence"]["AgeDays"], "41");
    let bad = run(command().args([
        "--replay",
        LINEAGE,
        "--max-age-days",
        "0",
        "image",
        &lab(9),
        "--release",
        "emr-6.15.0",
    ]));
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("max-age-days"), "{}", bad.stderr);
}

#[test]
fn a_copy_is_traced_through_its_snapshot_in_its_own_region() {
    // L02's parent in us-west-2 loses its SourceImageId: only its root snapshot's description (asked in
    // us-west-2, where the snapshot is) says it is a copy of Amazon's image there.
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&repo().join(LINEAGE), dir.path());
    let parent = dir
        .path()
        .join("ec2/DescribeImages.us-west-2.ami-0cc0000000000a002.xml");
    let xml = std::fs::read_to_string(&parent).expect("parent");
    let xml = xml
        .replace("<sourceImageId>ami-0cd00000000000001</sourceImageId>", "")
        .replace("<sourceImageRegion>us-west-2</sourceImageRegion>", "");
    std::fs::write(&parent, xml).expect("write");
    std::fs::write(
        dir.path().join("ec2/DescribeSnapshots.copy.xml"),
        r#"<DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>copy</requestId><snapshotSet><item><snapshotId>snap-0cc0000000000da02</snapshotId><ownerId>222233334444</ownerId><description>Copied for DestinationAmi ami-0cc0000000000a002 from SourceAmi ami-0cd00000000000001 for SourceSnapshot snap-0cd00000000000da1. Task created on 1,763,000,000,000.</description></item></snapshotSet></DescribeSnapshotsResponse>"#,
    )
    .expect("write");
    let index = dir.path().join("exchanges.json");
    let mut exchanges: Value =
        serde_json::from_str(&std::fs::read_to_string(&index).expect("index")).expect("json");
    exchanges["exchanges"]
        .as_array_mut()
        .expect("exchanges")
        .push(json!({
            "service": "ec2", "action": "DescribeSnapshots", "region": "us-west-2",
            "params": {"Filter": [{"Name": "snapshot-id", "Value": ["snap-0cc0000000000da02"]}]},
            "response": "ec2/DescribeSnapshots.copy.xml"
        }));
    std::fs::write(&index, exchanges.to_string()).expect("write index");

    let scenario = dir.path().display().to_string();
    let run = run(command()
        .args([
            "--replay", &scenario, "--now", NOW, "--format", "json", "image",
        ])
        .args([1, 2, 3, 4, 5, 6, 7, 10].map(lab))
        .args(["--release", "emr-7.1.0", "--instance-type", "m5.xlarge"]));
    let report = parse_report(&run);
    let two = target(&report, &lab(2));
    assert_eq!(
        chain_ids(two),
        ["ami-0cc0000000000a002", "ami-0cd00000000000001"]
    );
    assert_eq!(two["lineage"]["chain"][1]["source"], "snapshot_description");
    assert_eq!(two["lineage"]["chain"][1]["region"], "us-west-2");
    assert_eq!(provenance(two), Vec::<String>::new());
}
