//! The health gate's HTTP probes: a GET of each running instance's health path.

use std::collections::BTreeMap;

use crate::observe::{InstanceState, LiveInstance};

/// GETs `http://{private_ip}:{port}{path}` of every running instance, concurrently.
pub(super) async fn probe(
    client: &reqwest::Client,
    instances: &[&LiveInstance],
    port: u16,
    path: &str,
) -> BTreeMap<String, Result<u16, String>> {
    let probes = instances
        .iter()
        .filter(|i| i.state == InstanceState::Running)
        .filter_map(|i| Some((i.id.clone(), i.private_ip.clone()?)))
        .map(|(id, ip)| async move {
            let url = format!("http://{ip}:{port}{path}");
            let answer = match client.get(&url).send().await {
                Ok(response) => Ok(response.status().as_u16()),
                Err(e) if e.is_timeout() => Err("timed out".to_owned()),
                Err(e) if e.is_connect() => Err("connection refused".to_owned()),
                Err(e) => Err(e.to_string()),
            };
            (id, answer)
        });
    futures_util::future::join_all(probes)
        .await
        .into_iter()
        .collect()
}
