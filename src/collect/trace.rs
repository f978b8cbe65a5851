//! Tracing audited AMIs back to their bases, strongest evidence first: GetImageAncestry; else
//! SourceImageId, the source instance, the root snapshot's description, the image's tags and text.
//! Every image's parent is found once per run, whatever number of audited AMIs share it, and every
//! lookup is batched per level of the walk.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use super::BATCH;
use crate::aws::Aws;
use crate::facts::lineage::{
    self, BaseClass, Lineage, LineageLink, LinkSource, SnapshotOrigin, SourceInstance, TextParent,
};
use crate::facts::{AncestryEntry, CollectError, ImageFacts, ImageLookup};

/// Parallel GetImageAncestry calls (one per AMI; the API takes no list): an upper bound, as the run's
/// budget of calls in flight (`--concurrency`) bounds them all; at the default budget, all of it.
pub(super) const ANCESTRY_CONCURRENCY: usize = 16;
/// Levels the fallback walk follows; real chains are two or three deep.
const MAX_DEPTH: usize = 5;
/// Links followed when a chain is assembled, so a cycle in bad data can't loop.
const MAX_CHAIN: usize = 12;

/// EC2 codes meaning the API can't be used by this caller at all: asking again for other AMIs is
/// pointless.
pub(super) fn api_unavailable(error: &CollectError) -> bool {
    error.is_access_denied()
        || matches!(
            error.code.as_str(),
            "UnsupportedOperation" | "InvalidAction" | "UnknownOperation"
        )
}

struct Tracer<'a> {
    aws: &'a Aws,
    caller: Option<&'a str>,
    /// Every image described so far, audited and ancestors, by ID, with its region.
    described: BTreeMap<String, (ImageFacts, String)>,
    /// Images that could not be described, and why.
    undescribed: BTreeMap<String, String>,
    /// Each image's parent, found once.
    parents: BTreeMap<String, LineageLink>,
    /// Images whose parent is known not to be findable (or that are bases themselves).
    settled: BTreeSet<String>,
    /// Source instances, by the image created from them.
    instances: BTreeMap<String, SourceInstance>,
    /// Fallbacks taken, by image.
    notes: BTreeMap<String, Vec<String>>,
}

/// GetImageAncestry's answers already had, by AMI.
pub(super) type Ancestries = BTreeMap<String, Result<Vec<AncestryEntry>, CollectError>>;

/// The lineage of every found AMI of `audited` (ID → DescribeImages' answer), keyed by AMI ID.
/// GetImageAncestry is asked only for the AMIs `prefetched` has no answer for.
pub async fn lineages(
    aws: &Aws,
    audited: &BTreeMap<String, ImageFacts>,
    caller: Option<&str>,
    prefetched: &mut Ancestries,
) -> BTreeMap<String, Lineage> {
    let region = aws.region().to_string();
    let mut tracer = Tracer {
        aws,
        caller,
        described: audited
            .iter()
            .map(|(id, facts)| (id.clone(), (facts.clone(), region.clone())))
            .collect(),
        undescribed: BTreeMap::new(),
        parents: BTreeMap::new(),
        settled: BTreeSet::new(),
        instances: BTreeMap::new(),
        notes: BTreeMap::new(),
    };
    tracing::info!("tracing the lineage of {} AMIs", audited.len());
    let traced_by_ancestry = tracer.ancestry(audited, prefetched).await;
    let ancestors: Vec<(String, String)> = tracer
        .parents
        .values()
        .filter_map(|link| Some((link.image_id.clone()?, tracer.region_of(link))))
        .collect();
    tracer.describe(&ancestors).await;
    let frontier: Vec<String> = audited
        .keys()
        .filter(|id| !traced_by_ancestry.contains(*id))
        .cloned()
        .collect();
    tracer.walk(frontier).await;
    let mut lineages: BTreeMap<String, Lineage> = audited
        .keys()
        .map(|id| (id.clone(), tracer.lineage_of(id)))
        .collect();
    newest_in_families(aws, &mut lineages, audited).await;
    lineages
}

