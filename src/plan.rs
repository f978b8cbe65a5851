//! Launch plans: a RunJobFlow request (JSON, as SDKs and `--cli-input-json` take it) or a
//! CloudFormation template (JSON or YAML) with `AWS::EMR::Cluster` resources, read into the same
//! [`ClusterFacts`] a running cluster gives, so every cluster and image rule applies before launch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::facts::cluster::container;
use crate::facts::{ClusterFacts, InstanceCollection, InstanceSlot};
use crate::release::Release;
use crate::validate;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read plan file '{path}': {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
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
    #[error("plan file '{0}' is not a regular file")]
    NotAFile(PathBuf),
}

/// Before any call: the plan names a regular file (not a directory, FIFO or device).
pub fn check_file(path: &Path) -> Result<(), PlanError> {
    let metadata = std::fs::metadata(path).map_err(|source| PlanError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if metadata.is_file() {
        Ok(())
    } else {
        Err(PlanError::NotAFile(path.to_path_buf()))
    }
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
    let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let document = parse(path, &text)?;
    let Value::Object(root) = &document else {
        return Err(unsupported(path, "the document is not an object"));
    };
    let mut reader = Reader {
        path: path.to_path_buf(),
        parameters: parameters.clone(),
        region: region.to_string(),
        unresolved: Vec::new(),
    };
    if let Some(resources) = root.get("Resources") {
        reader.add_template_defaults(root.get("Parameters"))?;
        reader.template(resources)
    } else if ["ReleaseLabel", "Instances", "Name"]
        .iter()
        .any(|k| root.contains_key(*k))
    {
        let mut cluster = reader.cluster(&document, "", path.display().to_string())?;
        cluster.unresolved = std::mem::take(&mut reader.unresolved);
        Ok(vec![cluster])
    } else {
        Err(unsupported(
            path,
            "expected a CloudFormation template (Resources) or a RunJobFlow request (Name, ReleaseLabel, Instances)",
        ))
    }
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

struct Reader {
    path: PathBuf,
    parameters: BTreeMap<String, String>,
    region: String,
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
            at: at.to_string(),
            problem: problem.into(),
        }
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
            return Some(self.region.clone());
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

    fn list<'v>(&self, value: Option<&'v Value>, at: &str) -> Result<&'v [Value], PlanError> {
        match value {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(self.shape(at, "expected a list")),
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
        let object = self.object(document, if base.is_empty() { "(document)" } else { base })?;
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
            let at = format!("{apps_at}[{i}].Name");
            if let Some(name) = self.string(app.get("Name"), &at)? {
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
        let instances = self.object(value, at)?.clone();
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
            self.group(group, &group_at, role.as_deref().unwrap_or("?"), cluster)?;
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
            self.fleet(fleet, &fleet_at, role.as_deref().unwrap_or("?"), cluster)?;
        }
        // CloudFormation: one property per role.
        for (key, role) in [
            ("MasterInstanceGroup", "MASTER"),
            ("CoreInstanceGroup", "CORE"),
        ] {
            if let Some(group) = instances.get(key) {
                self.group(group, &join(at, key), role, cluster)?;
            }
        }
        let tasks_at = join(at, "TaskInstanceGroups");
        for (i, group) in self
            .list(instances.get("TaskInstanceGroups"), &tasks_at)?
            .iter()
            .enumerate()
        {
            self.group(group, &format!("{tasks_at}[{i}]"), "TASK", cluster)?;
        }
        for (key, role) in [
            ("MasterInstanceFleet", "MASTER"),
            ("CoreInstanceFleet", "CORE"),
        ] {
            if let Some(fleet) = instances.get(key) {
                self.fleet(fleet, &join(at, key), role, cluster)?;
            }
        }
        let task_fleets_at = join(at, "TaskInstanceFleets");
        for (i, fleet) in self
            .list(instances.get("TaskInstanceFleets"), &task_fleets_at)?
            .iter()
            .enumerate()
        {
            self.fleet(fleet, &format!("{task_fleets_at}[{i}]"), "TASK", cluster)?;
        }
        Ok(())
    }

    fn group(
        &mut self,
        group: &Value,
        at: &str,
        role: &str,
        cluster: &mut ClusterFacts,
    ) -> Result<(), PlanError> {
        self.object(group, at)?;
        cluster.collection = Some(InstanceCollection::InstanceGroups);
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
        cluster: &mut ClusterFacts,
    ) -> Result<(), PlanError> {
        self.object(fleet, at)?;
        cluster.collection = Some(InstanceCollection::InstanceFleets);
        let name = self.string(fleet.get("Name"), &join(at, "Name"))?;
        let container = container(Some(role), "fleet", None, name.as_deref());
        let configs_at = join(at, "InstanceTypeConfigs");
        for (i, config) in self
            .list(fleet.get("InstanceTypeConfigs"), &configs_at)?
            .iter()
            .enumerate()
        {
            let config_at = format!("{configs_at}[{i}]");
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

    /// Every `AWS::EMR::Cluster` of a template, with the `InstanceGroupConfig` and `InstanceFleetConfig`
    /// resources that add to it.
    fn template(&mut self, resources: &Value) -> Result<Vec<ClusterFacts>, PlanError> {
        let resources = self.object(resources, "Resources")?.clone();
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
