//! Every assignment of a model, by user then role.
//!
//! A persistent map of per-user lists: cloning the whole set is O(1) and a
//! write copies O(log users) nodes plus the one user's short list, so that a
//! model revision is derived from the last one in microseconds (the model host)
//! while `of(user)` stays a plain slice for the engine and the listings.

use crate::identity::Assignment;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Assignments {
    by_user: imbl::OrdMap<String, Arc<Vec<Assignment>>>,
    len: usize,
}

impl Assignments {
    pub fn new() -> Assignments {
        Assignments::default()
    }

    /// The user's assignments, ordered by role.
    pub fn of(&self, user: &str) -> &[Assignment] {
        self.by_user.get(user).map_or(&[], |list| list.as_slice())
    }

    /// Every assignment, by user then role.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Assignment> + '_ {
        self.by_user.values().flat_map(|list| list.iter())
    }

    /// The users that hold at least one assignment, in order.
    pub fn users(&self) -> impl Iterator<Item = &str> + '_ {
        self.by_user.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `a`, or replaces the user's assignment of the same role; returns the replaced one.
    pub fn put(&mut self, a: Assignment) -> Option<Assignment> {
        let list = Arc::make_mut(self.by_user.entry(a.user.clone()).or_default());
        match list.binary_search_by(|x| x.role.as_str().cmp(&a.role)) {
            Ok(i) => Some(std::mem::replace(&mut list[i], a)),
            Err(i) => {
                list.insert(i, a);
                self.len += 1;
                None
            }
        }
    }

    /// [`Assignments::put`], for builders and tests that read like a list.
    pub fn push(&mut self, a: Assignment) {
        self.put(a);
    }

    /// Removes the user's assignment of `role`; returns it.
    pub fn remove(&mut self, user: &str, role: &str) -> Option<Assignment> {
        let list = self.by_user.get_mut(user)?;
        let i = list.binary_search_by(|x| x.role.as_str().cmp(role)).ok()?;
        let removed = Arc::make_mut(list).remove(i);
        if list.is_empty() {
            self.by_user.remove(user);
        }
        self.len -= 1;
        Some(removed)
    }

    /// The assignments as a list, by user then role.
    pub fn to_vec(&self) -> Vec<Assignment> {
        self.iter().cloned().collect()
    }
}

impl std::fmt::Debug for Assignments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq<Vec<Assignment>> for Assignments {
    fn eq(&self, other: &Vec<Assignment>) -> bool {
        self.len == other.len() && self.iter().eq(other.iter())
    }
}

impl FromIterator<Assignment> for Assignments {
    fn from_iter<I: IntoIterator<Item = Assignment>>(iter: I) -> Self {
        let mut all = Assignments::default();
        all.extend(iter);
        all
    }
}

impl Extend<Assignment> for Assignments {
    fn extend<I: IntoIterator<Item = Assignment>>(&mut self, iter: I) {
        for a in iter {
            self.put(a);
        }
    }
}

impl<'a> IntoIterator for &'a Assignments {
    type Item = &'a Assignment;
    type IntoIter = Box<dyn DoubleEndedIterator<Item = &'a Assignment> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl Serialize for Assignments {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Assignments {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<Assignment>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puts_replace_by_user_and_role_and_removes_count() {
        let mut all = Assignments::new();
        all.push(Assignment::global("b", "R2"));
        all.push(Assignment::global("a", "R1"));
        all.push(Assignment::global("b", "R1"));
        let replaced = all.put(Assignment { organizations: vec!["o".into()], ..Assignment::global("b", "R1") });
        assert_eq!(replaced, Some(Assignment::global("b", "R1")));
        assert_eq!(all.len(), 3);
        let order: Vec<(&str, &str)> = all.iter().map(|a| (a.user.as_str(), a.role.as_str())).collect();
        assert_eq!(order, [("a", "R1"), ("b", "R1"), ("b", "R2")]);
        let before = all.clone();
        assert_eq!(all.remove("a", "R1"), Some(Assignment::global("a", "R1")));
        assert_eq!(all.remove("a", "R1"), None);
        assert!(all.of("a").is_empty() && all.users().eq(["b"]));
        assert_eq!((all.len(), before.len()), (2, 3), "the clone keeps its own state");
    }
}
