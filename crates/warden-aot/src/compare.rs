//! XML equivalence of AOT files: the measure of a lossless round trip.
//!
//! Two files are equivalent when they hold the same elements with the same
//! attributes and values, compared after the normalisations below, each of
//! which D365 itself does not tell apart:
//! - the XML declaration, comments, processing instructions and whitespace
//!   between elements are layout;
//! - an element with no attribute, text or child (`<Forms />`) reads as its absence;
//! - a property at its D365 default reads as its absence (`Enabled` Yes,
//!   `ContextType` ContextString, `ConstrainedTable` No, licences None);
//! - siblings are compared as a multiset: the metadata serializer reads
//!   properties by name and collections as sets, so order is not compared.
//!
//! Everything else counts: one element missing, one attribute or one
//! character of a value changed makes the files differ.

use quick_xml::Reader;
use quick_xml::events::Event;
use std::fmt;
use warden_model::{XmlAttribute, XmlElement};

/// Properties whose D365 default value reads the same as the property left out.
const DEFAULTS: [(&str, &str); 5] =
    [("Enabled", "Yes"), ("ContextType", "ContextString"), ("ConstrainedTable", "No"), ("ViewUserLicense", "None"), ("MaintainUserLicense", "None")];

/// Where two files differ: the element path (`AxSecurityPrivilege/EntryPoints/...`) and what differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlDifference {
    pub path: String,
    pub message: String,
}

impl fmt::Display for XmlDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The first difference in XML terms between two documents (see the module
/// documentation for what counts), or `None` when they are equivalent.
/// `Err` when either is not well-formed XML.
pub fn xml_difference(left: &str, right: &str) -> Result<Option<XmlDifference>, String> {
    let left = normalize(parse(left).map_err(|e| format!("left: {e}"))?, true).unwrap_or_else(|| XmlElement::new(""));
    let right = normalize(parse(right).map_err(|e| format!("right: {e}"))?, true).unwrap_or_else(|| XmlElement::new(""));
    Ok(difference(&left.name.clone(), &left, &right))
}

fn parse(text: &str) -> Result<XmlElement, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<XmlElement> = Vec::new();
    let mut root = None;
    loop {
        let event = reader.read_event().map_err(|e| format!("malformed XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                return Err(format!("second root element <{}>", String::from_utf8_lossy(start.name().into_inner())));
            }
            Event::Start(start) => stack.push(element(&start)?),
            Event::Empty(start) => {
                let e = element(&start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(e),
                    None => root = Some(e),
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else { return Err("end tag without start tag".into()) };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => push_text(&mut stack, &t.xml_content().map_err(|e| e.to_string())?),
            Event::CData(d) => push_text(&mut stack, &String::from_utf8_lossy(&d.into_inner())),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c,
                    None => match &*r {
                        b"amp" => '&',
                        b"lt" => '<',
                        b"gt" => '>',
                        b"quot" => '"',
                        b"apos" => '\'',
                        other => return Err(format!("unknown entity &{};", String::from_utf8_lossy(other))),
                    },
                };
                push_text(&mut stack, c.encode_utf8(&mut [0; 4]));
            }
            Event::DocType(_) => return Err("DTDs are not compared".into()),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element".into());
    }
    root.ok_or_else(|| "no root element".to_string())
}

fn element(start: &quick_xml::events::BytesStart<'_>) -> Result<XmlElement, String> {
    let mut e = XmlElement::new(String::from_utf8_lossy(start.name().into_inner()));
    for a in start.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let value = a.unescape_value().map_err(|e| e.to_string())?.into_owned();
        e.attributes.push(XmlAttribute { name: String::from_utf8_lossy(a.key.into_inner()).into_owned(), value });
    }
    Ok(e)
}

fn push_text(stack: &mut [XmlElement], text: &str) {
    if let Some(e) = stack.last_mut() {
        e.text.get_or_insert_with(String::new).push_str(&text.replace("\r\n", "\n").replace('\r', "\n"));
    }
}

/// The element as compared; `None` when it reads as absent.
fn normalize(mut e: XmlElement, root: bool) -> Option<XmlElement> {
    // White space around child elements is layout, even around children that read as absent.
    let had_children = !e.children.is_empty();
    e.children = std::mem::take(&mut e.children).into_iter().filter_map(|c| normalize(c, false)).collect();
    e.children.sort_by_cached_key(canonical);
    e.attributes.sort_by(|a, b| a.name.cmp(&b.name));
    if e.text.as_deref().is_some_and(|t| t.is_empty() || (had_children && t.trim().is_empty())) {
        e.text = None;
    }
    let default = e.children.is_empty()
        && e.attributes.is_empty()
        && DEFAULTS.iter().any(|(name, value)| e.name == *name && e.text.as_deref().map(str::trim) == Some(*value));
    if !root && (e.is_empty() || default) {
        return None;
    }
    Some(e)
}

