//! After a successful apply whose plan changes the published outputs: the stack's
//! `outputs:` published in the state bucket (`state::outputs`), for other stacks to read,
//! or taken back when the file has none. A value holding a sensitive one is not
//! published: outputs are read by whoever can read the bucket's records.

use std::collections::BTreeMap;

use super::error::SessionError;
use super::{Inputs, Session};
use crate::plan::Plan;
use crate::state::outputs;

/// Publishes `values` (the outputs the apply ended with) as history entry `seq` wrote
/// them, when `plan` changes them; takes them back when the file has none.
pub(super) async fn publish(
    session: &Session,
    inputs: &Inputs<'_>,
    (plan, values): (&Plan, &BTreeMap<String, String>),
    seq: u32,
) -> Result<(), SessionError> {
    let stack = &session.stack;
    let env = (stack.name.as_str(), stack.environment.name.as_str());
    if plan.outputs.is_empty() {
        return Ok(());
    }
    if stack.outputs.is_empty() {
        return Ok(outputs::delete(inputs.aws, inputs.bucket, env).await?);
    }
    let mut public = BTreeMap::new();
    for (name, value) in values {
        if inputs.redactor.redact(value) == *value {
            public.insert(name.clone(), value.clone());
        } else {
            eprintln!(
                "warning: output `{name}` holds a sensitive value and is not published\n  hint: publish what a consumer needs to find the secret (its name or ARN), not the secret"
            );
        }
    }
    for name in stack.outputs.keys().filter(|n| !values.contains_key(*n)) {
        eprintln!(
            "warning: output `{name}` has no value (what it names is not there): not published"
        );
    }
    outputs::write(
        inputs.aws,
        inputs.bucket,
        env,
        &outputs::published_now(seq, public),
    )
    .await?;
    Ok(())
}
