//! Route 53: the names under an environment's DNS domain (one `ListResourceRecordSets`
//! per 300 records, starting at the domain: Route 53 lists names by their labels
//! reversed, so the domain's names come together), and batched changes.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use super::{Aws, AwsError};
use crate::observe::dns::RecordChange;
use crate::observe::dns::{LiveRecord, environment_domain, marker};

/// Route 53 takes at most 1,000 `ResourceRecord` elements per call, an upsert's
/// counted twice.
const ELEMENTS_PER_CALL: usize = 1000;

/// The labels of `name` reversed (`com.example.internal.prod`), as Route 53 orders
/// names.
fn reversed(name: &str) -> String {
    name.trim_end_matches('.')
        .split('.')
        .rev()
        .collect::<Vec<_>>()
        .join(".")
}

/// A record change's request failed to build (a required field missing).
fn request(
    operation: &'static str,
    source: aws_smithy_types::error::operation::BuildError,
) -> AwsError {
    AwsError::Request { operation, source }
}

impl Aws {
    /// Every name under `{env}.{domain}` in `zone`, with its A record and TXT marker;
    /// owned when the marker is `stack`/`env`'s.
    pub async fn records(
        &self,
        zone: &str,
        domain: &str,
        (stack, env): (&str, &str),
    ) -> Result<Vec<LiveRecord>, AwsError> {
        let base = environment_domain(env, domain);
        let (suffix, prefix) = (format!(".{base}"), reversed(&base));
        let ours = marker(stack, env);
        let mut found: BTreeMap<String, LiveRecord> = BTreeMap::new();
        let mut start: Option<(String, RrType)> = None;
        loop {
            let (name, kind) = start.clone().unwrap_or((format!("{base}."), RrType::A));
            let page = self
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(zone)
                .start_record_name(name)
                .start_record_type(kind)
                .max_items(300)
                .send()
                .await
                .map_err(|e| self.error("ListResourceRecordSets", e))?;
            let mut past = false;
            for set in page.resource_record_sets() {
                let name = set.name().trim_end_matches('.').to_ascii_lowercase();
                if !reversed(&name).starts_with(&prefix) {
                    past = true;
                    break;
                }
                if !name.ends_with(&suffix) && name != base {
                    continue;
                }
                let values: Vec<String> = set
                    .resource_records()
                    .iter()
                    .map(|r| r.value().to_owned())
                    .collect();
                let ttl = u32::try_from(set.ttl().unwrap_or(0)).unwrap_or(0);
                let entry = found.entry(name.clone()).or_insert_with(|| LiveRecord {
                    name,
                    ips: BTreeSet::new(),
                    ttl: 0,
                    marker: None,
                    owned: false,
                });
                match set.r#type() {
                    RrType::A => {
                        entry.ips = values.into_iter().collect();
                        entry.ttl = ttl;
                    }
                    RrType::Txt => {
                        if let Some(value) = values.iter().find(|v| v.starts_with("\"rollstack:")) {
                            entry.owned = *value == ours;
                            entry.marker = Some((value.clone(), ttl));
                        }
                    }
                    _ => {}
                }
            }
            match (
                past,
                page.is_truncated(),
                page.next_record_name(),
                page.next_record_type(),
            ) {
                (false, true, Some(name), Some(kind)) => {
                    start = Some((name.to_owned(), kind.clone()));
                }
                _ => break,
            }
        }
        Ok(found.into_values().collect())
    }

    /// Carries out `changes` in `zone`: an A record and its TXT marker per name,
    /// upserted (or deleted with the values `live` has), a name's changes always in one
    /// call, in calls within Route 53's limit of [`ELEMENTS_PER_CALL`]. Upserts are
    /// safe to repeat; a delete repeated after a lost answer is refused, and the caller
    /// re-derives the changes from what the zone holds then.
    pub async fn change_records(
        &self,
        zone: &str,
        changes: &[RecordChange],
        live: &[LiveRecord],
        (stack, env, ttl): (&str, &str, u32),
    ) -> Result<(), AwsError> {
        let live: BTreeMap<&str, &LiveRecord> = live.iter().map(|r| (r.name.as_str(), r)).collect();
        let ours = marker(stack, env);
        let mut batches: Vec<(usize, Vec<Change>)> = Vec::new();
        for change in changes {
            let (cost, list) = name_changes(change, live.get(change.name.as_str()), &ours, ttl)?;
            match batches.last_mut() {
                Some((used, batch)) if *used + cost <= ELEMENTS_PER_CALL => {
                    *used += cost;
                    batch.extend(list);
                }
                _ => batches.push((cost, list)),
            }
        }
        for (_, list) in batches.into_iter().filter(|(_, l)| !l.is_empty()) {
            let batch = ChangeBatch::builder()
                .comment(format!("rollstack {stack}/{env}"))
                .set_changes(Some(list))
                .build()
                .map_err(|e| request("ChangeResourceRecordSets", e))?;
            self.route53
                .change_resource_record_sets()
                .hosted_zone_id(zone)
                .change_batch(batch)
                .send()
                .await
                .map_err(|e| self.error("ChangeResourceRecordSets", e))?;
        }
        Ok(())
    }
}

/// The changes of one name (its A record and TXT marker), and what they count against
/// [`ELEMENTS_PER_CALL`]: each value once, twice for an upsert.
fn name_changes(
    change: &RecordChange,
    live: Option<&&LiveRecord>,
    ours: &str,
    ttl: u32,
) -> Result<(usize, Vec<Change>), AwsError> {
    if !change.after.is_empty() {
        let list = vec![
            set_change(
                ChangeAction::Upsert,
                &change.name,
                RrType::A,
                ttl,
                &change.after,
            )?,
            set_change(
                ChangeAction::Upsert,
                &change.name,
                RrType::Txt,
                ttl,
                std::slice::from_ref(&ours.to_owned()),
            )?,
        ];
        return Ok((2 * (change.after.len() + 1), list));
    }
    let Some(record) = live else {
        return Ok((0, Vec::new()));
    };
    let mut list = Vec::new();
    let mut cost = 0;
    if !record.ips.is_empty() {
        let ips: Vec<String> = record.ips.iter().cloned().collect();
        cost += ips.len();
        list.push(set_change(
            ChangeAction::Delete,
            &change.name,
            RrType::A,
            record.ttl,
            &ips,
        )?);
    }
    if let Some((value, marker_ttl)) = &record.marker {
        cost += 1;
        list.push(set_change(
            ChangeAction::Delete,
            &change.name,
            RrType::Txt,
            *marker_ttl,
            std::slice::from_ref(value),
        )?);
    }
    Ok((cost, list))
}

/// One change of a record set `name`/`kind` holding `values`.
fn set_change(
    action: ChangeAction,
    name: &str,
    kind: RrType,
    ttl: u32,
    values: &[String],
) -> Result<Change, AwsError> {
    let records = values
        .iter()
        .map(|v| ResourceRecord::builder().value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| request("ChangeResourceRecordSets", e))?;
    let set = ResourceRecordSet::builder()
        .name(format!("{name}."))
        .r#type(kind)
        .ttl(i64::from(ttl))
        .set_resource_records(Some(records))
        .build()
        .map_err(|e| request("ChangeResourceRecordSets", e))?;
    Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .map_err(|e| request("ChangeResourceRecordSets", e))
}
