use std::path::Path;

use super::*;

fn stack_file(dir: &Path, name: &str, reads: &[&str]) -> PathBuf {
    let mut yaml = format!(
        "rollstack: 1\nstack: {name}\nregion: us-east-1\nstate_bucket: {name}-state\noutputs:\n  where: \"${{region}}\"\n"
    );
    for (n, producer) in reads.iter().enumerate() {
        yaml.push_str(&format!("  read{n}: \"${{stacks.{producer}.where}}\"\n"));
    }
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, yaml).expect("the stack file is written");
    path
}

fn members(files: &[PathBuf]) -> Vec<Member> {
    files
        .iter()
        .map(|path| Member {
            path: path.clone(),
            stack: crate::validate::validate_file(path)
                .and_then(|v| v.select(path, None))
                .unwrap_or_else(|d| panic!("{}", crate::diagnostic::render(&d.sorted(), false))),
        })
        .collect()
}

#[test]
fn producers_come_before_their_consumers_whatever_the_names() {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        stack_file(dir.path(), "a-shop", &["z-network", "m-db"]),
        stack_file(dir.path(), "m-db", &["z-network"]),
        stack_file(dir.path(), "z-network", &[]),
        stack_file(dir.path(), "b-blog", &[]),
    ];
    let workspace = Workspace::order(members(&files)).unwrap();
    let order: Vec<&str> = workspace.members.iter().map(Member::name).collect();
    assert_eq!(order, ["b-blog", "z-network", "m-db", "a-shop"]);
    assert_eq!(
        workspace.producers("a-shop"),
        BTreeSet::from(["m-db", "z-network"])
    );
}

#[test]
fn a_loop_of_stacks_is_refused_naming_all_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        stack_file(dir.path(), "a", &["b"]),
        stack_file(dir.path(), "b", &["c"]),
        stack_file(dir.path(), "c", &["a"]),
        stack_file(dir.path(), "d", &["a"]),
    ];
    let refused = Workspace::order(members(&files)).unwrap_err();
    assert_eq!(
        refused,
        WorkspaceError::Cycle(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        refused.to_string(),
        "stacks read each other's outputs in a loop: `a` -> `b` -> `c` -> `a`"
    );
}

#[test]
fn a_directory_is_its_stack_files_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let network = stack_file(dir.path(), "network", &[]);
    let shop = stack_file(dir.path(), "shop", &["network"]);
    std::fs::write(dir.path().join("queue.yaml"), "Resources: {}\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not yaml\n").unwrap();
    let found = files(&[dir.path().to_owned()]).unwrap();
    assert_eq!(found, [network.clone(), shop.clone()]);
    // Named again on its own, a file is taken once.
    let found = files(&[shop.clone(), dir.path().to_owned()]).unwrap();
    assert_eq!(found, [shop, network]);
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        files(&[empty.path().to_owned()]),
        Err(WorkspaceError::Empty(_))
    ));
}

#[test]
fn a_run_starts_what_its_producers_allow_and_skips_what_a_failure_stops() {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        stack_file(dir.path(), "net", &[]),
        stack_file(dir.path(), "db", &["net"]),
        stack_file(dir.path(), "shop", &["db", "net"]),
        stack_file(dir.path(), "blog", &[]),
    ];
    let workspace = Workspace::order(members(&files)).unwrap();
    let start = |n: &str| Step::Start(n.to_owned());
    let skip = |n: &str, p: &str| {
        Step::Skip(
            n.to_owned(),
            format!("it reads stack `{p}`, which did not converge"),
        )
    };
    // (ended: stack -> converged, started, next steps)
    type Case<'a> = (Vec<(&'a str, bool)>, Vec<&'a str>, Vec<Step>);
    let cases: Vec<Case> = vec![
        (vec![], vec![], vec![start("blog"), start("net")]),
        (vec![], vec!["blog", "net"], vec![]),
        (vec![("net", true)], vec!["blog"], vec![start("db")]),
        (
            vec![("net", true), ("db", true)],
            vec![],
            vec![start("blog"), start("shop")],
        ),
        (
            vec![("net", true), ("db", false)],
            vec!["blog"],
            vec![skip("shop", "db")],
        ),
        (
            vec![("net", false)],
            vec![],
            vec![start("blog"), skip("db", "net"), skip("shop", "db")],
        ),
        (
            vec![("net", true), ("db", true), ("shop", true), ("blog", true)],
            vec![],
            vec![],
        ),
    ];
    for (ended, started, expected) in cases {
        let ended: BTreeMap<String, bool> = ended
            .into_iter()
            .map(|(n, ok)| (n.to_owned(), ok))
            .collect();
        let started: BTreeSet<String> = started.into_iter().map(str::to_owned).collect();
        assert_eq!(
            workspace.next_steps(&ended, &started),
            expected,
            "{ended:?} {started:?}"
        );
    }
}