fn canonical(e: &XmlElement) -> String {
    let children: Vec<String> = e.children.iter().map(canonical).collect();
    let attributes: Vec<(&str, &str)> = e.attributes.iter().map(|a| (a.name.as_str(), a.value.as_str())).collect();
    format!("<{:?} {:?} {:?} [{}]>", e.name, attributes, e.text, children.join(","))
}

fn difference(path: &str, left: &XmlElement, right: &XmlElement) -> Option<XmlDifference> {
    let at = |message: String| Some(XmlDifference { path: path.to_string(), message });
    if left.name != right.name {
        return at(format!("element <{}> on the left, <{}> on the right", left.name, right.name));
    }
    if left.attributes != right.attributes {
        let show = |e: &XmlElement| e.attributes.iter().map(|a| format!("{}={:?}", a.name, a.value)).collect::<Vec<_>>().join(" ");
        return at(format!("attributes [{}] on the left, [{}] on the right", show(left), show(right)));
    }
    if left.text != right.text {
        return at(format!("value {:?} on the left, {:?} on the right", left.text, right.text));
    }
    // Children are sorted by their canonical form: take out the ones both sides share.
    let mut only_left: Vec<&XmlElement> = Vec::new();
    let mut only_right: Vec<&XmlElement> = right.children.iter().collect();
    for child in &left.children {
        let key = canonical(child);
        match only_right.iter().position(|r| canonical(r) == key) {
            Some(i) => {
                only_right.remove(i);
            }
            None => only_left.push(child),
        }
    }
    if let Some(l) = only_left.first() {
        // The same element changed inside, rather than missing: say where.
        if let Some(r) = only_right.iter().find(|r| r.name == l.name) {
            return difference(&format!("{path}/{}", l.name), l, r);
        }
        return at(format!("<{}> is on the left only: {}", l.name, canonical(l)));
    }
    if let Some(r) = only_right.first() {
        return at(format!("<{}> is on the right only: {}", r.name, canonical(r)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<AxSecurityPrivilege xmlns:i=\"x\">\n\t<Name>P</Name>\n\t<EntryPoints>\n\t\t<AxSecurityEntryPointReference>\n\t\t\t<Name>E</Name>\n\t\t\t<Forms>\n\t\t\t\t<AxSecurityEntryPointReferenceForm>\n\t\t\t\t\t<Name>F</Name>\n\t\t\t\t\t<Controls>\n\t\t\t\t\t\t<AxSecurityEntryPointReferenceFormControl>\n\t\t\t\t\t\t\t<Name>B</Name>\n\t\t\t\t\t\t\t<Grant><Update>Deny</Update></Grant>\n\t\t\t\t\t\t</AxSecurityEntryPointReferenceFormControl>\n\t\t\t\t\t</Controls>\n\t\t\t\t</AxSecurityEntryPointReferenceForm>\n\t\t\t</Forms>\n\t\t</AxSecurityEntryPointReference>\n\t</EntryPoints>\n</AxSecurityPrivilege>";

    #[test]
    fn layout_order_empty_elements_and_defaults_do_not_count() {
        let other = "<AxSecurityPrivilege xmlns:i=\"x\"><EntryPoints><AxSecurityEntryPointReference><Forms><AxSecurityEntryPointReferenceForm><Controls><AxSecurityEntryPointReferenceFormControl><Grant><Update>Deny</Update></Grant><Name>B</Name></AxSecurityEntryPointReferenceFormControl></Controls><Name>F</Name></AxSecurityEntryPointReferenceForm></Forms><Name>E</Name><Grant /></AxSecurityEntryPointReference></EntryPoints><!-- c --><Name>P</Name><DataEntityPermissions /><Enabled>Yes</Enabled></AxSecurityPrivilege>";
        assert_eq!(xml_difference(FILE, other), Ok(None));
    }

    #[test]
    fn layout_around_children_that_read_as_absent_does_not_count() {
        assert_eq!(xml_difference("<R><T><T></T></T></R>", "<R>\n\t<T>\n\t\t<T />\n\t</T>\n</R>"), Ok(None));
    }

    #[test]
    fn a_dropped_element_or_changed_value_is_found() {
        let dropped = FILE.replace("<Grant><Update>Deny</Update></Grant>", "");
        let d = xml_difference(FILE, &dropped).expect("parses").expect("differs");
        assert!(d.path.ends_with("AxSecurityEntryPointReferenceFormControl"), "{d}");
        assert!(d.message.contains("Grant"), "{d}");
        let changed = FILE.replace("Deny", "Allow");
        assert!(xml_difference(FILE, &changed).expect("parses").is_some_and(|d| d.message.contains("Deny")));
        let attribute = FILE.replace("xmlns:i=\"x\"", "xmlns:i=\"y\"");
        assert!(xml_difference(FILE, &attribute).expect("parses").is_some());
        assert!(xml_difference(FILE, "<a>").is_err());
    }
}
