//! The SDK's deserializers accept a truncated answer: a `DescribeImages` body cut anywhere parses as an
//! answer with fewer (or no) images, and the missing AMIs would be reported as not existing. This
//! interceptor checks every successful answer is whole before its facts are believed: XML (EC2, STS)
//! must close every element it opens, JSON (EMR) must parse. A broken answer is a failed call
//! (`MalformedResponse`), so its targets are "not audited", never judged.

use aws_sdk_ec2::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeDeserializationInterceptorContextMut,
};
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ec2::error::BoxError;
use aws_smithy_types::body::SdkBody;

/// The most of an answer that is read: far more than any answer of the calls made (a DescribeImages page
/// of 100 images is a few hundred KiB), far less than what would exhaust memory.
pub const MAX_ANSWER_BYTES: usize = 64 << 20;

/// A 2xx answer whose body is not a whole XML or JSON document.
#[derive(Debug, thiserror::Error)]
#[error("malformed response (HTTP {status}, {bytes} bytes)")]
pub struct MalformedResponse {
    pub status: u16,
    pub bytes: usize,
}

#[derive(Debug, Clone, Default)]
pub(super) struct IntegrityInterceptor;

impl Intercept for IntegrityInterceptor {
    fn name(&self) -> &'static str {
        "emr-ami-audit-integrity"
    }

    /// Answers are read through a cap, so an endpoint sending gigabytes fails the call instead of
    /// filling memory.
    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.response_mut().body_mut();
        let original = std::mem::replace(body, SdkBody::taken());
        *body = SdkBody::from_body_1_x(http_body_util::Limited::new(original, MAX_ANSWER_BYTES));
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            // Error answers are errors already; their codes are read by the SDK.
            return Ok(());
        }
        // A streaming answer (an EBS snapshot block) is not in memory here; its reader checks it whole
        // against the checksum that comes with it.
        let Some(body) = response.body().bytes() else {
            return Ok(());
        };
        if is_whole(body) {
            Ok(())
        } else {
            Err(Box::new(MalformedResponse {
                status,
                bytes: body.len(),
            }))
        }
    }
}

/// Whether `body` is one whole XML element tree or one JSON value.
pub fn is_whole(body: &[u8]) -> bool {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => xml_is_closed(body),
        Some(b'{') | Some(b'[') => serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok(),
        _ => false,
    }
}

/// Every element opened is closed, the root last, with nothing but whitespace after it. Comments,
/// CDATA, declarations and processing instructions are skipped; attribute values may hold `>`.
fn xml_is_closed(body: &[u8]) -> bool {
    let mut depth: usize = 0;
    let mut seen_root = false;
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'<' {
            if depth == 0 && seen_root && !body[i].is_ascii_whitespace() {
                return false;
            }
            i += 1;
            continue;
        }
        let rest = &body[i..];
        let skip_to = |end: &[u8]| find(rest, end).map(|at| i + at + end.len());
        let next = if rest.starts_with(b"<!--") {
            skip_to(b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            skip_to(b"]]>")
        } else if rest.starts_with(b"<?") {
            skip_to(b"?>")
        } else if rest.starts_with(b"<!") {
            skip_to(b">")
        } else {
            let Some(end) = tag_end(rest) else {
                return false;
            };
            let tag = &rest[..end];
            if tag.starts_with(b"</") {
                match depth.checked_sub(1) {
                    Some(d) => depth = d,
                    None => return false,
                }
            } else if !tag.ends_with(b"/") {
                if depth == 0 && seen_root {
                    return false;
                }
                depth += 1;
                seen_root = true;
            } else if depth == 0 {
                if seen_root {
                    return false;
                }
                seen_root = true;
            }
            Some(i + end + 1)
        };
        match next {
            Some(n) => i = n,
            None => return false,
        }
    }
    seen_root && depth == 0
}

/// The index of the `>` that ends the tag at the start of `tag`, outside quoted attribute values.
fn tag_end(tag: &[u8]) -> Option<usize> {
    let mut quote = None;
    for (i, &b) in tag.iter().enumerate().skip(1) {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
    <imagesSet>
        <item><imageId>ami-0ea00000000000001</imageId><name>a &gt; b</name><blockDeviceMapping/></item>
    </imagesSet>
    <!-- a comment with </imagesSet> in it -->
</DescribeImagesResponse>
"#;

    #[test]
    fn whole_answers_pass() {
        assert!(is_whole(IMAGES.as_bytes()));
        assert!(is_whole(br#"{"Cluster": {"Id": "j-1", "Name": "a}b"}}"#));
        assert!(is_whole(b"{}"));
        assert!(is_whole(b"<Empty/>"));
        assert!(is_whole(br#"<a x="1>2"><b/></a>"#));
    }

    #[test]
    fn cut_answers_fail_wherever_they_are_cut() {
        let whole = IMAGES.trim_end();
        let root_open = whole.find("<DescribeImagesResponse").expect("root");
        for cut in root_open..whole.len() {
            assert!(!is_whole(&whole.as_bytes()[..cut]), "cut at {cut}");
        }
        let json = br#"{"Cluster": {"Id": "j-1"}}"#;
        for cut in 0..json.len() {
            assert!(!is_whole(&json[..cut]), "cut at {cut}");
        }
    }

    #[test]
    fn other_bodies_fail() {
        assert!(!is_whole(b""));
        assert!(!is_whole(b"   "));
        assert!(!is_whole(
            b"<html><body>502 Bad Gateway</body></html> trailing"
        ));
        assert!(!is_whole(b"Service Unavailable"));
        assert!(!is_whole(b"<a></a><b></b>"));
        assert!(!is_whole(b"</a>"));
    }
}
