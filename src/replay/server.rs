//! The loopback server that answers from a scenario.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::by_image;
use super::faults::Faults;
use super::params::{RequestKey, canonical, query_params};
use super::proxy::DropProxy;
use super::scenario::{Exchange, Scenario};
use super::snapshots::RecordedSnapshot;

/// Error code of the answer to a request that has no recording.
pub const NO_RECORDING: &str = "NoRecordedAnswer";

/// A running replay server. Dropping it stops the server.
pub struct ReplayServer {
    server: MockServer,
    /// In front of the server when faults are injected: drops connections.
    proxy: Option<DropProxy>,
    log: Arc<Mutex<ReplayLog>>,
    exchanges: Arc<Vec<Exchange>>,
    region: Option<String>,
}

/// What the server saw: every request, and how often each exchange answered.
#[derive(Debug, Default, Clone)]
pub struct ReplayLog {
    pub requests: Vec<(RequestKey, bool)>,
    pub uses: Vec<u32>,
    /// Requests answered with an injected fault (throttling, 500).
    pub faults: u32,
    /// Requests whose connection was dropped before an answer.
    pub dropped: u32,
    /// How often each request (by its text) was seen, for the fault draw.
    seen: std::collections::HashMap<String, u32>,
    /// Access keys handed out by AssumeRole answers, and the account each is for.
    accounts: std::collections::HashMap<String, String>,
}

impl ReplayServer {
    /// Start serving `scenario` on 127.0.0.1 at a free port.
    pub async fn start(scenario: Scenario) -> ReplayServer {
        Self::serve(
            scenario,
            MockServer::start().await,
            false,
            Faults::default(),
        )
        .await
    }

    /// As [`start`](Self::start), with injected latency and faults.
    pub async fn start_with_faults(scenario: Scenario, faults: Faults) -> ReplayServer {
        let mut server = Self::serve(scenario, MockServer::start().await, false, faults).await;
        if faults.rate > 0.0 {
            let relay = match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
                Ok(listener) => DropProxy::start(listener, *server.server.address(), faults),
                Err(error) => Err(error),
            };
            match relay {
                Ok(proxy) => server.proxy = Some(proxy),
                // Without a loopback port for the relay, the other faults still apply.
                Err(error) => eprintln!("emr-ami-audit: connections will not be dropped: {error}"),
            }
        }
        server
    }

    /// Serve on 127.0.0.1:`port` (0: any free port), logging each request and whether it matched to
    /// stderr (`mock serve`).
    pub async fn start_on_port(
        scenario: Scenario,
        port: u16,
        faults: Faults,
    ) -> std::io::Result<ReplayServer> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        if faults.rate > 0.0 {
            // The relay that drops connections takes the port; the server sits behind it.
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let mut server = Self::serve(scenario, MockServer::start().await, true, faults).await;
            server.proxy = Some(DropProxy::start(
                listener,
                *server.server.address(),
                faults,
            )?);
            return Ok(server);
        }
        let server = MockServer::builder().listener(listener).start().await;
        Ok(Self::serve(scenario, server, true, faults).await)
    }

    async fn serve(
        scenario: Scenario,
        server: MockServer,
        verbose: bool,
        faults: Faults,
    ) -> ReplayServer {
        let log = Arc::new(Mutex::new(ReplayLog {
            uses: vec![0; scenario.exchanges.len()],
            ..Default::default()
        }));
        let region = scenario.region.clone();
        let exchanges = Arc::new(scenario.exchanges);
        let snapshots = Arc::new(scenario.snapshots);
        Mock::given(any())
            .respond_with(ScenarioResponder {
                label: scenario.dir.display().to_string(),
                exchanges: Arc::clone(&exchanges),
                snapshots,
                log: Arc::clone(&log),
                verbose,
                faults,
            })
            .mount(&server)
            .await;
        ReplayServer {
            server,
            proxy: None,
            log,
            exchanges,
            region,
        }
    }

    /// Recorded exchanges that answered no request, as `service Action params (file)`.
    pub fn unused(&self) -> Vec<String> {
        let log = self.log();
        self.exchanges
            .iter()
            .zip(log.uses)
            .filter(|(_, uses)| *uses == 0)
            .map(|(e, _)| {
                format!(
                    "{} {} {} ({})",
                    e.service,
                    e.action,
                    e.params,
                    e.response_file.display()
                )
            })
            .collect()
    }

    /// Where clients send their requests (through the relay when it drops connections).
    pub fn url(&self) -> String {
        match &self.proxy {
            Some(proxy) => proxy.url(),
            None => self.server.uri(),
        }
    }

    /// The region the scenario was recorded in, if it says.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The underlying server, for tests that add answers of their own (they take priority).
    pub fn mock_server(&self) -> &MockServer {
        &self.server
    }

    pub fn log(&self) -> ReplayLog {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner()).clone();
        log.dropped = self.proxy.as_ref().map_or(0, DropProxy::dropped);
        log
    }
}

