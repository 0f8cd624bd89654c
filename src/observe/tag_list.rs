//! Compact tag lists for observed instances. A fleet's instances carry the same keys and
//! mostly the same values (stack, environment, group, spec, release), so an observation
//! holds each text once ([`Interner`]) and every instance's [`Tags`] shares it: a few
//! hundred bytes an instance instead of a map of owned strings (see
//! `docs/performance.md`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// Tags read by key, however they are held.
pub trait TagLookup {
    /// The value of tag `key`.
    fn tag(&self, key: &str) -> Option<&str>;
}

impl TagLookup for BTreeMap<String, String> {
    fn tag(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

/// An instance's tags, sorted by key, each text shared with the observation's others.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags(Box<[(Arc<str>, Arc<str>)]>);

impl Tags {
    /// The value of tag `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        let at = self.0.binary_search_by(|(k, _)| (**k).cmp(key)).ok()?;
        Some(&self.0[at].1)
    }

    /// Whether tag `key` is there.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// (key, value), by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Sets tag `key` to `value`, as a retag does.
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        let (key, value) = (key.as_ref(), value.as_ref());
        let mut pairs = self.0.to_vec();
        match pairs.binary_search_by(|(k, _)| (**k).cmp(key)) {
            Ok(at) => pairs[at].1 = value.into(),
            Err(at) => pairs.insert(at, (key.into(), value.into())),
        }
        self.0 = pairs.into_boxed_slice();
    }

    /// Takes tag `key` off.
    pub fn remove(&mut self, key: &str) {
        self.0 = self
            .0
            .iter()
            .filter(|(k, _)| &**k != key)
            .cloned()
            .collect();
    }

    /// The tags as a map of their own.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

impl TagLookup for Tags {
    fn tag(&self, key: &str) -> Option<&str> {
        self.get(key)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Extend<(K, V)> for Tags {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        for (k, v) in pairs {
            self.insert(k, v);
        }
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for Tags {
    fn from(pairs: [(K, V); N]) -> Tags {
        pairs.into_iter().collect()
    }
}

impl From<BTreeMap<String, String>> for Tags {
    fn from(map: BTreeMap<String, String>) -> Tags {
        map.into_iter().collect()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Tags {
    /// Tags that share nothing (tests, a single record); observation uses [`Interner`].
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Tags {
        Interner::default().tags(pairs)
    }
}

/// Hands out each text once per observation: equal keys and values share one allocation.
#[derive(Debug, Default)]
pub struct Interner(HashSet<Arc<str>>);

impl Interner {
    /// `text`, shared.
    pub fn text(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(text) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = text.into();
        self.0.insert(Arc::clone(&shared));
        shared
    }

    /// The tags `pairs` (the last value of a repeated key wins), their texts shared.
    pub fn tags<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Tags {
        let mut sorted: Vec<(Arc<str>, Arc<str>)> = Vec::new();
        for (k, v) in pairs {
            let (k, v) = (k.as_ref(), v.as_ref());
            match sorted.binary_search_by(|(key, _)| (**key).cmp(k)) {
                Ok(at) => sorted[at].1 = self.text(v),
                Err(at) => sorted.insert(at, (self.text(k), self.text(v))),
            }
        }
        Tags(sorted.into_boxed_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_read_set_and_remove_like_a_map() {
        let mut tags: Tags = [("b", "2"), ("a", "1"), ("b", "3")].into_iter().collect();
        assert_eq!(tags.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "3")]);
        assert_eq!(tags.get("a"), Some("1"));
        assert_eq!(tags.get("c"), None);
        tags.insert("c", "4");
        tags.insert("a", "5");
        tags.remove("b");
        assert_eq!(tags.iter().collect::<Vec<_>>(), [("a", "5"), ("c", "4")]);
        assert_eq!(
            tags.to_map(),
            BTreeMap::from([("a".into(), "5".into()), ("c".into(), "4".into())])
        );
    }

    #[test]
    fn equal_texts_are_held_once_per_observation() {
        let mut interner = Interner::default();
        let one = interner.tags([("rollstack:stack", "shop"), ("Name", "shop-www")]);
        let two = interner.tags([("rollstack:stack", "shop"), ("Name", "shop-api")]);
        assert!(Arc::ptr_eq(&one.0[1].0, &two.0[1].0));
        assert!(Arc::ptr_eq(&one.0[1].1, &two.0[1].1));
        assert!(!Arc::ptr_eq(&one.0[0].1, &two.0[0].1));
    }
}