impl Tracer<'_> {
    fn region_of(&self, link: &LineageLink) -> String {
        link.region
            .clone()
            .unwrap_or_else(|| self.aws.region().to_string())
    }

    /// Where a parent lives: the region it was named with, else its child's.
    fn parent_region(&self, child: &str, named: Option<&str>) -> Option<String> {
        let child_region = self.described.get(child).map(|(_, r)| r.as_str());
        let region = named.or(child_region)?;
        (region != self.aws.region()).then(|| region.to_string())
    }

    fn note(&mut self, image: &str, note: String) {
        self.notes.entry(image.to_string()).or_default().push(note);
    }

    /// GetImageAncestry for each AMI not in `prefetched`: the first alone, so a caller without the
    /// permission (or a region without the API) costs one call; then the rest concurrently. (An
    /// answer prefetched is that first call, made by the prefetch.) Returns the AMIs it traced.
    async fn ancestry(
        &mut self,
        audited: &BTreeMap<String, ImageFacts>,
        prefetched: &mut Ancestries,
    ) -> BTreeSet<String> {
        let mut traced = BTreeSet::new();
        let mut answers = Vec::new();
        let mut ask = Vec::new();
        for id in audited.keys() {
            match prefetched.remove(id) {
                Some(answer) => answers.push((id.clone(), answer)),
                None => ask.push(id.clone()),
            }
        }
        let mut rest = ask.as_slice();
        if answers.is_empty()
            && let Some((first, others)) = ask.split_first()
        {
            answers.push((first.clone(), self.aws.image_ancestry(first).await));
            rest = others;
        }
        let unavailable = answers
            .iter()
            .find_map(|(_, answer)| answer.as_ref().err().filter(|error| api_unavailable(error)));
        if let Some(error) = unavailable {
            let note = format!("GetImageAncestry is not available: {error}");
            tracing::info!("{note}");
            for id in audited.keys() {
                self.note(id, note.clone());
            }
            return traced;
        }
        let aws = self.aws;
        let more: Vec<_> = futures::stream::iter(rest.iter().cloned())
            .map(|id| async move {
                let answer = aws.image_ancestry(&id).await;
                (id, answer)
            })
            .buffer_unordered(ANCESTRY_CONCURRENCY)
            .collect()
            .await;
        answers.extend(more);
        for (id, answer) in answers {
            match answer {
                Ok(entries) if knows_a_parent(&entries) => {
                    self.adopt_ancestry(&entries);
                    traced.insert(id);
                }
                Ok(_) => {
                    let amazons = audited.get(&id).is_some_and(is_amazons);
                    if !amazons {
                        self.note(&id, "GetImageAncestry knows no parent".into());
                    }
                }
                Err(error) => self.note(&id, error.to_string()),
            }
        }
        traced
    }

    /// Each entry's parent is the next entry (or, at a cut chain's end, the entry's source image).
    fn adopt_ancestry(&mut self, entries: &[AncestryEntry]) {
        for (at, entry) in entries.iter().enumerate() {
            let parent_region =
                self.parent_region(&entry.image_id, entry.source_image_region.as_deref());
            let link = match entries.get(at + 1) {
                Some(parent) => LineageLink {
                    creation_date: parent.creation_date.clone(),
                    owner_alias: parent.owner_alias.clone(),
                    ..LineageLink::to_image(
                        &parent.image_id,
                        parent_region,
                        LinkSource::Ancestry,
                        format!("GetImageAncestry: parent of {}", entry.image_id),
                    )
                },
                None => match &entry.source_image_id {
                    Some(source) => LineageLink::to_image(
                        source,
                        parent_region,
                        LinkSource::Ancestry,
                        format!("GetImageAncestry: source of {}", entry.image_id),
                    ),
                    None => {
                        self.settled.insert(entry.image_id.clone());
                        continue;
                    }
                },
            };
            self.parents.entry(entry.image_id.clone()).or_insert(link);
        }
    }

    /// DescribeImages for images not yet described, batched per region.
    async fn describe(&mut self, wanted: &[(String, String)]) {
        let mut by_region: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (id, region) in wanted {
            if !self.described.contains_key(id) && !self.undescribed.contains_key(id) {
                by_region
                    .entry(region.clone())
                    .or_default()
                    .insert(id.clone());
            }
        }
        for (region, ids) in by_region {
            let aws = self.aws.in_region(&region);
            let ids: Vec<String> = ids.into_iter().collect();
            // The same batching and settling of unknown IDs as for the audited AMIs.
            for (id, evidence) in super::describe_images(&aws, &ids).await {
                match evidence.lookup {
                    ImageLookup::Found(image) => {
                        self.described.insert(id, (*image, region.clone()));
                    }
                    ImageLookup::NotFound { code } => {
                        let why = format!(
                            "DescribeImages in {region}: {code} (deregistered, or not shared with this account)"
                        );
                        self.undescribed.insert(id, why);
                    }
                    ImageLookup::Failed(error) => {
                        self.undescribed.insert(id, error.to_string());
                    }
                }
            }
        }
    }

    /// The fallback walk, level by level from `frontier`.
    async fn walk(&mut self, mut frontier: Vec<String>) {
        for _ in 0..MAX_DEPTH {
            frontier.retain(|id| !self.parents.contains_key(id) && !self.settled.contains(id));
            if frontier.is_empty() {
                return;
            }
            let mut snapshots: Vec<(String, String)> = Vec::new();
            let mut instances: Vec<(String, String, String)> = Vec::new();
            let mut by_text: Vec<String> = Vec::new();
            for id in &frontier {
                let Some((image, _)) = self.described.get(id) else {
                    self.settled.insert(id.clone());
                    continue;
                };
                let image = image.clone();
                let owned = self.caller.is_some() && image.owner_id.as_deref() == self.caller;
                if is_amazons(&image) {
                    self.settled.insert(id.clone());
                } else if let Some(source) = &image.source_image_id {
                    let region = self.parent_region(id, image.source_image_region.as_deref());
                    let link = LineageLink::to_image(
                        source,
                        region,
                        LinkSource::SourceImageId,
                        format!("SourceImageId of {id}"),
                    );
                    self.parents.insert(id.clone(), link);
                } else if let Some(instance) = &image.source_instance_id {
                    if owned {
                        instances.push((
                            id.clone(),
                            instance.clone(),
                            format!("SourceInstanceId of {id}"),
                        ));
                    } else {
                        self.instances.insert(
                            id.clone(),
                            SourceInstance {
                                instance_id: instance.clone(),
                                image_id: id.clone(),
                                tags: None,
                                unknown: Some(format!(
                                    "it is in account {}, not visible to this one",
                                    image.owner_id.as_deref().unwrap_or("(unknown)")
                                )),
                            },
                        );
                        by_text.push(id.clone());
                    }
                } else if let Some(snapshot) = owned.then(|| root_snapshot(&image)).flatten() {
                    snapshots.push((id.clone(), snapshot));
                } else {
                    by_text.push(id.clone());
                }
            }
            self.read_snapshots(snapshots, &mut instances, &mut by_text)
                .await;
            self.read_instances(instances, &mut by_text).await;
            for id in by_text {
                self.parent_from_text(&id);
            }
            let parents: Vec<(String, String)> = frontier
                .iter()
                .filter_map(|id| self.parents.get(id))
                .filter_map(|link| Some((link.image_id.clone()?, self.region_of(link))))
                .collect();
            self.describe(&parents).await;
            frontier = parents.into_iter().map(|(id, _)| id).collect();
        }
    }

    /// Resource IDs grouped by the region of the image each belongs to (snapshots and instances live
    /// where their image does), sorted and once each.
    fn by_region<'a>(
        &self,
        items: impl Iterator<Item = (&'a String, &'a String)>,
    ) -> BTreeMap<String, Vec<String>> {
        let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (image, id) in items {
            let region = self
                .described
                .get(image)
                .map(|(_, r)| r.clone())
                .unwrap_or_else(|| self.aws.region().to_string());
            groups.entry(region).or_default().insert(id.clone());
        }
        groups
            .into_iter()
            .map(|(region, ids)| (region, ids.into_iter().collect()))
            .collect()
    }

    /// DescribeSnapshots for root snapshots: a copy names its source AMI; CreateImage names the instance.
    async fn read_snapshots(
        &mut self,
        wanted: Vec<(String, String)>,
        instances: &mut Vec<(String, String, String)>,
        by_text: &mut Vec<String>,
    ) {
        if wanted.is_empty() {
            return;
        }
        let mut descriptions = BTreeMap::new();
        let groups = self.by_region(wanted.iter().map(|(image, snapshot)| (image, snapshot)));
        for (region, ids) in groups {
            let aws = self.aws.in_region(&region);
            for chunk in ids.chunks(BATCH) {
                match aws.snapshot_descriptions(chunk).await {
                    Ok(found) => descriptions.extend(found),
                    Err(error) => {
                        for (image, snapshot) in wanted.iter().filter(|(_, s)| chunk.contains(s)) {
                            self.note(image, format!("root snapshot {snapshot}: {error}"));
                        }
                    }
                }
            }
        }
        for (image, snapshot) in wanted {
            let origin = descriptions
                .get(&snapshot)
                .and_then(|d| lineage::snapshot_origin(d));
            match origin {
                Some(SnapshotOrigin::Instance(instance)) => instances.push((
                    image,
                    instance,
                    format!("root snapshot {snapshot} of the image: Created by CreateImage"),
                )),
                Some(SnapshotOrigin::CopiedFrom(source)) => {
                    let region = self.parent_region(&image, None);
                    let link = LineageLink::to_image(
                        &source,
                        region,
                        LinkSource::SnapshotDescription,
                        format!("description of root snapshot {snapshot} of {image}"),
                    );
                    self.parents.insert(image, link);
                }
                None => by_text.push(image),
            }
        }
    }

    /// DescribeInstances for source instances: the image each was launched from, and its tags.
    async fn read_instances(
        &mut self,
        wanted: Vec<(String, String, String)>,
        by_text: &mut Vec<String>,
    ) {
        if wanted.is_empty() {
            return;
        }
        let mut found = BTreeMap::new();
        let mut failed = BTreeMap::new();
        let groups = self.by_region(wanted.iter().map(|(image, instance, _)| (image, instance)));
        for (region, ids) in groups {
            let aws = self.aws.in_region(&region);
            for chunk in ids.chunks(BATCH) {
                match aws.instance_origins(chunk).await {
                    Ok(origins) => {
                        found.extend(origins.into_iter().map(|o| (o.instance_id.clone(), o)))
                    }
                    Err(error) => {
                        failed.extend(chunk.iter().map(|i| (i.clone(), error.to_string())))
                    }
                }
            }
        }
        for (image, instance, how) in wanted {
            let mut source = SourceInstance {
                instance_id: instance.clone(),
                image_id: image.clone(),
                tags: None,
                unknown: None,
            };
            match found.get(&instance) {
                Some(origin) => {
                    source.tags = Some(origin.tags.clone());
                    match &origin.image_id {
                        Some(parent) => {
                            let region = self.parent_region(&image, None);
                            let link = LineageLink::to_image(
                                parent,
                                region,
                                LinkSource::SourceInstance,
                                format!("instance {instance} ({how}) was launched from it"),
                            );
                            self.parents.insert(image.clone(), link);
                        }
                        None => by_text.push(image.clone()),
                    }
                }
                None => {
                    source.unknown = Some(failed.get(&instance).cloned().unwrap_or_else(|| {
                        "DescribeInstances does not show it (terminated long ago)".to_string()
                    }));
                    self.note(
                        &image,
                        format!("source instance {instance} ({how}) could not be described"),
                    );
                    by_text.push(image.clone());
                }
            }
            self.instances.insert(image, source);
        }
    }

    /// The last resort: tags, name and description.
    fn parent_from_text(&mut self, id: &str) {
        let Some((image, _)) = self.described.get(id) else {
            return;
        };
        match lineage::text_parent(image) {
            Some(parent) => {
                let region = match &parent {
                    TextParent::Id { .. } => self.parent_region(id, None),
                    TextParent::Name { .. } => None,
                };
                let link = parent.into_link(region);
                self.parents.insert(id.to_string(), link);
            }
            None => {
                self.settled.insert(id.to_string());
                self.note(id, "nothing names its parent".to_string());
            }
        }
    }

    /// The chain above `id`, each link filled from what was described.
    fn lineage_of(&self, id: &str) -> Lineage {
        let mut lineage = Lineage::default();
        let mut seen = BTreeSet::from([id.to_string()]);
        let mut members = vec![id.to_string()];
        let mut current = id.to_string();
        while let Some(link) = self.parents.get(&current) {
            if lineage.chain.len() >= MAX_CHAIN {
                break;
            }
            let mut link = link.clone();
            if let Some(parent) = link.image_id.clone() {
                if let Some((facts, _)) = self.described.get(&parent) {
                    link.describe(facts);
                } else if let Some(why) = self.undescribed.get(&parent) {
                    link.not_described = Some(why.clone());
                }
                lineage.chain.push(link);
                if !seen.insert(parent.clone()) {
                    break;
                }
                members.push(parent.clone());
                current = parent;
            } else {
                lineage.chain.push(link);
                break;
            }
        }
        for member in &members {
            if let Some(instance) = self.instances.get(member) {
                lineage.source_instances.push(instance.clone());
            }
            lineage
                .notes
                .extend(self.notes.get(member).into_iter().flatten().cloned());
        }
        lineage
    }
}

