//! Launch plans: a RunJobFlow request (JSON, as SDKs and `--cli-input-json` take it) or a
//! CloudFormation template (JSON or YAML) with `AWS::EMR::Cluster` resources, read into the same
//! [`ClusterFacts`] a running cluster gives, so every cluster and image rule applies before launch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::facts::cluster::container;
use crate::facts::{ClusterFacts, InstanceCollection, InstanceSlot};
use crate::input_file::{self, InputFileError};
use crate::release::Release;
use crate::validate;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Not a regular file, larger than [`input_file::PLAN_CAP`], unreadable or not text.
    #[error(transparent)]
    File(#[from] InputFileError),
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {at}: {problem}")]
    Shape {
        path: PathBuf,
        at: String,
        problem: String,
    },
    #[error("{path}: not a launch plan: {reason}")]
    Unsupported { path: PathBuf, reason: String },
    #[error("invalid --parameter '{0}': expected KEY=VALUE")]
    Parameter(String),
}

/// Before any call: the plan is a regular file (not a directory, FIFO or device) within
/// [`input_file::PLAN_CAP`], and reads whole into clusters (every key known, every value of its shape),
/// with `AWS::Region` not yet known. [`load`] reads it again once the region is.
pub fn check_file(path: &Path, parameters: &BTreeMap<String, String>) -> Result<(), PlanError> {
    let text = read_file(path)?;
    from_text(path, &text, parameters, None).map(|_| ())
}

fn read_file(path: &Path) -> Result<String, PlanError> {
    Ok(input_file::read_to_string(
        path,
        "plan file",
        input_file::PLAN_CAP,
    )?)
}

/// `KEY=VALUE` pairs from `--parameter`.
pub fn parameters(pairs: &[String]) -> Result<BTreeMap<String, String>, PlanError> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
            _ => Err(PlanError::Parameter(pair.clone())),
        })
        .collect()
}

/// Read a plan file into the clusters it would launch. IDs are `FILE` for a RunJobFlow request and
/// `FILE:LogicalId` for template resources.
pub fn load(
    path: &Path,
    parameters: &BTreeMap<String, String>,
    region: &str,
) -> Result<Vec<ClusterFacts>, PlanError> {
    let text = read_file(path)?;
    from_text(path, &text, parameters, Some(region))
}

/// The clusters of a plan's text; `path` names it in errors and IDs. Without a region, `AWS::Region`
/// is noted as unresolved.
pub fn from_text(
    path: &Path,
    text: &str,
    parameters: &BTreeMap<String, String>,
    region: Option<&str>,
) -> Result<Vec<ClusterFacts>, PlanError> {
    let document = parse(path, text)?;
    let Value::Object(root) = &document else {
        return Err(unsupported(path, "the document is not an object"));
    };
    let mut reader = Reader {
        path: path.to_path_buf(),
        parameters: parameters.clone(),
        region: region.map(str::to_string),
        unresolved: Vec::new(),
    };
    let mut clusters = if let Some(resources) = root.get("Resources") {
        reader.known_keys(root, "(document)", keys::TEMPLATE)?;
        reader.add_template_defaults(root.get("Parameters"))?;
        reader.template(resources)?
    } else if ["ReleaseLabel", "Instances", "Name"]
        .iter()
        .any(|k| root.contains_key(*k))
    {
        let mut cluster = reader.cluster(&document, "", path.display().to_string())?;
        cluster.unresolved = std::mem::take(&mut reader.unresolved);
        vec![cluster]
    } else {
        return Err(unsupported(
            path,
            "expected a CloudFormation template (Resources) or a RunJobFlow request (Name, ReleaseLabel, Instances)",
        ));
    };
    for cluster in &mut clusters {
        cluster.planned = true;
    }
    Ok(clusters)
}

fn unsupported(path: &Path, reason: &str) -> PlanError {
    PlanError::Unsupported {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// JSON when it looks like JSON, else YAML with CloudFormation's short-form tags (`!Ref`, `!Sub`, …).
fn parse(path: &Path, text: &str) -> Result<Value, PlanError> {
    let json = path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    if json {
        return serde_json::from_str(text).map_err(|e| PlanError::Syntax {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        });
    }
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        PlanError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: e.to_string(),
        }
    })?;
    yaml_to_json(yaml).map_err(|problem| PlanError::Shape {
        path: path.to_path_buf(),
        at: "(document)".into(),
        problem,
    })
}

fn yaml_to_json(value: serde_yaml_ng::Value) -> Result<Value, String> {
    use serde_yaml_ng::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).map_err(|e| e.to_string())?,
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(map) => {
            let mut object = Map::new();
            for (key, value) in map {
                let key = match key {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                object.insert(key, yaml_to_json(value)?);
            }
            Value::Object(object)
        }
        Y::Tagged(tagged) => {
            // `!Ref X` is `{"Ref": "X"}`, `!Condition X` is `{"Condition": "X"}`, `!Sub …` is `{"Fn::Sub": …}`.
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let key = match name {
                "Ref" | "Condition" => name.to_string(),
                other => format!("Fn::{other}"),
            };
            let mut object = Map::new();
            object.insert(key, yaml_to_json(tagged.value)?);
            Value::Object(object)
        }
    })
}

/// The function of a value only deployment resolves: an object of one key, `Ref` or `Fn::…`.
fn intrinsic(value: &Value) -> Option<&str> {
    let object = value.as_object().filter(|o| o.len() == 1)?;
    let (key, _) = object.iter().next()?;
    (key == "Ref" || key.starts_with("Fn::")).then_some(key.as_str())
}

