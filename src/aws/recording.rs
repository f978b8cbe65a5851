//! The SDK interceptor behind `--record`: it hands each attempt's request and response to a
//! [`Recorder`], which keeps only parameters and bodies (never headers, so never credentials).

use aws_sdk_ec2::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ec2::error::BoxError;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

use crate::replay::{Recorder, identify_parts};

/// The request of the current attempt, kept between the transmit and deserialization hooks.
#[derive(Debug, Clone)]
struct PendingRequest {
    target: Option<String>,
    authorization: Option<String>,
    body: Vec<u8>,
}

impl Storable for PendingRequest {
    type Storer = StoreReplace<Self>;
}

/// Every attempt is recorded, so a throttled attempt and its retry replay in the same order.
#[derive(Debug, Clone)]
pub(super) struct RecordingInterceptor {
    pub(super) recorder: Recorder,
}

impl Intercept for RecordingInterceptor {
    fn name(&self) -> &'static str {
        "emr-ami-audit-recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        cfg.interceptor_state().store_put(PendingRequest {
            target: request.headers().get("x-amz-target").map(str::to_string),
            // Only read to tell the service from the signing scope; never stored.
            authorization: request.headers().get("authorization").map(str::to_string),
            body: request
                .body()
                .bytes()
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
        });
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(pending) = cfg.load::<PendingRequest>() else {
            return Ok(());
        };
        let response = context.response();
        let identified = identify_parts(
            pending.target.as_deref(),
            pending.authorization.as_deref(),
            &pending.body,
        );
        if let (Some(body), Ok(key)) = (response.body().bytes(), identified) {
            self.recorder
                .record(key, response.status().as_u16(), body.to_vec());
        }
        Ok(())
    }
}