fn knows_a_parent(entries: &[AncestryEntry]) -> bool {
    entries.len() >= 2 || entries.first().is_some_and(|e| e.source_image_id.is_some())
}

fn is_amazons(image: &ImageFacts) -> bool {
    lineage::is_amazon_owned(image.owner_alias.as_deref(), image.owner_id.as_deref()) == Some(true)
}

fn root_snapshot(image: &ImageFacts) -> Option<String> {
    image.root_device()?.ebs.as_ref()?.snapshot_id.clone()
}

/// The newest Amazon image of each base's family, one DescribeImages per distinct family; a base
/// known only by name takes its ID and creation date from the answer. An AMI that is itself one of
/// Amazon's images (used directly, with no base of its own) is its own base: its family is its own.
async fn newest_in_families(
    aws: &Aws,
    lineages: &mut BTreeMap<String, Lineage>,
    audited: &BTreeMap<String, ImageFacts>,
) {
    for (id, lineage) in lineages.iter_mut() {
        let plain_family = |link: &LineageLink| {
            lineage::classify(link)
                .filter(BaseClass::is_plain_amazon_linux)
                .and_then(|_| lineage::family_pattern(link.name.as_deref()?))
        };
        lineage.family = match lineage.classified_base() {
            Some((link, _)) => plain_family(link),
            None => audited
                .get(id)
                .and_then(|image| lineage::base_of(None, image))
                .and_then(|(itself, _)| plain_family(&itself)),
        };
    }
    let families: BTreeSet<String> = lineages.values().filter_map(|l| l.family.clone()).collect();
    let answers: BTreeMap<String, Result<Vec<ImageFacts>, CollectError>> =
        futures::stream::iter(families)
            .map(|family| async move {
                let answer = aws.amazon_images_named(&family).await;
                (family, answer)
            })
            .buffer_unordered(ANCESTRY_CONCURRENCY)
            .collect()
            .await;
    for lineage in lineages.values_mut() {
        let Some(family) = lineage.family.clone() else {
            continue;
        };
        let Some(answer) = answers.get(&family) else {
            continue;
        };
        match answer {
            Ok(images) => {
                let candidates: Vec<(String, String, Option<String>)> = images
                    .iter()
                    .filter_map(|i| {
                        Some((i.image_id.clone(), i.name.clone()?, i.creation_date.clone()))
                    })
                    .collect();
                if let Some(base) = lineage.chain.last_mut()
                    && base.image_id.is_none()
                    && let Some(image) = images.iter().find(|i| i.name == base.name)
                {
                    base.image_id = Some(image.image_id.clone());
                    base.describe(image);
                    base.evidence
                        .push_str(&format!("; matched by name to Amazon's {}", image.image_id));
                }
                lineage.newest_in_family = lineage::newest_of_family(&family, &candidates);
            }
            Err(error) => lineage.newest_lookup_error = Some(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestry_with_a_parent_or_a_source_is_usable() {
        let entry = |id: &str, source: Option<&str>| AncestryEntry {
            image_id: id.into(),
            creation_date: None,
            owner_alias: None,
            source_image_id: source.map(str::to_string),
            source_image_region: None,
        };
        assert!(!knows_a_parent(&[entry("ami-1", None)]));
        assert!(knows_a_parent(&[entry("ami-1", Some("ami-2"))]));
        assert!(knows_a_parent(&[
            entry("ami-1", Some("ami-2")),
            entry("ami-2", None)
        ]));
        assert!(!knows_a_parent(&[]));
    }

    #[test]
    fn unavailable_means_denied_or_unsupported() {
        let error = |code: &str| CollectError {
            service: "ec2".into(),
            action: "GetImageAncestry".into(),
            code: code.into(),
            message: String::new(),
            status: None,
        };
        assert!(api_unavailable(&error("UnauthorizedOperation")));
        assert!(api_unavailable(&error("InvalidAction")));
        assert!(!api_unavailable(&error("InternalError")));
    }
}
