//! DescribeImages answered image by image. EC2 describes each AMI of a request on its own, and a
//! cluster scan batches AMIs as the clusters are described (see `collect/prefetch.rs`), so which AMIs
//! share a batch depends on which clusters answered first: a replay can ask for a batch the recording
//! never saw. Such a request is answered from the images of every recorded successful answer, if
//! every AMI it names is among them; otherwise it stays unanswered, as any unrecorded request.

use std::collections::BTreeMap;

use serde_json::Value;

/// The answer to a DescribeImages by `ImageId` alone, assembled from `recorded` successful
/// DescribeImages answers by `ImageId` alone; `None` if some AMI asked is in none of them, or the
/// request is not of that kind.
pub(super) fn assemble<'a>(
    params: &Value,
    recorded: impl Iterator<Item = &'a [u8]>,
) -> Option<String> {
    let asked = image_ids(params)?;
    let mut items: BTreeMap<&str, &str> = BTreeMap::new();
    for body in recorded {
        let Ok(body) = std::str::from_utf8(body) else {
            continue;
        };
        for item in image_items(body) {
            if let Some(id) = element_text(item, "imageId") {
                items.entry(id).or_insert(item);
            }
        }
    }
    let mut set = String::new();
    for id in asked {
        set.push_str(items.get(id)?);
    }
    Some(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeImagesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>replay-0000-0000-0000-000000000000</requestId><imagesSet>{set}</imagesSet></DescribeImagesResponse>"
    ))
}

/// The AMI IDs of DescribeImages parameters that name AMIs and nothing else.
pub(super) fn image_ids(params: &Value) -> Option<Vec<&str>> {
    let params = params.as_object()?;
    if params.len() != 1 {
        return None;
    }
    params
        .get("ImageId")?
        .as_array()?
        .iter()
        .map(Value::as_str)
        .collect()
}

/// The `<item>` elements directly under `<imagesSet>` (theirs nest `<item>`s of their own: block
/// device mappings, tags).
fn image_items(body: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let Some(start) = body.find("<imagesSet>") else {
        return items;
    };
    let mut at = start + "<imagesSet>".len();
    let mut depth = 0usize;
    let mut item_start = 0;
    loop {
        let rest = &body[at..];
        let next = ["<item>", "</item>", "</imagesSet>"]
            .iter()
            .filter_map(|tag| rest.find(tag).map(|i| (i, *tag)))
            .min();
        let Some((offset, tag)) = next else {
            // Cut short: what was whole is kept, the rest is not an image.
            return items;
        };
        let tag_at = at + offset;
        at = tag_at + tag.len();
        match tag {
            "<item>" => {
                if depth == 0 {
                    item_start = tag_at;
                }
                depth += 1;
            }
            "</item>" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    items.push(&body[item_start..at]);
                }
            }
            _ if depth == 0 => return items,
            _ => {}
        }
    }
}

/// The text of the first `<name>` element of `xml`.
fn element_text<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..start + len].trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(ids: &[&str]) -> String {
        let items: String = ids
            .iter()
            .map(|id| {
                format!(
                    "<item><imageId>{id}</imageId><blockDeviceMapping><item><deviceName>/dev/xvda</deviceName></item></blockDeviceMapping><tagSet><item><key>k</key><value>v</value></item></tagSet></item>"
                )
            })
            .collect();
        format!(
            "<DescribeImagesResponse><requestId>r</requestId><imagesSet>{items}</imagesSet></DescribeImagesResponse>"
        )
    }

    #[test]
    fn a_batch_of_images_recorded_apart_is_answered_with_each_one_whole() {
        let a = body(&["ami-1", "ami-2"]);
        let b = body(&["ami-3"]);
        let params = json!({"ImageId": ["ami-3", "ami-1"]});
        let answer =
            assemble(&params, [a.as_bytes(), b.as_bytes()].into_iter()).expect("assembled");
        let items = image_items(&answer);
        assert_eq!(items.len(), 2, "{answer}");
        assert_eq!(element_text(items[0], "imageId"), Some("ami-3"));
        assert_eq!(element_text(items[1], "imageId"), Some("ami-1"));
        assert!(
            items
                .iter()
                .all(|i| i.contains("<tagSet><item><key>k</key>"))
        );
    }

    #[test]
    fn an_image_in_no_recording_leaves_the_request_unanswered() {
        let a = body(&["ami-1"]);
        let params = json!({"ImageId": ["ami-1", "ami-9"]});
        assert_eq!(assemble(&params, [a.as_bytes()].into_iter()), None);
    }

    #[test]
    fn only_requests_naming_images_alone_are_assembled() {
        let a = body(&["ami-1"]);
        let with_owner = json!({"ImageId": ["ami-1"], "ExecutableBy": ["self"]});
        assert_eq!(assemble(&with_owner, [a.as_bytes()].into_iter()), None);
        assert_eq!(assemble(&json!({}), [a.as_bytes()].into_iter()), None);
    }

    #[test]
    fn a_cut_answer_gives_only_its_whole_images() {
        let whole = body(&["ami-1", "ami-2"]);
        let cut = &whole[..whole.find("<item><imageId>ami-2").expect("second") + 30];
        let items = image_items(cut);
        assert_eq!(items.len(), 1);
        assert_eq!(element_text(items[0], "imageId"), Some("ami-1"));
    }
}