struct ScenarioResponder {
    label: String,
    exchanges: Arc<Vec<Exchange>>,
    snapshots: Arc<BTreeMap<String, RecordedSnapshot>>,
    log: Arc<Mutex<ReplayLog>>,
    verbose: bool,
    faults: Faults,
}

impl Respond for ScenarioResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request.url.path().starts_with("/snapshots/") {
            return self.ebs(request);
        }
        let key = match identify(request) {
            Ok(key) => key,
            Err(problem) => return error_answer("unknown", "InvalidRequest", &problem),
        };
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let text = key.to_string();
        let attempt = {
            let seen = log.seen.entry(text.clone()).or_default();
            *seen += 1;
            *seen
        };
        let rate = self.faults.error_rate();
        if rate > 0.0 && self.faults.draw(&text, attempt, 0) < rate {
            log.faults += 1;
            let throttle = self.faults.draw(&text, attempt, 1) < 0.5;
            if self.verbose {
                eprintln!(
                    "{key} → injected {}",
                    if throttle { "throttling" } else { "500" }
                );
            }
            return fault_answer(&key.service, throttle).set_delay(self.faults.latency);
        }
        let account = key
            .access_key
            .as_ref()
            .and_then(|k| log.accounts.get(k))
            .cloned();
        let fits = |e: &Exchange| {
            e.service == key.service
                && e.action == key.action
                && (e.region.is_none() || e.region == key.region)
                && (e.account.is_none() || e.account == account)
        };
        let candidates: Vec<(usize, u8)> = self
            .exchanges
            .iter()
            .enumerate()
            .filter(|(_, e)| fits(e) && e.params == key.params)
            .map(|(i, e)| {
                (
                    i,
                    2 * u8::from(e.account.is_some()) + u8::from(e.region.is_some()),
                )
            })
            .collect();
        // The most specific recordings win: an account's own answer over one for any account.
        let best = candidates.iter().map(|(_, s)| *s).max().unwrap_or(0);
        let matching: Vec<usize> = candidates
            .into_iter()
            .filter(|(_, s)| *s == best)
            .map(|(i, _)| i)
            .collect();
        // Several recordings of one request answer in order (a throttle, then the answer); the last repeats.
        let chosen = matching
            .iter()
            .copied()
            .find(|i| log.uses.get(*i).copied().unwrap_or(0) == 0)
            .or(matching.last().copied());
        // A DescribeImages batch the recording never saw whole, of AMIs it did describe.
        let assembled = match chosen {
            Some(_) => None,
            None if key.service == "ec2" && key.action == "DescribeImages" => by_image::assemble(
                &key.params,
                self.exchanges
                    .iter()
                    .filter(|e| {
                        fits(e) && e.status == 200 && by_image::image_ids(&e.params).is_some()
                    })
                    .map(|e| &e.body[..]),
            ),
            None => None,
        };
        log.requests
            .push((key.clone(), chosen.is_some() || assembled.is_some()));
        if let Some(body) = assembled {
            if self.verbose {
                eprintln!("{key} → assembled from the recorded DescribeImages answers");
            }
            return recorded_answer(200, body.into_bytes(), &key.service)
                .set_delay(self.faults.latency);
        }
        if self.verbose {
            match chosen.and_then(|i| self.exchanges.get(i)) {
                Some(e) => eprintln!("{key} → {} ({})", e.response_file.display(), e.status),
                None => eprintln!("{key} → no recording ({NO_RECORDING})"),
            }
        }
        let Some(index) = chosen else {
            let mut region = key
                .region
                .as_deref()
                .map(|r| format!(" in region {r}"))
                .unwrap_or_default();
            if let Some(account) = &account {
                region.push_str(&format!(" for account {account}"));
            }
            let message = format!(
                "no recorded answer in {} for {} {}{region} with parameters {}",
                self.label, key.service, key.action, key.params
            );
            return error_answer(&key.service, NO_RECORDING, &message)
                .set_delay(self.faults.latency);
        };
        if let Some(uses) = log.uses.get_mut(index) {
            *uses += 1;
        }
        let exchange = &self.exchanges[index];
        if exchange.action == "AssumeRole"
            && let Some((key, account)) = assumed_account(&exchange.body)
        {
            log.accounts.insert(key, account);
        }
        recorded_answer(exchange.status, exchange.body.to_vec(), &exchange.service)
            .set_delay(self.faults.latency)
    }
}

