//! Names to dense ids, with every name in one shared buffer.
//!
//! A `HashMap<String, u32>` keeps each name in its own heap allocation: a
//! lookup touches the table and then a random line elsewhere, and at D365 size
//! the maps alone outgrow the CPU caches and evict the index that checks read.
//! Here the table holds only ids and the names sit back to back, so the
//! by-name check path stays within a few compact arrays.

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// An interner of `(tag, name)` pairs; the tag separates namespaces that share
/// a table (the entry point type, for entry points).
#[derive(Clone, Default)]
pub(crate) struct Names {
    /// Each entry's tag byte followed by its name, back to back.
    text: Vec<u8>,
    /// `text[ends[i - 1]..ends[i]]` is entry `i` (from 0 for the first).
    ends: Vec<u32>,
    table: HashTable<u32>,
    /// Seeded per process, so that names chosen to collide cannot slow lookups down.
    hasher: DefaultHashBuilder,
}

impl std::fmt::Debug for Names {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Names").field("len", &self.len()).field("bytes", &self.bytes()).finish()
    }
}

impl Names {
    pub(crate) fn with_capacity(entries: usize) -> Names {
        Names { text: Vec::new(), ends: Vec::with_capacity(entries), table: HashTable::with_capacity(entries), hasher: DefaultHashBuilder::default() }
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.text.len() + self.ends.len() * 4 + self.table.capacity() * 5
    }

    fn entry(&self, id: u32) -> &[u8] {
        entry_of(&self.text, &self.ends, id)
    }

    fn hash(&self, tag: u8, name: &str) -> u64 {
        self.hasher.hash_one((tag, name))
    }

    fn matches(&self, id: u32, tag: u8, name: &str) -> bool {
        self.entry(id).split_first().is_some_and(|(&t, rest)| t == tag && rest == name.as_bytes())
    }

    pub(crate) fn get(&self, tag: u8, name: &str) -> Option<u32> {
        self.table.find(self.hash(tag, name), |&id| self.matches(id, tag, name)).copied()
    }

    /// The name of entry `id`, if there is one.
    pub(crate) fn name(&self, id: u32) -> Option<&str> {
        if id as usize >= self.ends.len() {
            return None;
        }
        self.entry(id).split_first().and_then(|(_, rest)| std::str::from_utf8(rest).ok())
    }

    /// The id of `(tag, name)`, adding it with the next free id if it is new.
    pub(crate) fn insert(&mut self, tag: u8, name: &str) -> u32 {
        let hash = self.hash(tag, name);
        if let Some(&id) = self.table.find(hash, |&id| self.matches(id, tag, name)) {
            return id;
        }
        let id = u32::try_from(self.ends.len()).expect("fewer than 2^32 names");
        self.text.push(tag);
        self.text.extend_from_slice(name.as_bytes());
        self.ends.push(u32::try_from(self.text.len()).expect("names fit in 4 GiB"));
        let (text, ends, hasher) = (&self.text, &self.ends, &self.hasher);
        self.table.insert_unique(hash, id, |&other| {
            let entry = entry_of(text, ends, other);
            let name = std::str::from_utf8(&entry[1..]).unwrap_or_default();
            hasher.hash_one((entry[0], name))
        });
        id
    }
}

/// Entry `id`'s tag byte and name; a free function so that rehashing, which
/// borrows the table mutably, can read the names too.
fn entry_of<'a>(text: &'a [u8], ends: &[u32], id: u32) -> &'a [u8] {
    let i = id as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &text[start..ends[i] as usize]
}

#[cfg(test)]
mod tests {
    use super::Names;

    #[test]
    fn ids_are_dense_and_tags_separate_namespaces() {
        let mut names = Names::with_capacity(2);
        assert_eq!(names.insert(0, "carlos"), 0);
        assert_eq!(names.insert(1, "carlos"), 1);
        assert_eq!(names.insert(0, "carlos"), 0);
        for i in 0..10_000 {
            assert_eq!(names.insert(2, &format!("user{i}")), i + 2);
        }
        assert_eq!(names.get(0, "carlos"), Some(0));
        assert_eq!(names.get(1, "carlos"), Some(1));
        assert_eq!(names.get(2, "carlos"), None);
        assert_eq!(names.get(2, "user9999"), Some(10_001));
        assert_eq!(names.get(2, "user10000"), None);
        assert_eq!(names.get(0, ""), None);
        assert_eq!(names.insert(0, ""), 10_002);
        assert_eq!(names.get(0, ""), Some(10_002));
        assert_eq!(names.len(), 10_003);
        assert_eq!(names.name(1), Some("carlos"));
        assert_eq!(names.name(10_001), Some("user9999"));
        assert_eq!(names.name(10_003), None);
    }
}