/// "unknown key 'X'", with the known key it most likely meant.
fn unknown_key(key: &str, known: &[&str]) -> String {
    let shown = printable(key);
    match suggestion(key, known) {
        Some(meant) => format!("unknown key '{shown}' (did you mean '{meant}'?)"),
        None => format!("unknown key '{shown}'"),
    }
}

/// The known name that `given` most likely meant: the same but for case, else the closest within a
/// few edits (a third of its length, 1 to 3), as cfn-lint's E3002 suggests.
fn suggestion<'k>(given: &str, known: &[&'k str]) -> Option<&'k str> {
    if let Some(same) = known.iter().find(|k| k.eq_ignore_ascii_case(given)) {
        return Some(same);
    }
    let given: Vec<char> = given.to_lowercase().chars().collect();
    let limit = (given.len() / 3).clamp(1, 3);
    known
        .iter()
        .filter_map(|k| {
            let candidate: Vec<char> = k.to_lowercase().chars().collect();
            // The distance is at least the difference in length: no need to compute it past the limit.
            if candidate.len().abs_diff(given.len()) > limit {
                return None;
            }
            let distance = edit_distance(&given, &candidate);
            (distance <= limit).then_some((distance, *k))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

/// Edit distance counting insertions, deletions, substitutions and swaps of neighbours (`Tpye`) as one
/// edit each (optimal string alignment). Only called on short names: the caller skips lengths too far
/// apart.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, row) in d.chunks_mut(width).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// A name from the file as one short line: control characters escaped, and cut after 100 characters.
fn printable(name: &str) -> String {
    crate::terminal::visible_cut(name, 100)
}

/// The keys of the objects the reader interprets: the documented members of the RunJobFlow API's
/// shapes and of the CloudFormation resource types' properties, as one set per object (a key of either is
/// accepted, so a valid plan of either kind is never refused). Objects the reader does not interpret
/// (`Configurations`, `Tags`, `BootstrapActions`, `EbsConfiguration`, …) are not checked.
mod keys {
    /// Template sections (`Globals` for SAM, `Hooks` for blue/green deployments).
    pub const TEMPLATE: &[&str] = &[
        "AWSTemplateFormatVersion",
        "Description",
        "Metadata",
        "Parameters",
        "Rules",
        "Mappings",
        "Conditions",
        "Transform",
        "Resources",
        "Outputs",
        "Globals",
        "Hooks",
    ];

    /// A template parameter.
    pub const PARAMETER: &[&str] = &[
        "Type",
        "Default",
        "AllowedPattern",
        "AllowedValues",
        "ConstraintDescription",
        "Description",
        "MaxLength",
        "MaxValue",
        "MinLength",
        "MinValue",
        "NoEcho",
    ];

    /// A resource's attributes (with SAM's `Connectors` and `IgnoreGlobals`).
    pub const RESOURCE: &[&str] = &[
        "Type",
        "Properties",
        "Condition",
        "DependsOn",
        "Metadata",
        "DeletionPolicy",
        "UpdatePolicy",
        "UpdateReplacePolicy",
        "CreationPolicy",
        "Version",
        "Connectors",
        "IgnoreGlobals",
    ];

    /// The resource types this reader reads.
    pub const READ_TYPES: &[&str] = &[
        "AWS::EMR::Cluster",
        "AWS::EMR::InstanceGroupConfig",
        "AWS::EMR::InstanceFleetConfig",
    ];

    /// Every `AWS::EMR::` resource type: none of them is a misspelling of another.
    pub const EMR_TYPES: &[&str] = &[
        "AWS::EMR::Cluster",
        "AWS::EMR::InstanceGroupConfig",
        "AWS::EMR::InstanceFleetConfig",
        "AWS::EMR::SecurityConfiguration",
        "AWS::EMR::Step",
        "AWS::EMR::Studio",
        "AWS::EMR::StudioSessionMapping",
        "AWS::EMR::WALWorkspace",
    ];

    /// A RunJobFlow request, or an `AWS::EMR::Cluster`'s properties.
    pub const CLUSTER: &[&str] = &[
        // RunJobFlow
        "Name",
        "LogUri",
        "LogEncryptionKmsKeyId",
        "AdditionalInfo",
        "AmiVersion",
        "ReleaseLabel",
        "Instances",
        "Steps",
        "StepExecutionRoleArn",
        "BootstrapActions",
        "SupportedProducts",
        "NewSupportedProducts",
        "Applications",
        "Configurations",
        "VisibleToAllUsers",
        "JobFlowRole",
        "ServiceRole",
        "Tags",
        "SecurityConfiguration",
        "AutoScalingRole",
        "ScaleDownBehavior",
        "CustomAmiId",
        "EbsRootVolumeSize",
        "EbsRootVolumeIops",
        "EbsRootVolumeThroughput",
        "RepoUpgradeOnBoot",
        "KerberosAttributes",
        "StepConcurrencyLevel",
        "ManagedScalingPolicy",
        "PlacementGroupConfigs",
        "AutoTerminationPolicy",
        "OSReleaseLabel",
        "ExtendedSupport",
        "MonitoringConfiguration",
        "SessionEnabled",
        // CloudFormation only (read-only attributes its schema also lists)
        "Id",
        "MasterPublicDNS",
    ];

    /// An application (`Applications[]`).
    pub const APPLICATION: &[&str] = &["Name", "Version", "Args", "AdditionalInfo"];

    /// `Instances`: RunJobFlow's JobFlowInstancesConfig and CloudFormation's.
    pub const INSTANCES: &[&str] = &[
        "MasterInstanceType",
        "SlaveInstanceType",
        "InstanceCount",
        "InstanceGroups",
        "InstanceFleets",
        "Ec2KeyName",
        "Placement",
        "KeepJobFlowAliveWhenNoSteps",
        "TerminationProtected",
        "UnhealthyNodeReplacement",
        "HadoopVersion",
        "Ec2SubnetId",
        "Ec2SubnetIds",
        "EmrManagedMasterSecurityGroup",
        "EmrManagedSlaveSecurityGroup",
        "ServiceAccessSecurityGroup",
        "AdditionalMasterSecurityGroups",
        "AdditionalSlaveSecurityGroups",
        // CloudFormation only
        "MasterInstanceGroup",
        "CoreInstanceGroup",
        "TaskInstanceGroups",
        "MasterInstanceFleet",
        "CoreInstanceFleet",
        "TaskInstanceFleets",
    ];

    /// An instance group (InstanceGroupConfig).
    pub const GROUP: &[&str] = &[
        "Name",
        "Market",
        "InstanceRole",
        "BidPrice",
        "InstanceType",
        "InstanceCount",
        "Configurations",
        "EbsConfiguration",
        "AutoScalingPolicy",
        "CustomAmiId",
    ];

    /// An `AWS::EMR::InstanceGroupConfig`'s properties.
    pub const GROUP_RESOURCE: &[&str] = &[
        "Name",
        "Market",
        "InstanceRole",
        "BidPrice",
        "InstanceType",
        "InstanceCount",
        "Configurations",
        "EbsConfiguration",
        "AutoScalingPolicy",
        "CustomAmiId",
        "JobFlowId",
        "InstanceGroupId",
    ];

    /// An instance fleet (InstanceFleetConfig).
    pub const FLEET: &[&str] = &[
        "Name",
        "InstanceFleetType",
        "TargetOnDemandCapacity",
        "TargetSpotCapacity",
        "InstanceTypeConfigs",
        "LaunchSpecifications",
        "ResizeSpecifications",
        "Context",
    ];

    /// An `AWS::EMR::InstanceFleetConfig`'s properties.
    pub const FLEET_RESOURCE: &[&str] = &[
        "Name",
        "InstanceFleetType",
        "TargetOnDemandCapacity",
        "TargetSpotCapacity",
        "InstanceTypeConfigs",
        "LaunchSpecifications",
        "ResizeSpecifications",
        "Context",
        "ClusterId",
        "InstanceFleetId",
    ];

    /// An instance type of a fleet (`InstanceTypeConfigs[]`).
    pub const INSTANCE_TYPE_CONFIG: &[&str] = &[
        "InstanceType",
        "WeightedCapacity",
        "BidPrice",
        "BidPriceAsPercentageOfOnDemandPrice",
        "EbsConfiguration",
        "Configurations",
        "CustomAmiId",
        "Priority",
    ];
}

struct Reader {
    path: PathBuf,
    parameters: BTreeMap<String, String>,
    /// `None` when checking before the run's region is known.
    region: Option<String>,
    unresolved: Vec<String>,
}

fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_string()
    } else {
        format!("{base}.{key}")
    }
}

