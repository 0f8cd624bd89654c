//! Reading the readiness signals instances write to the state bucket: one
//! `ListObjectsV2`, plus one `GetObject` per signal new or changed since the last read.
//! `apply`'s health poll and `status` read them alike.

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::{Aws, AwsError};
use crate::observe::{Signal, state_keys};

/// The signals read so far, by instance id, with the ETag they were read at.
#[derive(Clone, Debug, Default)]
pub struct Signals {
    read: BTreeMap<String, (String, Signal)>,
}

impl Signals {
    /// Reads the signals of instances `wanted` of `stack`/`env` in `bucket` that are new
    /// or changed since the last read; an object that is not a signal is passed over.
    pub async fn refresh(
        &mut self,
        aws: &Aws,
        bucket: &str,
        (stack, env): (&str, &str),
        wanted: &BTreeSet<&str>,
    ) -> Result<(), AwsError> {
        let prefix = state_keys::signals(stack, env);
        for object in aws.list_objects(bucket, &prefix).await? {
            let Some(id) = object.key.strip_prefix(&prefix) else {
                continue;
            };
            if !wanted.contains(id)
                || self
                    .read
                    .get(id)
                    .is_some_and(|(etag, _)| *etag == object.etag)
            {
                continue;
            }
            if let Some(stored) = aws.get_object(bucket, &object.key).await?
                && let Ok(signal) = serde_json::from_slice::<Signal>(&stored.body)
            {
                self.read
                    .insert(id.to_owned(), (object.etag.clone(), signal));
            }
        }
        Ok(())
    }

    /// The signal instance `id` wrote, as last read.
    pub fn get(&self, id: &str) -> Option<&Signal> {
        self.read.get(id).map(|(_, signal)| signal)
    }
}