/// Entries of a ListSnapshotBlocks page when the request names no MaxResults (the API's default).
const EBS_PAGE: usize = 10_000;

impl ScenarioResponder {
    /// The EBS direct APIs (REST: the path names the operation): ListSnapshotBlocks
    /// (`GET /snapshots/{id}/blocks`) pages through the recorded block list, handing out tokens that
    /// GetSnapshotBlock (`GET /snapshots/{id}/blocks/{index}?blockToken=…`) must bring back; a block is
    /// served padded to the block size with its checksum in `x-amz-Checksum`. Faults and latency apply
    /// as to every other call.
    fn ebs(&self, request: &Request) -> ResponseTemplate {
        let query: BTreeMap<String, String> = request
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let parts: Vec<&str> = request.url.path().trim_matches('/').split('/').collect();
        let (action, snapshot_id, block) = match parts.as_slice() {
            ["snapshots", id, "blocks"] => ("ListSnapshotBlocks", *id, None),
            ["snapshots", id, "blocks", index] => ("GetSnapshotBlock", *id, Some(*index)),
            _ => {
                return error_answer("ebs", "InvalidRequest", "unknown EBS direct API path")
                    .set_delay(self.faults.latency);
            }
        };
        let mut params = serde_json::Map::new();
        params.insert("SnapshotId".into(), Value::from(snapshot_id));
        if let Some(index) = block {
            params.insert("BlockIndex".into(), Value::from(index));
        }
        for (name, value) in &query {
            params.insert(name.clone(), Value::from(value.as_str()));
        }
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        let authorization = header("authorization");
        let key = RequestKey {
            service: "ebs".into(),
            action: action.into(),
            params: Value::Object(params),
            region: authorization.and_then(signing_region),
            access_key: authorization.and_then(access_key),
        };
        let text = key.to_string();
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let attempt = {
            let seen = log.seen.entry(text.clone()).or_default();
            *seen += 1;
            *seen
        };
        let rate = self.faults.error_rate();
        if rate > 0.0 && self.faults.draw(&text, attempt, 0) < rate {
            log.faults += 1;
            let throttle = self.faults.draw(&text, attempt, 1) < 0.5;
            return fault_answer("ebs", throttle).set_delay(self.faults.latency);
        }
        let answer = match self.snapshots.get(snapshot_id) {
            None => Err(format!(
                "no recorded snapshot {snapshot_id} in {}",
                self.label
            )),
            // Refused when it was recorded: refused the same way.
            Some(snapshot) if snapshot.errors.contains_key(action) => {
                let error = &snapshot.errors[action];
                Ok(ResponseTemplate::new(error.status)
                    .insert_header("x-amzn-errortype", error.code.as_str())
                    .set_body_raw(
                        serde_json::json!({"message": error.message}).to_string(),
                        "application/json",
                    ))
            }
            Some(snapshot) => match block {
                None => list_blocks(snapshot, &query),
                Some(index) => get_block(snapshot, index, &query),
            },
        };
        log.requests.push((key.clone(), answer.is_ok()));
        if self.verbose {
            match &answer {
                Ok(_) => eprintln!("{key} → recorded snapshot"),
                Err(problem) => eprintln!("{key} → {problem}"),
            }
        }
        match answer {
            Ok(template) => template,
            Err(problem) => error_answer("ebs", NO_RECORDING, &problem),
        }
        .set_delay(self.faults.latency)
    }
}