impl Reader {
    fn shape(&self, at: &str, problem: impl Into<String>) -> PlanError {
        PlanError::Shape {
            path: self.path.clone(),
            at: printable(at),
            problem: problem.into(),
        }
    }

    /// Every key of an object the reader interprets is one of `known`: a misspelled key would
    /// otherwise be read as absent, and the plan pass unchecked.
    fn known_keys(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        known: &[&str],
    ) -> Result<(), PlanError> {
        for key in object.keys() {
            if known.contains(&key.as_str()) {
                continue;
            }
            if key == "Fn::Transform" {
                // A macro (AWS::Include, …) adds keys at deployment.
                self.unresolved.push(format!(
                    "{at}: Fn::Transform can't be resolved before deployment"
                ));
                continue;
            }
            return Err(self.shape(at, unknown_key(key, known)));
        }
        Ok(())
    }

    /// An object whose keys the reader relies on, checked against `known`; `None` (noted as
    /// unresolved) when it is a function only deployment resolves (`Fn::If`, …).
    fn structure<'v>(
        &mut self,
        value: &'v Value,
        at: &str,
        known: &[&str],
    ) -> Result<Option<&'v Map<String, Value>>, PlanError> {
        if let Some(function) = intrinsic(value) {
            self.unresolved.push(format!(
                "{at}: {function} can't be resolved before deployment"
            ));
            return Ok(None);
        }
        let object = self.object(value, at)?;
        self.known_keys(object, at, known)?;
        Ok(Some(object))
    }

    /// Template parameter defaults, unless `--parameter` already gives the value.
    fn add_template_defaults(&mut self, parameters: Option<&Value>) -> Result<(), PlanError> {
        let Some(parameters) = parameters else {
            return Ok(());
        };
        let parameters = parameters
            .as_object()
            .ok_or_else(|| self.shape("Parameters", "expected an object"))?;
        for (name, spec) in parameters {
            if let Some(spec) = spec.as_object() {
                self.known_keys(spec, &format!("Parameters.{name}"), keys::PARAMETER)?;
            }
            // An SSM-typed parameter's default is a parameter path, resolved only at deploy time.
            let ssm = spec
                .get("Type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.starts_with("AWS::SSM::Parameter::Value"));
            if ssm {
                continue;
            }
            let default = match spec.get("Default") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => continue,
            };
            self.parameters.entry(name.clone()).or_insert(default);
        }
        Ok(())
    }

    /// A value that must end up a string: literal, `Ref`, or `Fn::Sub` over known parameters.
    /// Anything else is noted as unresolved (EA056) and read as absent.
    fn string(&mut self, value: Option<&Value>, at: &str) -> Result<Option<String>, PlanError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Object(object)) if object.len() == 1 => {
                let (function, argument) = object
                    .iter()
                    .next()
                    .ok_or_else(|| self.shape(at, "empty object"))?;
                match (function.as_str(), argument) {
                    ("Ref", Value::String(name)) => Ok(self.reference(name, at)),
                    ("Fn::Sub", Value::String(template)) => Ok(self.substitute(template, at)),
                    (f, _) if f == "Ref" || f == "Condition" || f.starts_with("Fn::") => {
                        self.unresolved
                            .push(format!("{at}: {f} can't be resolved before deployment"));
                        Ok(None)
                    }
                    _ => Err(self.shape(at, "expected a string")),
                }
            }
            Some(_) => Err(self.shape(at, "expected a string")),
        }
    }

    fn reference(&mut self, name: &str, at: &str) -> Option<String> {
        if name == "AWS::Region" {
            if self.region.is_none() {
                self.unresolved
                    .push(format!("{at}: AWS::Region is the region of the run"));
            }
            return self.region.clone();
        }
        match self.parameters.get(name) {
            Some(value) => Some(value.clone()),
            None => {
                self.unresolved.push(format!(
                    "{at}: Ref {name} has no value (give --parameter {name}=…)"
                ));
                None
            }
        }
    }

    fn substitute(&mut self, template: &str, at: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            out.push_str(&self.reference(name, at)?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    fn integer(&mut self, value: Option<&Value>, at: &str) -> Result<Option<i32>, PlanError> {
        match value {
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.shape(at, format!("expected a whole number, got {n}"))),
            other => {
                match self.string(other, at)? {
                    None => Ok(None),
                    Some(text) => text.trim().parse().map(Some).map_err(|_| {
                        self.shape(at, format!("expected a whole number, got '{text}'"))
                    }),
                }
            }
        }
    }

    /// A list; empty (noted as unresolved) when it is a function only deployment resolves.
    fn list<'v>(&mut self, value: Option<&'v Value>, at: &str) -> Result<&'v [Value], PlanError> {
        match value {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => match intrinsic(other) {
                Some(function) => {
                    self.unresolved.push(format!(
                        "{at}: {function} can't be resolved before deployment"
                    ));
                    Ok(&[])
                }
                None => Err(self.shape(at, "expected a list")),
            },
        }
    }

    fn object<'v>(&self, value: &'v Value, at: &str) -> Result<&'v Map<String, Value>, PlanError> {
        value
            .as_object()
            .ok_or_else(|| self.shape(at, "expected an object"))
    }

    fn ami(&mut self, value: Option<&Value>, at: &str) -> Result<Option<String>, PlanError> {
        let ami = self.string(value, at)?;
        if let Some(id) = &ami {
            validate::image_id(id).map_err(|e| self.shape(at, e.to_string()))?;
        }
        Ok(ami)
    }

    fn instance_type(
        &mut self,
        value: Option<&Value>,
        at: &str,
    ) -> Result<Option<String>, PlanError> {
        let instance_type = self.string(value, at)?;
        if let Some(name) = &instance_type {
            validate::instance_type(name).map_err(|e| self.shape(at, e.to_string()))?;
        }
        Ok(instance_type)
    }

    /// The cluster of a RunJobFlow request, or of an `AWS::EMR::Cluster`'s Properties (the two share
    /// their field names, except for how instance groups and fleets are listed).
    fn cluster(
        &mut self,
        document: &Value,
        base: &str,
        id: String,
    ) -> Result<ClusterFacts, PlanError> {
        let object_at = if base.is_empty() { "(document)" } else { base };
        let Some(object) = self.structure(document, object_at, keys::CLUSTER)? else {
            return Ok(ClusterFacts {
                cluster_id: id,
                ..Default::default()
            });
        };
        let release_label = self.string(object.get("ReleaseLabel"), &join(base, "ReleaseLabel"))?;
        if let Some(label) = &release_label {
            label
                .parse::<Release>()
                .map_err(|e| self.shape(&join(base, "ReleaseLabel"), e.to_string()))?;
        }
        let mut applications = Vec::new();
        let apps_at = join(base, "Applications");
        for (i, app) in self
            .list(object.get("Applications"), &apps_at)?
            .iter()
            .enumerate()
        {
            let app_at = format!("{apps_at}[{i}]");
            let Some(app) = self.structure(app, &app_at, keys::APPLICATION)? else {
                continue;
            };
            if let Some(name) = self.string(app.get("Name"), &join(&app_at, "Name"))? {
                applications.push(name);
            }
        }
        let mut cluster = ClusterFacts {
            cluster_id: id,
            name: self.string(object.get("Name"), &join(base, "Name"))?,
            state: None,
            release_label,
            custom_ami_id: self.ami(object.get("CustomAmiId"), &join(base, "CustomAmiId"))?,
            applications,
            ebs_root_volume_gib: self.integer(
                object.get("EbsRootVolumeSize"),
                &join(base, "EbsRootVolumeSize"),
            )?,
            repo_upgrade_on_boot: self.string(
                object.get("RepoUpgradeOnBoot"),
                &join(base, "RepoUpgradeOnBoot"),
            )?,
            os_release_label: self
                .string(object.get("OSReleaseLabel"), &join(base, "OSReleaseLabel"))?,
            // Only literal names: a role from `Ref`/`Fn::GetAtt` is another resource's, and not knowing it
            // only makes EA033 say less (it is no reason for EA056 to call the plan unresolved).
            service_role: literal(object.get("ServiceRole")),
            instance_profile: literal(object.get("JobFlowRole")),
            ..Default::default()
        };
        let instances_at = join(base, "Instances");
        if let Some(instances) = object.get("Instances") {
            self.instances(instances, &instances_at, &mut cluster)?;
        }
        Ok(cluster)
    }

    fn instances(
        &mut self,
        value: &Value,
        at: &str,
        cluster: &mut ClusterFacts,
    ) -> Result<(), PlanError> {
        let Some(instances) = self.structure(value, at, keys::INSTANCES)? else {
            return Ok(());
        };
        if let Some(subnet) = self.string(instances.get("Ec2SubnetId"), &join(at, "Ec2SubnetId"))? {
            cluster.subnet_ids.push(subnet);
        }
        let subnets_at = join(at, "Ec2SubnetIds");
        for (i, subnet) in self
            .list(instances.get("Ec2SubnetIds"), &subnets_at)?
            .iter()
            .enumerate()
        {
            if let Some(subnet) = self.string(Some(subnet), &format!("{subnets_at}[{i}]"))?
                && !cluster.subnet_ids.contains(&subnet)
            {
                cluster.subnet_ids.push(subnet);
            }
        }
        // RunJobFlow: uniform groups, a list of groups, or a list of fleets.
        for (key, role) in [
            ("MasterInstanceType", "MASTER"),
            ("SlaveInstanceType", "CORE"),
        ] {
            if let Some(t) = self.instance_type(instances.get(key), &join(at, key))? {
                cluster.collection = Some(InstanceCollection::InstanceGroups);
                cluster.instances.push(InstanceSlot {
                    container: format!("{role} group"),
                    instance_type: t,
                    custom_ami_id: None,
                });
            }
        }
        let groups_at = join(at, "InstanceGroups");
        for (i, group) in self
            .list(instances.get("InstanceGroups"), &groups_at)?
            .iter()
            .enumerate()
        {
            let group_at = format!("{groups_at}[{i}]");
            let role = self.string(group.get("InstanceRole"), &join(&group_at, "InstanceRole"))?;
            let role = role.as_deref().unwrap_or("?");
            self.group(group, &group_at, role, keys::GROUP, cluster)?;
        }
        let fleets_at = join(at, "InstanceFleets");
        for (i, fleet) in self
            .list(instances.get("InstanceFleets"), &fleets_at)?
            .iter()
            .enumerate()
        {
            let fleet_at = format!("{fleets_at}[{i}]");
            let role = self.string(
                fleet.get("InstanceFleetType"),
                &join(&fleet_at, "InstanceFleetType"),
            )?;
            let role = role.as_deref().unwrap_or("?");
            self.fleet(fleet, &fleet_at, role, keys::FLEET, cluster)?;
        }
        // CloudFormation: one property per role.
        for (key, role) in [
            ("MasterInstanceGroup", "MASTER"),
            ("CoreInstanceGroup", "CORE"),
        ] {
            if let Some(group) = instances.get(key) {
                self.group(group, &join(at, key), role, keys::GROUP, cluster)?;
            }
        }
        let tasks_at = join(at, "TaskInstanceGroups");
        for (i, group) in self
            .list(instances.get("TaskInstanceGroups"), &tasks_at)?
            .iter()
            .enumerate()
        {
            let group_at = format!("{tasks_at}[{i}]");
            self.group(group, &group_at, "TASK", keys::GROUP, cluster)?;
        }
        for (key, role) in [
            ("MasterInstanceFleet", "MASTER"),
            ("CoreInstanceFleet", "CORE"),
        ] {
            if let Some(fleet) = instances.get(key) {
                self.fleet(fleet, &join(at, key), role, keys::FLEET, cluster)?;
            }
        }
        let task_fleets_at = join(at, "TaskInstanceFleets");
        for (i, fleet) in self
            .list(instances.get("TaskInstanceFleets"), &task_fleets_at)?
            .iter()
            .enumerate()
        {
            let fleet_at = format!("{task_fleets_at}[{i}]");
            self.fleet(fleet, &fleet_at, "TASK", keys::FLEET, cluster)?;
        }
        Ok(())
    }

    fn group(
        &mut self,
        group: &Value,
        at: &str,
        role: &str,
        known: &[&str],
        cluster: &mut ClusterFacts,
    ) -> Result<(), PlanError> {
        cluster.collection = Some(InstanceCollection::InstanceGroups);
        let Some(group) = self.structure(group, at, known)? else {
            return Ok(());
        };
        let name = self.string(group.get("Name"), &join(at, "Name"))?;
        let Some(instance_type) =
            self.instance_type(group.get("InstanceType"), &join(at, "InstanceType"))?
        else {
            return Ok(());
        };
        let container = container(Some(role), "group", None, name.as_deref());
        let custom_ami_id = self.ami(group.get("CustomAmiId"), &join(at, "CustomAmiId"))?;
        cluster.instances.push(InstanceSlot {
            container,
            instance_type,
            custom_ami_id,
        });
        Ok(())
    }

    fn fleet(
        &mut self,
        fleet: &Value,
        at: &str,
        role: &str,
        known: &[&str],
        cluster: &mut ClusterFacts,
    ) -> Result<(), PlanError> {
        cluster.collection = Some(InstanceCollection::InstanceFleets);
        let Some(fleet) = self.structure(fleet, at, known)? else {
            return Ok(());
        };
        let name = self.string(fleet.get("Name"), &join(at, "Name"))?;
        let container = container(Some(role), "fleet", None, name.as_deref());
        let configs_at = join(at, "InstanceTypeConfigs");
        for (i, config) in self
            .list(fleet.get("InstanceTypeConfigs"), &configs_at)?
            .iter()
            .enumerate()
        {
            let config_at = format!("{configs_at}[{i}]");
            let Some(config) = self.structure(config, &config_at, keys::INSTANCE_TYPE_CONFIG)?
            else {
                continue;
            };
            let Some(instance_type) = self.instance_type(
                config.get("InstanceType"),
                &join(&config_at, "InstanceType"),
            )?
            else {
                continue;
            };
            let custom_ami_id =
                self.ami(config.get("CustomAmiId"), &join(&config_at, "CustomAmiId"))?;
            cluster.instances.push(InstanceSlot {
                container: container.clone(),
                instance_type,
                custom_ami_id,
            });
        }
        Ok(())
    }

    /// A resource's attributes (`Type`, `Properties`, …) where a misspelling would hide an EMR resource:
    /// a resource without a `Type`, or with a `Type` a near miss of one this reader reads
    /// (`AWS::EMR::cluster`).
    fn resource_attributes(&mut self, logical_id: &str, resource: &Value) -> Result<(), PlanError> {
        // `Fn::ForEach::Name` (AWS::LanguageExtensions) is a loop, not a resource.
        if logical_id.contains("::") {
            return Ok(());
        }
        let at = format!("Resources.{logical_id}");
        let Some(object) = resource.as_object() else {
            return Err(self.shape(&at, "expected an object"));
        };
        match object.get("Type") {
            None => self.known_keys(object, &at, keys::RESOURCE),
            Some(Value::String(kind)) if keys::READ_TYPES.contains(&kind.as_str()) => {
                self.known_keys(object, &at, keys::RESOURCE)
            }
            Some(Value::String(kind)) if !keys::EMR_TYPES.contains(&kind.as_str()) => {
                match suggestion(kind, keys::READ_TYPES) {
                    Some(meant) => Err(self.shape(
                        &join(&at, "Type"),
                        format!(
                            "unknown resource type '{}' (did you mean '{meant}'?)",
                            printable(kind)
                        ),
                    )),
                    None => Ok(()),
                }
            }
            Some(_) => Ok(()),
        }
    }

    /// Every `AWS::EMR::Cluster` of a template, with the `InstanceGroupConfig` and `InstanceFleetConfig`
    /// resources that add to it.
    fn template(&mut self, resources: &Value) -> Result<Vec<ClusterFacts>, PlanError> {
        let resources = self.object(resources, "Resources")?.clone();
        for (logical_id, resource) in &resources {
            self.resource_attributes(logical_id, resource)?;
        }
        let mut clusters: Vec<(String, ClusterFacts)> = Vec::new();
        for (logical_id, resource) in &resources {
            if resource.get("Type").and_then(Value::as_str) != Some("AWS::EMR::Cluster") {
                continue;
            }
            let at = format!("Resources.{logical_id}.Properties");
            let properties = resource
                .get("Properties")
                .ok_or_else(|| self.shape(&at, "missing"))?;
            let id = format!("{}:{logical_id}", self.path.display());
            let mut cluster = self.cluster(properties, &at, id)?;
            cluster.unresolved = std::mem::take(&mut self.unresolved);
            clusters.push((logical_id.clone(), cluster));
        }
        if clusters.is_empty() {
            return Err(unsupported(
                &self.path,
                "the template has no AWS::EMR::Cluster resource",
            ));
        }
        let mut foreign: Vec<(String, ClusterFacts)> = Vec::new();
        for (logical_id, resource) in &resources {
            let kind = resource.get("Type").and_then(Value::as_str);
            let (cluster_key, is_group) = match kind {
                Some("AWS::EMR::InstanceGroupConfig") => ("JobFlowId", true),
                Some("AWS::EMR::InstanceFleetConfig") => ("ClusterId", false),
                _ => continue,
            };
            let at = format!("Resources.{logical_id}.Properties");
            let properties = resource
                .get("Properties")
                .ok_or_else(|| self.shape(&at, "missing"))?;
            let target = properties
                .get(cluster_key)
                .and_then(|v| v.get("Ref"))
                .and_then(Value::as_str);
            let cluster = match clusters
                .iter_mut()
                .find(|(id, _)| Some(id.as_str()) == target)
            {
                Some((_, cluster)) => cluster,
                None => {
                    // It adds instances to a cluster defined elsewhere (an ID, an import, another
                    // stack): a target of its own, whose release is unknown, so EA056 says what went
                    // unchecked. The template's clusters are not changed by it.
                    let reference = properties
                        .get(cluster_key)
                        .map_or_else(|| "nothing".to_string(), Value::to_string);
                    let mut fragment = ClusterFacts {
                        cluster_id: format!("{}:{logical_id}", self.path.display()),
                        adds_to: Some(reference.clone()),
                        ..ClusterFacts::default()
                    };
                    fragment.unresolved.push(format!(
                        "{}: {reference} names a cluster this template does not define, so the release its instances \
                         boot with is unknown",
                        join(&at, cluster_key)
                    ));
                    foreign.push((logical_id.clone(), fragment));
                    foreign
                        .last_mut()
                        .map(|(_, f)| f)
                        .ok_or_else(|| self.shape(&at, "missing"))?
                }
            };
            let mut cluster_facts = std::mem::take(cluster);
            let result = if is_group {
                let role =
                    self.string(properties.get("InstanceRole"), &join(&at, "InstanceRole"))?;
                self.group(
                    properties,
                    &at,
                    role.as_deref().unwrap_or("TASK"),
                    keys::GROUP_RESOURCE,
                    &mut cluster_facts,
                )
            } else {
                let role = self.string(
                    properties.get("InstanceFleetType"),
                    &join(&at, "InstanceFleetType"),
                )?;
                self.fleet(
                    properties,
                    &at,
                    role.as_deref().unwrap_or("TASK"),
                    keys::FLEET_RESOURCE,
                    &mut cluster_facts,
                )
            };
            cluster_facts.unresolved.append(&mut self.unresolved);
            *cluster = cluster_facts;
            result?;
        }
        Ok(clusters
            .into_iter()
            .chain(foreign)
            .map(|(_, c)| c)
            .collect())
    }
}

