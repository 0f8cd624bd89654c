use super::*;

/// Five groups and nothing else; the references of each case are set by hand, so that
/// cycles (which validation refuses) can be built too.
fn stack(references: &[(&str, &str)]) -> Stack {
    let mut groups = String::new();
    for name in ["a", "b", "c", "d", "e"] {
        groups.push_str(&format!(
            "  {name}: {{ roles: [r], count: 1, image: ami-1, instance_type: t3.micro }}\n"
        ));
    }
    let mut stack = crate::testing::stack_from_yaml(&format!(
        "rollstack: 1\nstack: t\nregion: us-east-1\nroles: {{ r: {{}} }}\ngroups:\n{groups}"
    ));
    stack.references = references
        .iter()
        .map(|(from, to)| Edge {
            from: Address::Group((*from).to_owned()),
            to: Address::Group((*to).to_owned()),
            path: format!("groups.{from}.depends_on"),
        })
        .collect();
    stack
}

fn names(addresses: &[Address]) -> String {
    addresses
        .iter()
        .map(Address::name)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn apply_order_puts_dependencies_first_and_ties_in_address_order() {
    // (references from -> to) -> apply order
    let table: &[(&[(&str, &str)], &str)] = &[
        (&[], "a b c d e"),
        (&[("a", "b")], "b a c d e"),
        (&[("a", "e"), ("e", "d")], "b c d e a"),
        // A diamond: both sides before the top, the bottom first.
        (
            &[("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")],
            "d b c a e",
        ),
        // A repeated reference is one edge.
        (&[("a", "b"), ("a", "b")], "b a c d e"),
    ];
    for (references, expected) in table {
        let graph = StackGraph::new(&stack(references));
        let order = graph.apply_order().expect("no cycle");
        assert_eq!(names(&order), *expected, "{references:?}");
        assert!(graph.cycles().is_empty(), "{references:?}");
    }
}

#[test]
fn a_cycle_is_reported_as_its_whole_loop() {
    // (references) -> each loop as `from>to` steps
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
    let table: &[Case] = &[
        (&[("a", "b"), ("b", "a")], &["a>b b>a"]),
        (&[("b", "c"), ("c", "d"), ("d", "b")], &["b>c c>d d>b"]),
        // The shortest loop through the smallest address.
        (
            &[("a", "b"), ("b", "a"), ("b", "c"), ("c", "a")],
            &["a>b b>a"],
        ),
        // Two separate loops, in address order.
        (
            &[("d", "e"), ("e", "d"), ("a", "b"), ("b", "a")],
            &["a>b b>a", "d>e e>d"],
        ),
    ];
    for (references, expected) in table {
        let graph = StackGraph::new(&stack(references));
        assert_eq!(graph.apply_order(), None, "{references:?}");
        let cycles: Vec<String> = graph
            .cycles()
            .iter()
            .map(|cycle| {
                cycle
                    .iter()
                    .map(|r| format!("{}>{}", r.from.name(), r.to.name()))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(cycles, *expected, "{references:?}");
    }
}

#[test]
fn dependencies_are_direct_and_sorted() {
    let graph = StackGraph::new(&stack(&[("a", "c"), ("a", "b"), ("b", "d")]));
    let of = |name: &str| {
        names(
            &graph
                .dependencies(&Address::Group(name.to_owned()))
                .into_iter()
                .cloned()
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(of("a"), "b c");
    assert_eq!(of("b"), "d");
    assert_eq!(of("e"), "");
    assert_eq!(
        graph.dependencies(&Address::Group("nope".to_owned())),
        Vec::<&Address>::new()
    );
    assert_eq!(graph.addresses().len(), 5);
}
