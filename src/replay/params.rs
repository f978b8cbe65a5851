//! What identifies a request: service, action and its parameters in a canonical form, so that list
//! order (image IDs, filters) does not matter.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// Service, action and canonical parameters of one AWS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub service: String,
    pub action: String,
    pub params: Value,
    /// The region the request was signed for (SigV4 credential scope), when it says.
    pub region: Option<String>,
    /// The access key that signed it, which tells accounts apart when roles are assumed.
    pub access_key: Option<String>,
}

impl fmt::Display for RequestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.service, self.action, self.params)
    }
}

/// The same value with every array sorted (recursively), so that order never decides a match.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(canonical).collect();
            items.sort_by_key(|v| v.to_string());
            Value::Array(items)
        }
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), canonical(v))).collect())
        }
        other => other.clone(),
    }
}

/// A query-protocol body (`Action=…&Version=…&ImageId.1=…&Filter.1.Name=…`) as structured parameters:
/// numbered members become arrays. Action and Version are returned apart.
pub fn query_params(body: &[u8]) -> (Option<String>, Option<String>, Value) {
    #[derive(Default)]
    struct Node {
        value: Option<String>,
        children: BTreeMap<String, Node>,
    }
    fn into_value(node: Node) -> Value {
        if node.children.is_empty() {
            return Value::String(node.value.unwrap_or_default());
        }
        let all_numbered = node
            .children
            .keys()
            .all(|k| k.bytes().all(|b| b.is_ascii_digit()));
        if all_numbered {
            let mut numbered: Vec<(u64, Node)> = node
                .children
                .into_iter()
                .map(|(k, v)| (k.parse().unwrap_or(u64::MAX), v))
                .collect();
            numbered.sort_by_key(|(index, _)| *index);
            Value::Array(numbered.into_iter().map(|(_, v)| into_value(v)).collect())
        } else {
            Value::Object(
                node.children
                    .into_iter()
                    .map(|(k, v)| (k, into_value(v)))
                    .collect::<Map<_, _>>(),
            )
        }
    }

    let mut action = None;
    let mut version = None;
    let mut root = Node::default();
    for (key, value) in form_urlencoded::parse(body) {
        match key.as_ref() {
            "Action" => action = Some(value.into_owned()),
            "Version" => version = Some(value.into_owned()),
            _ => {
                let mut node = &mut root;
                for part in key.split('.') {
                    node = node.children.entry(part.to_string()).or_default();
                }
                node.value = Some(value.into_owned());
            }
        }
    }
    let params = if root.children.is_empty() {
        Value::Object(Map::new())
    } else {
        into_value(root)
    };
    (action, version, canonical(&params))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn query_lists_and_filters_become_structures() {
        let body = b"Action=DescribeImages&Version=2016-11-15&ImageId.1=ami-b&ImageId.2=ami-a&Filter.1.Name=name&Filter.1.Value.1=x";
        let (action, version, params) = query_params(body);
        assert_eq!(action.as_deref(), Some("DescribeImages"));
        assert_eq!(version.as_deref(), Some("2016-11-15"));
        assert_eq!(
            params,
            json!({"ImageId": ["ami-a", "ami-b"], "Filter": [{"Name": "name", "Value": ["x"]}]})
        );
    }

    #[test]
    fn order_does_not_matter() {
        assert_eq!(
            canonical(&json!({"ImageId": ["b", "a"]})),
            canonical(&json!({"ImageId": ["a", "b"]}))
        );
        let (_, _, empty) = query_params(b"Action=GetCallerIdentity&Version=2011-06-15");
        assert_eq!(empty, json!({}));
    }
}