/// A plain string value, or nothing.
fn literal(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(
        name: &str,
        text: &str,
        params: &[(&str, &str)],
    ) -> Result<Vec<ClusterFacts>, PlanError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let params = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load(&path, &params, "us-east-1")
    }

    #[test]
    fn run_job_flow_with_instance_groups() {
        let clusters = load_text(
            "request.json",
            r#"{"Name": "etl", "ReleaseLabel": "emr-7.1.0", "CustomAmiId": "ami-0ea00000000000001",
                "Applications": [{"Name": "Spark"}], "EbsRootVolumeSize": 20,
                "Instances": {"Ec2SubnetId": "subnet-0a1a1a1a1a1a1a1a1", "InstanceGroups": [
                  {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1},
                  {"InstanceRole": "CORE", "InstanceType": "m6g.xlarge", "InstanceCount": 2, "CustomAmiId": "ami-0ea00000000000016"}]}}"#,
            &[],
        )
        .expect("loads");
        let c = &clusters[0];
        assert_eq!(c.release_label.as_deref(), Some("emr-7.1.0"));
        assert_eq!(
            c.custom_amis(),
            ["ami-0ea00000000000001", "ami-0ea00000000000016"]
        );
        assert_eq!(c.instance_types(), ["m5.xlarge", "m6g.xlarge"]);
        assert_eq!(c.subnet_ids, ["subnet-0a1a1a1a1a1a1a1a1"]);
        assert_eq!(c.ebs_root_volume_gib, Some(20));
        assert!(c.unresolved.is_empty());
    }

    #[test]
    fn cloudformation_yaml_with_refs_defaults_and_parameters() {
        let template = "\
Parameters:
  Ami:
    Type: AWS::EC2::Image::Id
  Release:
    Type: String
    Default: emr-7.1.0
Resources:
  Etl:
    Type: AWS::EMR::Cluster
    Properties:
      Name: !Sub 'etl-${AWS::Region}'
      ReleaseLabel: !Ref Release
      CustomAmiId: !Ref Ami
      Instances:
        MasterInstanceGroup: {InstanceType: m5.xlarge, InstanceCount: 1}
        CoreInstanceFleet:
          InstanceTypeConfigs:
            - InstanceType: m5.xlarge
            - InstanceType: !If [Big, m5.4xlarge, m5.2xlarge]
";
        let unresolved = load_text("t.yaml", template, &[]).expect("loads");
        assert_eq!(unresolved[0].name.as_deref(), Some("etl-us-east-1"));
        assert_eq!(unresolved[0].release_label.as_deref(), Some("emr-7.1.0"));
        assert_eq!(unresolved[0].custom_ami_id, None);
        assert_eq!(
            unresolved[0].unresolved.len(),
            2,
            "{:?}",
            unresolved[0].unresolved
        );
        assert!(
            unresolved[0].unresolved[0]
                .starts_with("Resources.Etl.Properties.CustomAmiId: Ref Ami has no value")
        );
        assert!(
            unresolved[0].unresolved[1].contains("InstanceTypeConfigs[1].InstanceType: Fn::If")
        );

        let resolved =
            load_text("t.yaml", template, &[("Ami", "ami-0ea00000000000001")]).expect("loads");
        assert_eq!(
            resolved[0].custom_ami_id.as_deref(),
            Some("ami-0ea00000000000001")
        );
        assert_eq!(resolved[0].cluster_id.rsplit(':').next(), Some("Etl"));
    }

    #[test]
    fn instance_group_and_fleet_config_resources_join_their_cluster() {
        let template = r#"{"Resources": {
            "Etl": {"Type": "AWS::EMR::Cluster", "Properties": {"ReleaseLabel": "emr-7.1.0", "Instances": {
                "MasterInstanceGroup": {"InstanceType": "m5.xlarge", "CustomAmiId": "ami-0ea00000000000001"}}}},
            "Task": {"Type": "AWS::EMR::InstanceGroupConfig", "Properties": {"JobFlowId": {"Ref": "Etl"},
                "InstanceRole": "TASK", "InstanceType": "r5.xlarge", "CustomAmiId": "ami-0ea00000000000005"}},
            "Spot": {"Type": "AWS::EMR::InstanceFleetConfig", "Properties": {"ClusterId": {"Ref": "Etl"},
                "InstanceFleetType": "TASK", "InstanceTypeConfigs": [{"InstanceType": "m6g.xlarge"}]}}}}"#;
        let clusters = load_text("t.json", template, &[]).expect("loads");
        assert_eq!(clusters.len(), 1);
        // Resources are read in name order: Spot, then Task.
        assert_eq!(
            clusters[0].instance_types(),
            ["m5.xlarge", "m6g.xlarge", "r5.xlarge"]
        );
        assert_eq!(
            clusters[0].custom_amis(),
            ["ami-0ea00000000000001", "ami-0ea00000000000005"]
        );
        assert_eq!(clusters[0].instances[1].container, "TASK fleet");
        assert_eq!(clusters[0].instances[2].container, "TASK group");
        assert!(clusters[0].unresolved.is_empty());
    }

    #[test]
    fn instance_groups_of_clusters_defined_elsewhere_are_named_not_dropped() {
        let template = r#"{"Resources": {
            "Etl": {"Type": "AWS::EMR::Cluster", "Properties": {"ReleaseLabel": "emr-7.1.0", "Instances": {
                "MasterInstanceGroup": {"InstanceType": "m5.xlarge"}}}},
            "Extra": {"Type": "AWS::EMR::InstanceGroupConfig", "Properties": {
                "JobFlowId": {"Fn::ImportValue": "shared-cluster-id"},
                "InstanceRole": "TASK", "InstanceType": "r5.xlarge", "CustomAmiId": "ami-0ea00000000000005"}}}}"#;
        let clusters = load_text("t.json", template, &[]).expect("loads");
        assert_eq!(clusters.len(), 2);
        // The template's own cluster is untouched by it.
        assert_eq!(clusters[0].instance_types(), ["m5.xlarge"]);
        assert!(clusters[0].unresolved.is_empty());
        // The group is a target of its own, with its AMI, and says why its release is unknown.
        let extra = &clusters[1];
        assert!(
            extra.cluster_id.ends_with("t.json:Extra"),
            "{}",
            extra.cluster_id
        );
        assert_eq!(extra.custom_amis(), ["ami-0ea00000000000005"]);
        assert_eq!(extra.release_label, None);
        assert_eq!(extra.unresolved.len(), 1);
        assert!(
            extra.unresolved[0].starts_with(
                "Resources.Extra.Properties.JobFlowId: {\"Fn::ImportValue\":\"shared-cluster-id\"} names a cluster"
            ),
            "{:?}",
            extra.unresolved
        );
    }

    #[test]
    fn suggestions_for_near_misses_only() {
        let known = keys::GROUP;
        assert_eq!(suggestion("CustomAmiID", known), Some("CustomAmiId"));
        assert_eq!(suggestion("customamiid", known), Some("CustomAmiId"));
        assert_eq!(suggestion("CustomAmi", known), Some("CustomAmiId"));
        assert_eq!(suggestion("InstanceTpye", known), Some("InstanceType"));
        assert_eq!(suggestion("Nme", known), Some("Name"));
        assert_eq!(suggestion("Colour", known), None);
        assert_eq!(suggestion(&"x".repeat(100_000), known), None);
        assert_eq!(printable("a\nb"), "a\\nb");
        assert_eq!(printable(&"k".repeat(101)).chars().count(), 101);
    }

    #[test]
    fn functions_in_place_of_objects_are_unresolved_not_unknown_keys() {
        let template = r#"{"Conditions": {"Big": {"Fn::Equals": ["a", "b"]}}, "Resources": {
            "Etl": {"Type": "AWS::EMR::Cluster", "Properties": {"ReleaseLabel": "emr-7.1.0",
                "Applications": {"Fn::If": ["Big", [{"Name": "Spark"}], []]},
                "Instances": {
                    "MasterInstanceGroup": {"Fn::If": ["Big", {"InstanceType": "m5.4xlarge"}, {"InstanceType": "m5.xlarge"}]},
                    "CoreInstanceGroup": {"InstanceType": "m5.xlarge", "Fn::Transform": {"Name": "AWS::Include"}}}}}}}"#;
        let clusters = load_text("t.json", template, &[]).expect("loads");
        let unresolved = &clusters[0].unresolved;
        assert_eq!(unresolved.len(), 3, "{unresolved:?}");
        assert!(unresolved[0].starts_with("Resources.Etl.Properties.Applications: Fn::If"));
        assert!(
            unresolved[1]
                .starts_with("Resources.Etl.Properties.Instances.MasterInstanceGroup: Fn::If")
        );
        assert!(unresolved[2].contains("CoreInstanceGroup: Fn::Transform"));
        assert_eq!(clusters[0].instance_types(), ["m5.xlarge"]);
    }

    #[test]
    fn unknown_keys_name_the_object_and_the_known_key_meant() {
        let err = load_text(
            "x.json",
            r#"{"Name": "x", "Instances": {"InstanceGroups": [{"InstanceType": "m5.xlarge", "CustomAmiID": "ami-0ea00000000000001"}]}}"#,
            &[],
        )
        .expect_err("misspelled");
        assert!(
            err.to_string().ends_with(
                "x.json: Instances.InstanceGroups[0]: unknown key 'CustomAmiID' (did you mean 'CustomAmiId'?)"
            ),
            "{err}"
        );
        // Objects the reader does not interpret keep their own keys.
        load_text(
            "x.json",
            r#"{"Name": "x", "Configurations": [{"Classification": "c", "Properties": {"CustomAmiID": "1"}}],
                "Tags": [{"Key": "CustomAmiID", "Value": "v"}]}"#,
            &[],
        )
        .expect("loads");
    }

    #[test]
    fn malformed_and_unsupported_files_name_the_place() {
        let err =
            load_text("bad.json", "{\n  \"Name\": \"x\",\n  oops\n}", &[]).expect_err("syntax");
        assert!(err.to_string().contains("bad.json:3:"), "{err}");
        let err = load_text("bad.yaml", "Resources:\n  A: [unclosed\n", &[]).expect_err("syntax");
        assert!(err.to_string().contains("bad.yaml:"), "{err}");
        let err = load_text(
            "x.json",
            r#"{"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}"#,
            &[],
        )
        .expect_err("unsupported");
        assert!(err.to_string().contains("no AWS::EMR::Cluster"), "{err}");
        let err = load_text(
            "x.json",
            r#"{"Name": "x", "Instances": {"InstanceGroups": [{"InstanceType": true}]}}"#,
            &[],
        )
        .expect_err("shape");
        assert!(
            err.to_string()
                .contains("Instances.InstanceGroups[0].InstanceType: expected"),
            "{err}"
        );
        let err = load_text(
            "x.json",
            r#"{"Name": "x", "CustomAmiId": "ami-nothex"}"#,
            &[],
        )
        .expect_err("bad AMI");
        assert!(
            err.to_string()
                .contains("CustomAmiId: invalid AMI ID 'ami-nothex'"),
            "{err}"
        );
    }
}