/// One page of a recorded snapshot's block list, from `pageToken` (or `startingBlockIndex`).
fn list_blocks(
    snapshot: &RecordedSnapshot,
    query: &BTreeMap<String, String>,
) -> Result<ResponseTemplate, String> {
    let from: u64 = match (query.get("pageToken"), query.get("startingBlockIndex")) {
        (Some(token), _) => token
            .strip_prefix("from-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("page token '{token}' was not handed out by this server"))?,
        (None, Some(start)) => start
            .parse()
            .map_err(|_| format!("startingBlockIndex '{start}' is not a number"))?,
        (None, None) => 0,
    };
    let size = query
        .get("maxResults")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(EBS_PAGE)
        .clamp(1, EBS_PAGE);
    let mut listed = snapshot
        .index
        .blocks
        .iter()
        .filter(|b| b.block_index >= from);
    let page: Vec<Value> = listed
        .clone()
        .take(size)
        .map(|b| {
            serde_json::json!({
                "BlockIndex": b.block_index,
                "BlockToken": block_token(&snapshot.index.snapshot_id, b.block_index),
            })
        })
        .collect();
    let mut body = serde_json::json!({
        "Blocks": page,
        "BlockSize": snapshot.index.block_size,
        "VolumeSize": snapshot.index.volume_size,
        "ExpiryTime": 4102444800.0,
    });
    if let Some(next) = listed.nth(size) {
        body["NextToken"] = Value::from(format!("from-{}", next.block_index));
    }
    Ok(ResponseTemplate::new(200)
        .insert_header("x-amzn-requestid", "replay-0000-0000-0000-000000000000")
        .set_body_raw(body.to_string(), "application/json"))
}

/// A recorded block, if the request brings the token the listing handed out for it.
fn get_block(
    snapshot: &RecordedSnapshot,
    index: &str,
    query: &BTreeMap<String, String>,
) -> Result<ResponseTemplate, String> {
    let id = &snapshot.index.snapshot_id;
    let index: u64 = index
        .parse()
        .map_err(|_| format!("block index '{index}' is not a number"))?;
    if query.get("blockToken").map(String::as_str) != Some(block_token(id, index).as_str()) {
        return Err(format!(
            "block {index} of {id} asked without the token ListSnapshotBlocks gave for it"
        ));
    }
    let (bytes, checksum) = snapshot
        .block(index)
        .ok_or_else(|| format!("block {index} of {id} was not recorded"))?;
    Ok(ResponseTemplate::new(200)
        .insert_header("x-amzn-requestid", "replay-0000-0000-0000-000000000000")
        .insert_header("x-amz-Data-Length", bytes.len().to_string().as_str())
        .insert_header("x-amz-Checksum", checksum.as_str())
        .insert_header("x-amz-Checksum-Algorithm", "SHA256")
        .set_body_raw(bytes, "application/octet-stream"))
}

fn block_token(snapshot_id: &str, index: u64) -> String {
    format!("replay-{snapshot_id}-{index}")
}

/// A throttling error (EC2 `RequestLimitExceeded` 503, EMR `ThrottlingException` 400, STS `Throttling`
/// 400) or an internal error with HTTP 500, each in the service's own format, as AWS sends them.
fn fault_answer(service: &str, throttle: bool) -> ResponseTemplate {
    let (code, status) = match (service, throttle) {
        ("ec2", true) => ("RequestLimitExceeded", 503),
        ("emr", true) => ("ThrottlingException", 400),
        ("organizations", true) => ("TooManyRequestsException", 400),
        ("kms", true) => ("ThrottlingException", 400),
        ("ebs", true) => ("ThrottlingException", 400),
        ("ebs", false) => ("InternalServerException", 500),
        (_, true) => ("Throttling", 400),
        ("emr", false) => ("InternalServerException", 500),
        ("organizations", false) => ("ServiceException", 500),
        ("kms", false) => ("KMSInternalException", 500),
        ("ec2", false) => ("InternalError", 500),
        (_, false) => ("InternalFailure", 500),
    };
    let message = if throttle {
        "Rate exceeded (injected by the replay server)"
    } else {
        "Internal error (injected by the replay server)"
    };
    ResponseTemplate::new(status)
        .insert_header("x-amzn-errortype", code)
        .set_body_raw(
            answer_body(service, code, message),
            error_content_type(service),
        )
}

/// A recorded (or assembled) answer, as the service sends it.
fn recorded_answer(status: u16, body: Vec<u8>, service: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-amzn-requestid", "replay-0000-0000-0000-000000000000")
        .set_body_raw(body, content_type(service))
}

fn content_type(service: &str) -> &'static str {
    if is_json_service(service) {
        "application/x-amz-json-1.1"
    } else {
        "text/xml;charset=UTF-8"
    }
}

