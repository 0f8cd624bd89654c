use super::*;
use crate::observe::{InstanceState, Tags};

fn instance(id: &str, subnet: &str, launched: &str) -> LiveInstance {
    LiveInstance {
        id: id.to_owned(),
        state: InstanceState::Running,
        instance_type: "t3.micro".into(),
        image_id: "ami-1".into(),
        subnet_id: Some(subnet.into()),
        private_ip: None,
        public_ip: None,
        launch_time: launched.into(),
        security_group_ids: Vec::new(),
        volume_ids: Vec::new(),
        tags: Tags::default(),
    }
}

/// A one-group stack (`web`, count `count`) as validated from a file.
fn stack(count: u32) -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(
        &path,
        format!(
            "rollstack: 1\nstack: t\nregion: us-east-1\nreleases: {{ bucket: rel }}\napps: {{ web: {{ version: '1' }} }}\n\
             roles: {{ web: {{ app: web }} }}\ngroups:\n  web: {{ roles: [web], count: {count}, \
             image: ami-1, instance_type: t3.micro }}\n"
        ),
    )
    .unwrap();
    let validated = crate::validate::validate_file(&path)
        .unwrap_or_else(|d| panic!("{}", crate::diagnostic::render(&d.sorted(), false)));
    validated.select(&path, None).ok().unwrap()
}

/// Live instances: `current` at the planned spec, `old` at another, `stopped` at the
/// planned spec but stopped by hand.
fn fleet(stack: &Stack, current: usize, old: usize, stopped: usize) -> Vec<LiveInstance> {
    let spec = LaunchSpec::new(stack, "web", "ami-1", &Outputs::new());
    let tags = crate::plan::spec::instance_tags(stack, "web", &spec);
    let mut old_tags = tags.clone();
    old_tags.insert(tags::SPEC.to_owned(), "0000000000000000".to_owned());
    let make = |n: usize, tags: &BTreeMap<String, String>, state, at: usize| {
        (0..n)
            .map(|i| LiveInstance {
                state,
                tags: tags.clone().into(),
                ..instance(&format!("i-{at}{i}"), "a", &format!("2026-01-0{}", 1 + at))
            })
            .collect::<Vec<_>>()
    };
    let mut all = make(current, &tags, InstanceState::Running, 0);
    all.extend(make(old, &old_tags, InstanceState::Running, 1));
    all.extend(make(stopped, &tags, InstanceState::Stopped, 2));
    all
}

#[test]
fn group_changes_by_live_fleet_and_count() {
    // (count, current, old, stopped) -> (action, replace, launch, terminate, drift)
    let table = [
        ((3, 0, 0, 0), (Action::Create, 0, 3, 0, 0)),
        ((3, 3, 0, 0), (Action::NoOp, 0, 0, 0, 0)),
        ((3, 1, 2, 0), (Action::Replace, 2, 0, 0, 0)),
        ((3, 0, 3, 0), (Action::Replace, 3, 0, 0, 0)),
        ((5, 1, 2, 0), (Action::Replace, 2, 2, 0, 0)),
        ((1, 0, 3, 0), (Action::Replace, 1, 0, 2, 0)),
        ((5, 3, 0, 0), (Action::Update, 0, 2, 0, 0)),
        ((1, 3, 0, 0), (Action::Update, 0, 0, 2, 0)),
        ((3, 2, 0, 1), (Action::Replace, 1, 0, 0, 1)),
    ];
    for ((count, current, old, stopped), expected) in table {
        let stack = stack(count);
        let live = fleet(&stack, current, old, stopped);
        // What the apply that launched them left: a template whose latest version
        // carries the planned spec, with the count it applied.
        let spec = LaunchSpec::new(&stack, "web", "ami-1", &Outputs::new());
        let template = LiveLaunchTemplate {
            id: "lt-1".to_owned(),
            name: "t-default-web".to_owned(),
            tags: BTreeMap::from([(
                tags::COUNT.to_owned(),
                (current + old + stopped).to_string(),
            )]),
            latest_version: 1,
            default_version: 1,
            versions: vec![crate::observe::LaunchTemplateVersion {
                number: 1,
                description: format!("spec={}", spec.hash()),
                user_data: None,
                settings: BTreeMap::new(),
            }],
        };
        let observed = Observed {
            launch_templates: if live.is_empty() {
                Vec::new()
            } else {
                vec![template]
            },
            instances: live,
            ..Observed::default()
        };
        let images = BTreeMap::from([("web".to_owned(), "ami-1".to_owned())]);
        let inputs = GroupInputs {
            images: &images,
            outputs: &Outputs::new(),
            redactor: &Redactor::default(),
        };
        let diffed = diff(&stack, &observed, &inputs).remove(0);
        let Detail::Group(g) = &diffed.change.detail else {
            panic!("a group change");
        };
        let got = (
            diffed.change.action,
            g.replace.len(),
            g.launch as usize,
            g.terminate.len(),
            diffed.drift.len(),
        );
        assert_eq!(
            got, expected,
            "count {count}, live {current}+{old}+{stopped}: {}",
            diffed.change.reason
        );
    }
}

#[test]
fn an_older_release_than_the_fleet_runs_is_a_downgrade() {
    // (release the fleet runs, planned `1`) -> a downgrade?
    for (running, downgrade) in [("web@2", true), ("web@0.9", false), ("web@abc", false)] {
        let stack = stack(2);
        let mut live = fleet(&stack, 0, 2, 0);
        for instance in &mut live {
            instance.tags.insert(tags::RELEASE, running);
        }
        let observed = Observed {
            instances: live,
            ..Observed::default()
        };
        let images = BTreeMap::from([("web".to_owned(), "ami-1".to_owned())]);
        let inputs = GroupInputs {
            images: &images,
            outputs: &Outputs::new(),
            redactor: &Redactor::default(),
        };
        let diffed = diff(&stack, &observed, &inputs).remove(0);
        let reason = &diffed.change.reason;
        assert!(
            reason.contains(&format!("release {running} -> web@1")),
            "{reason}"
        );
        assert_eq!(reason.contains("(downgrade)"), downgrade, "{reason}");
        let warnings = crate::plan::destructive::warnings(&[diffed.change], &observed);
        let downgrades: Vec<_> = warnings
            .iter()
            .filter(|w| {
                matches!(
                    w.what,
                    crate::plan::destructive::Destruction::Downgrade { .. }
                )
            })
            .collect();
        assert_eq!(downgrades.len(), usize::from(downgrade), "{warnings:?}");
    }
}
