//! The parts of a D365 AOT file that Warden keeps without interpreting them.
//!
//! An AOT object carries much that does not decide who may do what at the
//! entry point (form control grants, field grants, the tree of an XDS
//! policy's constrained tables, menu item parameters, tags, ...). A security
//! administrator who round-trips a model through Warden must get all of it
//! back, Deny grants included, so every element the reader does not map onto
//! a field is kept here, with the object it belongs to, as an element tree,
//! and `export aot` writes it back in its place. A tree (rather than the raw
//! text) keeps the stored JSON free of markup: the writer escapes every name,
//! attribute and text itself, so nothing stored can inject XML.

use serde::{Deserialize, Serialize};

/// Kept elements nest at most this deep below the object's own element.
/// Real files nest about eight levels; the bound keeps the stored JSON (two
/// levels per element) within serde_json's recursion limit of 128.
pub const MAX_KEPT_DEPTH: usize = 40;

/// An element of an AOT file kept verbatim: its qualified name (`i:type`
/// attributes and `xmlns=""` included among the attributes, in file order),
/// its text, and its child elements in document order. Comments and
/// whitespace between elements are not kept: they carry nothing in XML terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct XmlElement {
    /// The element's name as written, e.g. `Forms` or `AxSecurityPolicyConstrainedEntity`.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z_][A-Za-z0-9._\-]*(:[A-Za-z_][A-Za-z0-9._\-]*)?$", max_length = 200))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<XmlAttribute>,
    /// The text content, entity references resolved; `None` for an element
    /// without text (`<Forms />`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub children: Vec<XmlElement>,
}

/// One attribute of a kept element, e.g. `i:type="AxSecurityPolicyConstrainedTable"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct XmlAttribute {
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z_][A-Za-z0-9._\-]*(:[A-Za-z_][A-Za-z0-9._\-]*)?$", max_length = 200))]
    pub name: String,
    pub value: String,
}

/// An element Warden does not interpret, kept with the object that holds it.
///
/// `within` names the collection of the object it sits in (`EntryPoints`,
/// `Duties`, ...; `None`: directly in the object's element). `after` names the
/// nearest sibling before it in the file that export writes too (a property
/// with a value, a collection, or another kept element; `None`: there is
/// none), so the writer puts it back where Visual Studio had it and a
/// re-import reads the same anchor; when that sibling is no longer written,
/// it goes after the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unmodelled {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    pub element: XmlElement,
}

impl Unmodelled {
    /// A reference as its AOT file wrote it (`<AxSecurityDutyReference>` with
    /// its `<Name>`, and whatever else it held), kept in its list `within`
    /// when it says more than the name Warden resolves: other child elements,
    /// or a spelling that differs from the referenced object's name in case
    /// only (D365 compares names ignoring case). Export writes it in the
    /// reference's place ([`Unmodelled::written_reference`]).
    pub fn reference_as_written(within: &str, item: &str, spelled: &str) -> Unmodelled {
        let name = XmlElement { text: Some(spelled.to_string()), ..XmlElement::new("Name") };
        Unmodelled { within: Some(within.to_string()), after: None, element: XmlElement { children: vec![name], ..XmlElement::new(item) } }
    }

    /// Whether this is a reference as written of list `within`, whose items are `item`s.
    pub fn is_reference_in(&self, within: &str, item: &str) -> bool {
        self.within.as_deref() == Some(within) && self.element.name == item
    }

    /// The reference as written to `name` in list `within`, names compared
    /// ignoring case, as D365 compares them.
    pub fn written_reference<'k>(kept: &'k [Unmodelled], within: &str, item: &str, name: &str) -> Option<&'k Unmodelled> {
        kept.iter().find(|u| {
            u.is_reference_in(within, item) && u.element.child("Name").and_then(|n| n.text.as_deref()).is_some_and(|t| same_name(t, name))
        })
    }
}

/// D365's comparison of names: equal ignoring case.
pub fn same_name(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

impl XmlElement {
    /// An element with a name only.
    pub fn new(name: impl Into<String>) -> XmlElement {
        XmlElement { name: name.into(), attributes: Vec::new(), text: None, children: Vec::new() }
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&XmlElement> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Whether the element says nothing: no attributes, no text, no children
    /// (`<Forms />`). D365 reads such an element as it reads its absence.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty() && self.text.as_deref().is_none_or(str::is_empty) && self.children.is_empty()
    }

    /// Levels of elements from this one down to its deepest descendant (1 for a leaf).
    pub fn depth(&self) -> usize {
        1 + self.children.iter().map(XmlElement::depth).max().unwrap_or(0)
    }

    /// Why this element cannot be written as XML, if it cannot: a name that is
    /// not an XML name, or nesting deeper than [`MAX_KEPT_DEPTH`].
    pub fn problem(&self) -> Option<String> {
        if self.depth() > MAX_KEPT_DEPTH {
            return Some(format!("element <{}> nests deeper than {MAX_KEPT_DEPTH} levels", self.name));
        }
        self.name_problem()
    }

    fn name_problem(&self) -> Option<String> {
        if !is_xml_name(&self.name) {
            return Some(format!("{:?} is not an XML element name", self.name));
        }
        if let Some(a) = self.attributes.iter().find(|a| !is_xml_name(&a.name)) {
            return Some(format!("{:?} (on <{}>) is not an XML attribute name", a.name, self.name));
        }
        self.children.iter().find_map(XmlElement::name_problem)
    }
}

/// The names D365 writes: ASCII letters, digits, `_`, `.`, `-`, at most one
/// `prefix:` — a subset of XML's Name production that needs no escaping.
pub fn is_xml_name(name: &str) -> bool {
    fn part(p: &str) -> bool {
        let mut chars = p.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    }
    name.len() <= 200
        && match name.split_once(':') {
            Some((prefix, local)) => part(prefix) && part(local),
            None => part(name),
        }
}

/// Whether a list of kept elements can be written; the first problem found.
pub fn unmodelled_problem(kept: &[Unmodelled]) -> Option<String> {
    kept.iter().find_map(|u| {
        let bad_name = [&u.after, &u.within].into_iter().flatten().find(|a| !is_xml_name(a));
        u.element.problem().or_else(|| bad_name.map(|a| format!("{a:?} is not an XML element name")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_at_every_level() {
        let mut e = XmlElement::new("Forms");
        assert!(e.problem().is_none());
        e.children.push(XmlElement::new("a><b"));
        assert!(e.problem().is_some_and(|p| p.contains("a><b")));
        let mut a = XmlElement::new("X");
        a.attributes.push(XmlAttribute { name: "i:type".into(), value: "<\"&".into() });
        assert!(a.problem().is_none(), "attribute values are escaped by the writer, any text will do");
        a.attributes.push(XmlAttribute { name: "x y".into(), value: String::new() });
        assert!(a.problem().is_some());
        for bad in ["", "1a", "a b", "a:b:c", ":a", "a/"] {
            assert!(!is_xml_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn depth_is_bounded() {
        let mut e = XmlElement::new("L");
        for _ in 0..MAX_KEPT_DEPTH {
            let mut parent = XmlElement::new("L");
            parent.children.push(e);
            e = parent;
        }
        assert_eq!(e.depth(), MAX_KEPT_DEPTH + 1);
        assert!(e.problem().is_some_and(|p| p.contains("deeper")));
    }
}