/// The services that speak JSON (awsJson1_1, `x-amz-target`): EMR, KMS (`TrentService.{Action}`) and
/// Organizations; EC2 and STS speak
/// the query protocol and answer in XML.
pub(crate) fn is_json_service(service: &str) -> bool {
    matches!(service, "emr" | "kms" | "organizations")
}

/// Service, action and parameters of an SDK request as the server receives it.
pub fn identify(request: &Request) -> Result<RequestKey, String> {
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    identify_parts(
        header("x-amz-target"),
        header("authorization"),
        &request.body,
    )
}

/// Service, action and parameters from the parts of a request that tell them: EMR and Organizations by
/// their `x-amz-target` header and JSON body, EC2 and STS by their query-protocol form body (the SigV4
/// credential scope in `authorization` settles the service when the API version doesn't).
pub fn identify_parts(
    target: Option<&str>,
    authorization: Option<&str>,
    body: &[u8],
) -> Result<RequestKey, String> {
    if let Some(target) = target {
        let (prefix, action) = target
            .split_once('.')
            .ok_or_else(|| format!("unrecognised x-amz-target '{target}'"))?;
        let service = match prefix {
            "ElasticMapReduce" => "emr",
            "AWSOrganizationsV20161128" => "organizations",
            "TrentService" => "kms",
            other => return Err(format!("unsupported JSON service '{other}'")),
        };
        let params: Value = if body.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(body).map_err(|e| format!("request body is not JSON: {e}"))?
        };
        return Ok(RequestKey {
            service: service.into(),
            action: action.into(),
            params: canonical(&params),
            region: authorization.and_then(signing_region),
            access_key: authorization.and_then(access_key),
        });
    }
    let (action, version, params) = query_params(body);
    let action = action.ok_or("request has neither x-amz-target nor an Action parameter")?;
    let service = match version.as_deref() {
        Some("2016-11-15") => "ec2".to_string(),
        Some("2011-06-15") => "sts".to_string(),
        _ => authorization
            .and_then(signing_service)
            .ok_or_else(|| format!("cannot tell the service of action {action}"))?,
    };
    Ok(RequestKey {
        service,
        action,
        params,
        region: authorization.and_then(signing_region),
        access_key: authorization.and_then(access_key),
    })
}

