//! Attributes on elements whose value Warden reads (`<Label origin="x">Clerk</Label>`).
//!
//! The model holds the value, not the element, so the reader keeps such
//! attributes apart, with the element's path from the object's root and its
//! value, in one kept entry of the object (`within` [`WITHIN`]); the writer
//! puts them back on the element at that path that holds that value.
//! Namespace declarations and `i:nil` say nothing and are not kept. When the
//! value was changed in Warden, no element matches and the attributes are
//! not written: the model wins, as for every kept part.

use warden_model::{Unmodelled, XmlAttribute, XmlElement};

/// The `within` of the kept entry that holds the attributes of read values;
/// no collection of an AOT object has this name.
pub(crate) const WITHIN: &str = "WardenAttributesOfValues";

/// One element's attributes: `<Leaf path="EntryPoints/AxSecurityEntryPointReference/ObjectType"><ObjectType a="b">Value</ObjectType></Leaf>`.
pub(crate) fn record(path: String, name: &str, attributes: Vec<XmlAttribute>, value: &str) -> XmlElement {
    let leaf = XmlElement { attributes, text: Some(value.to_string()).filter(|v| !v.is_empty()), ..XmlElement::new(name) };
    XmlElement { attributes: vec![XmlAttribute { name: "path".into(), value: path }], children: vec![leaf], ..XmlElement::new("Leaf") }
}

/// The kept entry for an object's records.
pub(crate) fn kept(records: Vec<XmlElement>) -> Unmodelled {
    Unmodelled { within: Some(WITHIN.into()), after: None, element: XmlElement { children: records, ..XmlElement::new("Attributes") } }
}

/// `xml` (an object as the writer wrote it) with the kept attributes put back
/// on the first element at each record's path holding the record's value.
pub(crate) fn restore(xml: String, kept: &[Unmodelled]) -> String {
    let records: Vec<(&str, &XmlElement)> = kept
        .iter()
        .filter(|u| u.within.as_deref() == Some(WITHIN))
        .flat_map(|u| u.element.children.iter())
        .filter_map(|r| Some((r.attributes.iter().find(|a| a.name == "path")?.value.as_str(), r.children.first()?)))
        .collect();
    if records.is_empty() {
        return xml;
    }
    let mut used = vec![false; records.len()];
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut stack: Vec<String> = Vec::new();
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(0);
        let Ok(event) = reader.read_event() else { break };
        let after = usize::try_from(reader.buffer_position()).unwrap_or(0);
        let (name, empty) = match &event {
            quick_xml::events::Event::Start(e) => (String::from_utf8_lossy(e.name().into_inner()).into_owned(), false),
            quick_xml::events::Event::Empty(e) => (String::from_utf8_lossy(e.name().into_inner()).into_owned(), true),
            quick_xml::events::Event::End(_) => {
                stack.pop();
                continue;
            }
            quick_xml::events::Event::Eof => break,
            _ => continue,
        };
        stack.push(name);
        let path = stack[1..].join("/");
        let value = if empty { String::new() } else { leaf_value(&xml, after) };
        if let Some(i) = (0..records.len()).find(|&i| !used[i] && records[i].0 == path && records[i].1.text.as_deref().unwrap_or("") == value) {
            used[i] = true;
            let mut text = String::new();
            for a in &records[i].1.attributes {
                text.push(' ');
                text.push_str(&a.name);
                text.push_str("=\"");
                crate::write::escape_attribute_into(&mut text, &a.value);
                text.push('"');
            }
            // Before `>` or `/>`, and after any attribute the writer wrote.
            let end = if empty { after - 2 } else { after - 1 };
            inserts.push((end.max(before), text));
        }
        if empty {
            stack.pop();
        }
    }
    let mut out = xml;
    for (at, text) in inserts.into_iter().rev() {
        out.insert_str(at, &text);
    }
    out
}

/// The value of a leaf element whose start tag ends at `from`: its text up to
/// the next tag, unescaped; empty when a child element follows.
fn leaf_value(xml: &str, from: usize) -> String {
    let rest = &xml[from..];
    let raw = &rest[..rest.find('<').unwrap_or(rest.len())];
    if !rest[raw.len()..].starts_with("</") {
        return String::new();
    }
    quick_xml::escape::unescape(raw).map(|v| v.into_owned()).unwrap_or_else(|_| raw.to_string()).replace("\r\n", "\n")
}
