//! Separation of privileges: duties that hold nearly the same privileges, and
//! privileges that grant on nearly the same entry points, blur what a
//! segregation-of-duties rule separates. D365 checks a new duty or privilege
//! against the others at a "level for similarity validation"; Warden measures
//! overlap as the share of the two objects' union they have in common
//! (Jaccard), so that it is symmetric and a small object inside a large one
//! does not count as the same.

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use warden_model::Model;

/// Which kind of object a pair is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SimilarKind {
    /// Compared by their privileges (duty extensions included).
    Duty,
    /// Compared by the entry points they grant on.
    Privilege,
}

/// Two objects that overlap at or above the level.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SimilarPair {
    pub kind: SimilarKind,
    pub first: String,
    pub second: String,
    /// Members in common, in percent of the union (rounded down).
    pub percent: u8,
    pub common: usize,
}

/// The members an object is compared by: a duty's privileges, a privilege's entry points.
pub fn members_of(model: &Model, object: &warden_model::Object) -> Option<(SimilarKind, FxHashSet<String>)> {
    match object {
        warden_model::Object::Duty(d) => Some((SimilarKind::Duty, model.duty_privileges(d).map(str::to_string).collect())),
        warden_model::Object::Privilege(p) => Some((SimilarKind::Privilege, p.entry_points.iter().map(|g| g.key().to_string()).collect())),
        _ => None,
    }
}

/// Each object's member set, by name.
fn sets(model: &Model, kind: SimilarKind) -> Vec<(&str, FxHashSet<String>)> {
    match kind {
        SimilarKind::Duty => model
            .duties
            .values()
            .map(|d| (d.name.as_str(), model.duty_privileges(d).map(str::to_string).collect()))
            .collect(),
        SimilarKind::Privilege => model
            .privileges
            .values()
            .map(|p| (p.name.as_str(), p.entry_points.iter().map(|g| g.key().to_string()).collect()))
            .collect(),
    }
}

fn percent(common: usize, a: usize, b: usize) -> u8 {
    let union = a + b - common;
    (common * 100).checked_div(union).map_or(0, |p| p as u8)
}

/// Every pair of duties (and of privileges) whose overlap is at least
/// `level` percent. An inverted index (member → objects) counts the common
/// members, so only pairs that share something are ever looked at.
pub fn similar_pairs(model: &Model, level: u8) -> Vec<SimilarPair> {
    let mut out = Vec::new();
    for kind in [SimilarKind::Duty, SimilarKind::Privilege] {
        let sets = sets(model, kind);
        let mut holders: FxHashMap<&str, Vec<u32>> = FxHashMap::default();
        for (i, (_, members)) in sets.iter().enumerate() {
            for m in members {
                holders.entry(m.as_str()).or_default().push(i as u32);
            }
        }
        let mut common: FxHashMap<(u32, u32), usize> = FxHashMap::default();
        for list in holders.values() {
            for (x, &a) in list.iter().enumerate() {
                for &b in &list[x + 1..] {
                    *common.entry((a, b)).or_default() += 1;
                }
            }
        }
        for ((a, b), n) in common {
            let (sa, sb) = (&sets[a as usize], &sets[b as usize]);
            let p = percent(n, sa.1.len(), sb.1.len());
            if p >= level {
                let (first, second) = if sa.0 <= sb.0 { (sa.0, sb.0) } else { (sb.0, sa.0) };
                out.push(SimilarPair { kind, first: first.into(), second: second.into(), percent: p, common: n });
            }
        }
    }
    out.sort();
    out
}

/// The objects of `kind` that overlap `name` at or above `level` percent.
pub fn similar_to(model: &Model, kind: SimilarKind, name: &str, level: u8) -> Vec<SimilarPair> {
    let Some((_, target)) = sets(model, kind).into_iter().find(|(n, _)| *n == name) else { return Vec::new() };
    similar_to_members(model, kind, name, &target, level)
}

/// [`similar_to`] for an object given by its members (one not stored yet, or
/// as an edit would make it), compared with the stored others.
pub fn similar_to_members(model: &Model, kind: SimilarKind, name: &str, target: &FxHashSet<String>, level: u8) -> Vec<SimilarPair> {
    let sets = sets(model, kind);
    let mut out: Vec<SimilarPair> = sets
        .iter()
        .filter(|(n, members)| *n != name && !members.is_empty())
        .filter_map(|(n, members)| {
            let common = members.intersection(target).count();
            let target = target.len();
            let p = percent(common, target, members.len());
            (common > 0 && p >= level).then(|| SimilarPair { kind, first: name.into(), second: n.to_string(), percent: p, common })
        })
        .collect();
    out.sort_by(|a, b| b.percent.cmp(&a.percent).then(a.second.cmp(&b.second)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_model::{Duty, Object};

    fn duty(name: &str, privileges: &[&str]) -> Object {
        Object::Duty(Duty { name: name.into(), label: None, description: None, model: None, privileges: privileges.iter().map(|p| p.to_string()).collect(), unmodelled: Vec::new() })
    }

    #[test]
    fn overlap_is_the_share_of_the_union_and_pairs_agree_with_one_by_one() {
        let mut m = Model::default();
        m.put(duty("A", &["p1", "p2", "p3", "p4"]));
        m.put(duty("B", &["p1", "p2", "p3", "p5"])); // 3 of 5: 60%
        m.put(duty("C", &["p1"])); // 1 of 4 with A: 25%
        m.put(duty("D", &[]));
        let pairs = similar_pairs(&m, 50);
        assert_eq!(pairs, vec![SimilarPair { kind: SimilarKind::Duty, first: "A".into(), second: "B".into(), percent: 60, common: 3 }]);
        assert_eq!(similar_to(&m, SimilarKind::Duty, "A", 50), vec![SimilarPair { kind: SimilarKind::Duty, first: "A".into(), second: "B".into(), percent: 60, common: 3 }]);
        assert_eq!(similar_to(&m, SimilarKind::Duty, "A", 20).len(), 2);
        // Every pair found one by one is found by the inverted index, and the other way round.
        for level in [1, 25, 60, 61, 100] {
            let all = similar_pairs(&m, level);
            let mut one_by_one: Vec<(String, String)> = Vec::new();
            for name in ["A", "B", "C", "D"] {
                for p in similar_to(&m, SimilarKind::Duty, name, level) {
                    if p.first < p.second {
                        one_by_one.push((p.first, p.second));
                    }
                }
            }
            one_by_one.sort();
            let all: Vec<(String, String)> = all.into_iter().map(|p| (p.first, p.second)).collect();
            assert_eq!(all, one_by_one, "level {level}");
        }
    }
}