/// The service named in the SigV4 credential scope: `Credential=AKID/20240101/us-east-1/ec2/aws4_request`.
fn signing_service(authorization: &str) -> Option<String> {
    credential_scope(authorization, 3)
}

fn signing_region(authorization: &str) -> Option<String> {
    credential_scope(authorization, 2)
}

fn access_key(authorization: &str) -> Option<String> {
    credential_scope(authorization, 0)
}

/// What an STS AssumeRole answer hands out: the access key and the account it is for.
fn assumed_account(body: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(body).ok()?;
    let element = |name: &str| -> Option<String> {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find('<')? + start;
        Some(text[start..end].trim().to_string())
    };
    let key = element("AccessKeyId")?;
    // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
    let account = element("Arn")?.split(':').nth(4)?.to_string();
    Some((key, account))
}

/// A part of the SigV4 credential scope `AKID/DATE/REGION/SERVICE/aws4_request`.
fn credential_scope(authorization: &str, part: usize) -> Option<String> {
    let scope = authorization
        .split("Credential=")
        .nth(1)?
        .split(',')
        .next()?;
    scope.split('/').nth(part).map(str::to_string)
}

/// An error in the service's own wire format, so the SDK reports its code and message.
pub fn error_answer(service: &str, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(400)
        .insert_header("x-amzn-errortype", code)
        .set_body_raw(
            answer_body(service, code, message),
            error_content_type(service),
        )
}

fn error_content_type(service: &str) -> &'static str {
    if service == "ebs" {
        "application/json"
    } else if is_json_service(service) {
        "application/x-amz-json-1.1"
    } else {
        "text/xml"
    }
}

fn answer_body(service: &str, code: &str, message: &str) -> String {
    let escaped = xml_escape(message);
    match service {
        "emr" | "kms" | "organizations" | "ebs" => {
            serde_json::json!({"__type": code, "message": message}).to_string()
        }
        "sts" => format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{escaped}</Message></Error><RequestId>replay</RequestId></ErrorResponse>"
        ),
        _ => format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{escaped}</Message></Error></Errors>\
             <RequestID>replay</RequestID></Response>"
        ),
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn organizations_is_told_by_its_target_and_answers_in_json() {
        let key = identify_parts(
            Some("AWSOrganizationsV20161128.ListAccountsForParent"),
            Some("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=x"),
            br#"{"ParentId": "ou-ab12-prod0001"}"#,
        )
        .expect("identified");
        assert_eq!(key.service, "organizations");
        assert_eq!(key.action, "ListAccountsForParent");
        assert_eq!(key.params, json!({"ParentId": "ou-ab12-prod0001"}));
        assert_eq!(key.region.as_deref(), Some("us-east-1"));
        assert_eq!(content_type("organizations"), "application/x-amz-json-1.1");
        let body: Value =
            serde_json::from_str(&answer_body("organizations", "AccessDeniedException", "no"))
                .expect("JSON");
        assert_eq!(body["__type"], "AccessDeniedException");
    }

    #[test]
    fn kms_is_told_by_its_target_and_answers_in_json() {
        let key = identify_parts(
            Some("TrentService.GetKeyPolicy"),
            Some("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=x"),
            br#"{"KeyId": "arn:aws:kms:us-east-1:111122223333:key/k", "PolicyName": "default"}"#,
        )
        .expect("identified");
        assert_eq!(key.service, "kms");
        assert_eq!(key.action, "GetKeyPolicy");
        assert_eq!(
            key.params,
            json!({"KeyId": "arn:aws:kms:us-east-1:111122223333:key/k", "PolicyName": "default"})
        );
        assert_eq!(content_type("kms"), "application/x-amz-json-1.1");
        let body: Value =
            serde_json::from_str(&answer_body("kms", "NotFoundException", "no")).expect("JSON");
        assert_eq!(body["__type"], "NotFoundException");
    }
}
