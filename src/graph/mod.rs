//! Graph: resources as nodes, references as edges (dependent -> dependency).
//!
//! Apply walks it in topological order (dependencies first); a cycle is reported as the
//! whole loop, each step with the reference that makes it.

pub mod render;

use std::collections::HashMap;

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::model::{Address, Edge, Stack};

/// The dependency graph of one environment's model.
pub struct StackGraph {
    graph: DiGraph<Address, Edge>,
    nodes: HashMap<Address, NodeIndex>,
}

impl StackGraph {
    /// Builds the graph of `stack`: every address, and an edge per distinct reference.
    pub fn new(stack: &Stack) -> Self {
        let mut graph = DiGraph::new();
        let mut nodes = HashMap::new();
        for address in stack.addresses() {
            let index = graph.add_node(address.clone());
            nodes.insert(address, index);
        }
        for reference in &stack.references {
            let (Some(&from), Some(&to)) = (nodes.get(&reference.from), nodes.get(&reference.to))
            else {
                continue;
            };
            if graph.find_edge(from, to).is_none() {
                graph.add_edge(from, to, reference.clone());
            }
        }
        StackGraph { graph, nodes }
    }

    /// Addresses with dependencies before dependents (ties in address order), or `None`
    /// when the graph has a cycle.
    pub fn apply_order(&self) -> Option<Vec<Address>> {
        stable_order(&self.graph)
    }

    /// What `address` depends on directly, in address order.
    pub fn dependencies(&self, address: &Address) -> Vec<&Address> {
        let Some(&node) = self.nodes.get(address) else {
            return Vec::new();
        };
        let mut deps: Vec<&Address> = self
            .graph
            .edges(node)
            .map(|e| &self.graph[e.target()])
            .collect();
        deps.sort();
        deps
    }

    /// Every address, in address order.
    pub fn addresses(&self) -> Vec<&Address> {
        let mut all: Vec<&Address> = self.graph.node_weights().collect();
        all.sort();
        all
    }

    /// One loop per strongly connected component with more than one node, as the
    /// references that make it, starting from the smallest address.
    pub fn cycles(&self) -> Vec<Vec<Edge>> {
        loops(&self.graph)
    }
}

/// The nodes of `graph` with every node after those its edges point to, ties in node
/// order (the same graph always gives the same order); `None` when it has a cycle.
pub fn stable_order<N: Ord + Clone, E>(graph: &DiGraph<N, E>) -> Option<Vec<N>> {
    let mut order = toposort(graph, None).ok()?;
    order.reverse();
    // Repeatedly take the smallest node whose dependencies are placed.
    let mut placed: Vec<N> = Vec::with_capacity(order.len());
    let mut remaining: Vec<NodeIndex> = order;
    while !remaining.is_empty() {
        let ready = remaining
            .iter()
            .copied()
            .filter(|&n| graph.edges(n).all(|e| placed.contains(&graph[e.target()])))
            .min_by(|a, b| graph[*a].cmp(&graph[*b]))?;
        placed.push(graph[ready].clone());
        remaining.retain(|&n| n != ready);
    }
    Some(placed)
}

/// One loop per strongly connected component with more than one node, as the edges
/// that make it, starting from the component's smallest node.
pub fn loops<N: Ord, E: Clone>(graph: &DiGraph<N, E>) -> Vec<Vec<E>> {
    let mut found: Vec<(NodeIndex, Vec<E>)> = tarjan_scc(graph)
        .into_iter()
        .filter(|component| component.len() > 1)
        .filter_map(|component| loop_within(graph, &component))
        .collect();
    found.sort_by(|a, b| graph[a.0].cmp(&graph[b.0]));
    found.into_iter().map(|(_, edges)| edges).collect()
}

/// A simple loop through the component's smallest node, found by breadth-first search
/// back to it (so the loop is as short as possible), with that node.
fn loop_within<N: Ord, E: Clone>(
    graph: &DiGraph<N, E>,
    component: &[NodeIndex],
) -> Option<(NodeIndex, Vec<E>)> {
    let start = *component
        .iter()
        .min_by(|a, b| graph[**a].cmp(&graph[**b]))?;
    let mut came_from: HashMap<NodeIndex, petgraph::graph::EdgeIndex> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        let mut edges: Vec<_> = graph
            .edges(node)
            .filter(|e| component.contains(&e.target()))
            .collect();
        edges.sort_by(|a, b| graph[a.target()].cmp(&graph[b.target()]));
        for edge in edges {
            let target = edge.target();
            if target == start {
                let mut path = vec![edge.weight().clone()];
                let mut current = node;
                while current != start {
                    let back = came_from[&current];
                    path.push(graph[back].clone());
                    current = graph.edge_endpoints(back)?.0;
                }
                path.reverse();
                return Some((start, path));
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = came_from.entry(target) {
                slot.insert(edge.id());
                queue.push_back(target);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
