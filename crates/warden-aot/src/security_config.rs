//! D365's security configuration file, `SecurityDatabaseCustomizations.xml`:
//! what *System administration › Security › Security configuration › Data ›
//! Export* writes and *Import* reads. It holds the "security delta" — the
//! roles, duties and privileges administrators customized, created or
//! disabled in the user interface — which is Warden's database layer.
//!
//! The shape, as the public tools that read and write it document it
//! (d365fo.tools `Export-D365SecurityDetails`, which selects
//! `/*/*/*/*/*[starts-with(name(),'AxSec')]`; Alex Meyer's
//! D365FOSecurityConverter, `Main.cs`, which rebuilds the file for import):
//!
//! ```xml
//! <SecurityCustomizationData xmlns="http://schemas.datacontract.org/2004/07/Microsoft.Dynamics.AX.Security.Management"
//!                            xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
//!   <_x003C_CustomizationsForTypeList_x003E_k__BackingField>
//!     <BaseRepositoryCustomizations i:type="RepositoryCustomizationsOfAxSecurityRoleNcCATIYq">
//!       <_x003C_CustomizedObjectList_x003E_k__BackingField>
//!         <AxSecurityRole xmlns="">…the AOT object, whole…</AxSecurityRole>
//!       </_x003C_CustomizedObjectList_x003E_k__BackingField>
//!       <_x003C_DisabledObjectSet_x003E_k__BackingField xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays">
//!         <a:string>Name</a:string>
//!       </_x003C_DisabledObjectSet_x003E_k__BackingField>
//!       <_x003C_NewObjectList_x003E_k__BackingField>
//!         <AxSecurityRole xmlns="">…</AxSecurityRole>
//!       </_x003C_NewObjectList_x003E_k__BackingField>
//!     </BaseRepositoryCustomizations>
//!     …the same for AxSecurityDuty and AxSecurityPrivilege…
//!   </_x003C_CustomizationsForTypeList_x003E_k__BackingField>
//! </SecurityCustomizationData>
//! ```
//!
//! It is a .NET DataContract serialization (hence the backing-field names)
//! whose objects are the AOT metadata classes, so each object is read by the
//! AOT reader itself ([`crate::read`]): everything it does not interpret is
//! kept with the object as for an AOT file. The disabled set's items are
//! assumed to be DataContract strings (`a:string`), the serialization of a
//! set of names; no public sample shows one filled.

use crate::read::{self, Note};
use crate::write::escape_into;
use crate::{AotError, AotObject, AxType};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use warden_model::{Object, ObjectKind, ObjectRef};

/// The file's root element.
pub const ROOT: &str = "SecurityCustomizationData";
/// The DataContract namespace of the root and the backing fields.
pub const NAMESPACE: &str = "http://schemas.datacontract.org/2004/07/Microsoft.Dynamics.AX.Security.Management";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const ARRAYS: &str = "http://schemas.microsoft.com/2003/10/Serialization/Arrays";
const TYPE_LIST: &str = "_x003C_CustomizationsForTypeList_x003E_k__BackingField";
const BLOCK: &str = "BaseRepositoryCustomizations";
const CUSTOMIZED: &str = "_x003C_CustomizedObjectList_x003E_k__BackingField";
const DISABLED: &str = "_x003C_DisabledObjectSet_x003E_k__BackingField";
const NEW: &str = "_x003C_NewObjectList_x003E_k__BackingField";
/// The DataContract type names of the three blocks are `RepositoryCustomizationsOf` +
/// the AOT type + this hash of the generic type's namespace, the same in every file.
const TYPE_PREFIX: &str = "RepositoryCustomizationsOf";
const TYPE_SUFFIX: &str = "NcCATIYq";

/// A whole security configuration file is refused above this size: it holds
/// every customized object whole, but 128 MiB is thousands of them.
pub const MAX_CONFIG_SIZE: u64 = 128 * 1024 * 1024;

/// Which of the three kinds a block customizes.
const KINDS: [(AxType, ObjectKind); 3] =
    [(AxType::Role, ObjectKind::Role), (AxType::Duty, ObjectKind::Duty), (AxType::Privilege, ObjectKind::Privilege)];

/// Which list of its block an object sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConfigList {
    /// `CustomizedObjectList`: an object of the code (AOT) layer, changed in the database.
    Customized,
    /// `NewObjectList`: an object created in the database (D365 names it with a GUID).
    New,
}

impl ConfigList {
    pub const fn as_str(self) -> &'static str {
        match self {
            ConfigList::Customized => "customized",
            ConfigList::New => "new",
        }
    }
}

/// One object of the file and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub list: ConfigList,
    /// A role, duty or privilege.
    pub object: Object,
    /// 1-based line and column of its start tag (0 when written, not read).
    pub line: usize,
    pub column: usize,
}

/// A disabled object: its key, and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledEntry {
    pub key: ObjectRef,
    pub line: usize,
    pub column: usize,
}

/// What a security configuration file says: the customized, new and disabled
/// roles, duties and privileges, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityConfig {
    pub objects: Vec<ConfigEntry>,
    pub disabled: Vec<DisabledEntry>,
    /// What the reader kept without interpreting, or could not keep, with
    /// `file:line:column`: never silence.
    pub warnings: Vec<String>,
}

impl SecurityConfig {
    /// How many objects sit in `list`.
    pub fn count(&self, list: ConfigList) -> usize {
        self.objects.iter().filter(|e| e.list == list).count()
    }
}

/// Reads a security configuration file: all of it, or an error naming
/// `file:line:column` and the element.
pub fn read_security_config(path: &Path) -> Result<SecurityConfig, AotError> {
    let io = |error| AotError::Io { path: path.to_path_buf(), error };
    let metadata = fs::metadata(path).map_err(io)?;
    if !metadata.is_file() {
        // A FIFO would wait for a writer forever; a folder holds no file.
        return Err(AotError::NotAFile { path: path.to_path_buf() });
    }
    let file = File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_SIZE + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_CONFIG_SIZE {
        return Err(AotError::Parse {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: format!("the file is larger than {} MiB, more than any security configuration holds", MAX_CONFIG_SIZE >> 20),
        });
    }
    parse_security_config(path, &bytes)
}

/// [`read_security_config`] of bytes already read; `path` only names them in messages.
pub fn parse_security_config(path: &Path, bytes: &[u8]) -> Result<SecurityConfig, AotError> {
    let err = |line, column, message: String| AotError::Parse { path: path.to_path_buf(), line, column, message };
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(err(1, 1, "the file is UTF-16 encoded, which is not supported: D365 exports it as UTF-8; re-save it as UTF-8".into()));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let src = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = read::line_col(bytes, e.valid_up_to());
        err(line, column, "invalid UTF-8: the security configuration file must be UTF-8".into())
    })?;
    let mut reader = ConfigReader { reader: Reader::from_str(src), src, path, config: SecurityConfig::default(), notes: Vec::new(), seen: HashMap::new() };
    reader.document()?;
    let mut config = reader.config;
    config.warnings = summarise(path, reader.notes);
    Ok(config)
}

struct ConfigReader<'a, 'p> {
    reader: Reader<&'a [u8]>,
    src: &'a str,
    path: &'p Path,
    config: SecurityConfig,
    notes: Vec<Note>,
    /// Every key read so far (names folded to lower case, as D365 compares
    /// them), with where: one key in two places is refused.
    seen: HashMap<(ObjectKind, String), (usize, usize)>,
}

/// An element's start tag: its name, attributes and where it starts.
struct Start<'a> {
    tag: BytesStart<'a>,
    pos: usize,
    empty: bool,
}

impl Start<'_> {
    fn name(&self) -> String {
        String::from_utf8_lossy(self.tag.name().into_inner()).into_owned()
    }

    fn local(&self) -> String {
        String::from_utf8_lossy(self.tag.local_name().into_inner()).into_owned()
    }

    fn attribute(&self, name: &str) -> Option<String> {
        self.tag
            .attributes()
            .flatten()
            .find(|a| a.key.into_inner() == name.as_bytes())
            .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
    }

    /// Attributes other than namespace declarations.
    fn plain_attributes(&self) -> Vec<String> {
        self.tag
            .attributes()
            .flatten()
            .map(|a| String::from_utf8_lossy(a.key.into_inner()).into_owned())
            .filter(|k| k != "xmlns" && !k.starts_with("xmlns:"))
            .collect()
    }
}

impl<'a> ConfigReader<'a, '_> {
    fn err(&self, offset: usize, message: impl Into<String>) -> AotError {
        let (line, column) = read::line_col(self.src.as_bytes(), offset);
        AotError::Parse { path: self.path.to_path_buf(), line, column, message: message.into() }
    }

    fn note(&mut self, offset: usize, what: String) {
        let (line, column) = read::line_col(self.src.as_bytes(), offset);
        self.notes.push(Note { what, line, column });
    }

    fn position(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    /// The next element start among the current element's children, or
    /// `None` at its end tag (consumed).
    fn next_child(&mut self) -> Result<Option<Start<'a>>, AotError> {
        loop {
            let pos = self.position();
            let event = self.reader.read_event().map_err(|e| {
                let at = usize::try_from(self.reader.error_position()).unwrap_or(pos);
                self.err(at, format!("malformed XML: {e}"))
            })?;
            match event {
                Event::Start(tag) => return Ok(Some(Start { tag, pos, empty: false })),
                Event::Empty(tag) => return Ok(Some(Start { tag, pos, empty: true })),
                Event::End(_) => return Ok(None),
                Event::Eof => return Err(self.err(pos, "the file ends inside an element; is it truncated?")),
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => return Err(self.err(pos, "DTDs are not allowed: a security configuration file never declares a <!DOCTYPE>")),
                Event::Decl(_) => return Err(self.err(pos, "an XML declaration is only allowed at the start of the file")),
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(self.err(pos, "unexpected text between elements"));
                }
            }
        }
    }

    /// Skips the rest of `start`'s element (well-formedness still checked).
    fn skip(&mut self, start: &Start<'a>) -> Result<(), AotError> {
        if start.empty {
            return Ok(());
        }
        let end = start.tag.to_end().into_owned();
        self.reader.read_to_end(end.name()).map_err(|e| {
            let at = usize::try_from(self.reader.error_position()).unwrap_or(start.pos);
            self.err(at, format!("malformed XML in <{}>: {e}", start.name()))
        })?;
        Ok(())
    }

    /// Skips an element the reader does not know, saying so.
    fn unknown(&mut self, start: &Start<'a>, within: &str) -> Result<(), AotError> {
        self.note(start.pos, format!("{}{within}/{} (not a part of the file Warden knows; not imported, not exported)", read::DROPPED, start.name()));
        self.skip(start)
    }

    fn document(&mut self) -> Result<(), AotError> {
        // Prolog: declaration, comments, white space.
        let root = loop {
            let pos = self.position();
            let event = self.reader.read_event().map_err(|e| self.err(pos, format!("malformed XML: {e}")))?;
            match event {
                Event::Decl(decl) => {
                    if let Some(Ok(encoding)) = decl.encoding() {
                        let encoding = String::from_utf8_lossy(&encoding).into_owned();
                        if !encoding.eq_ignore_ascii_case("utf-8") && !encoding.eq_ignore_ascii_case("utf8") {
                            return Err(self.err(pos, format!("declared encoding {encoding:?} is not supported: the file must be UTF-8")));
                        }
                    }
                }
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => return Err(self.err(pos, "DTDs are not allowed: a security configuration file never declares a <!DOCTYPE>")),
                Event::Start(tag) => break Start { tag, pos, empty: false },
                Event::Empty(tag) => break Start { tag, pos, empty: true },
                Event::Eof => return Err(self.err(pos, "no root element: the file is empty")),
                _ => return Err(self.err(pos, format!("text before the root element <{ROOT}>"))),
            }
        };
        if root.local() != ROOT {
            return Err(self.err(
                root.pos,
                format!("expected <{ROOT}> (D365's security configuration export, SecurityDatabaseCustomizations.xml), found <{}>", root.name()),
            ));
        }
        if let Some(ns) = root.attribute("xmlns").filter(|ns| ns != NAMESPACE) {
            self.note(root.pos, format!("{}namespace {ns:?} of <{ROOT}> (export writes D365's, {NAMESPACE:?})", read::DROPPED));
        }
        if !root.empty {
            while let Some(child) = self.next_child()? {
                if child.local() == TYPE_LIST {
                    self.type_list(&child)?;
                } else {
                    self.unknown(&child, ROOT)?;
                }
            }
        }
        // After the root: only layout.
        loop {
            let pos = self.position();
            match self.reader.read_event().map_err(|e| self.err(pos, format!("malformed XML: {e}")))? {
                Event::Eof => return Ok(()),
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                Event::Comment(_) | Event::PI(_) => {}
                _ => return Err(self.err(pos, format!("content after the end of <{ROOT}>"))),
            }
        }
    }

    fn type_list(&mut self, list: &Start<'a>) -> Result<(), AotError> {
        if list.empty {
            return Ok(());
        }
        while let Some(block) = self.next_child()? {
            if block.local() != BLOCK {
                self.unknown(&block, TYPE_LIST)?;
                continue;
            }
            let Some(type_name) = block.attribute("i:type") else {
                return Err(self.err(block.pos, format!("<{BLOCK}> has no i:type: expected {TYPE_PREFIX}AxSecurityRole{TYPE_SUFFIX} or the Duty or Privilege one")));
            };
            let kind = KINDS.iter().copied().find(|(ax, _)| {
                type_name.strip_prefix(TYPE_PREFIX).is_some_and(|rest| rest.strip_prefix(ax.as_str()).is_some_and(|s| !s.starts_with(char::is_alphabetic) || s == TYPE_SUFFIX))
            });
            let Some((ax_type, kind)) = kind else {
                self.note(block.pos, format!("{}{TYPE_LIST}/{BLOCK} of i:type {type_name:?} (Warden reads the role, duty and privilege customizations)", read::DROPPED));
                self.skip(&block)?;
                continue;
            };
            if type_name != block_type(ax_type) {
                self.note(block.pos, format!("kept: i:type {type_name:?} is written back as {:?}", block_type(ax_type)));
            }
            self.block(&block, ax_type, kind)?;
        }
        Ok(())
    }

    fn block(&mut self, block: &Start<'a>, ax_type: AxType, kind: ObjectKind) -> Result<(), AotError> {
        if block.empty {
            return Ok(());
        }
        while let Some(list) = self.next_child()? {
            let local = list.local();
            let which = match local.as_str() {
                CUSTOMIZED => Some(ConfigList::Customized),
                NEW => Some(ConfigList::New),
                DISABLED => None,
                _ => {
                    self.unknown(&list, BLOCK)?;
                    continue;
                }
            };
            if list.empty {
                continue;
            }
            match which {
                Some(which) => self.objects(which, ax_type, kind)?,
                None => self.disabled(kind)?,
            }
        }
        Ok(())
    }

    /// The objects of one list: each is an AOT object, read by the AOT reader.
    fn objects(&mut self, list: ConfigList, ax_type: AxType, kind: ObjectKind) -> Result<(), AotError> {
        while let Some(start) = self.next_child()? {
            if start.local() != ax_type.as_str() {
                return Err(self.err(
                    start.pos,
                    format!("<{}> in the {} list of the {} customizations: expected <{}>", start.name(), list.as_str(), kind, ax_type.as_str()),
                ));
            }
            let others = start.plain_attributes();
            if !others.is_empty() {
                self.note(start.pos, format!("{}attribute(s) {} of <{}> (export writes xmlns=\"\" only)", read::DROPPED, others.join(", "), start.name()));
            }
            self.skip(&start)?;
            let end = self.position().min(self.src.len());
            let slice = &self.src[start.pos..end];
            let (base_line, base_column) = read::line_col(self.src.as_bytes(), start.pos);
            let shift = |line: usize, column: usize| if line == 1 { (base_line, base_column + column - 1) } else { (base_line + line - 1, column) };
            let parsed = read::parse(self.path, None, slice.as_bytes()).map_err(|e| match e {
                AotError::Parse { path, line, column, message } => {
                    let (line, column) = shift(line, column);
                    AotError::Parse { path, line, column, message }
                }
                other => other,
            })?;
            for Note { what, line, column } in parsed.notes {
                let (line, column) = shift(line, column);
                self.notes.push(Note { what, line, column });
            }
            let object = Object::from(parsed.object);
            let key = object.key();
            if let Some((line, column)) = self.seen.insert((kind, key.name.to_lowercase()), (base_line, base_column)) {
                return Err(self.err(start.pos, format!("{kind} {} is in the file twice (also at {line}:{column}): D365 names are case-insensitive", key.name)));
            }
            self.config.objects.push(ConfigEntry { list, object, line: base_line, column: base_column });
        }
        Ok(())
    }

    /// `<a:string>Name</a:string>` items: names of disabled objects.
    fn disabled(&mut self, kind: ObjectKind) -> Result<(), AotError> {
        while let Some(item) = self.next_child()? {
            if item.local() != "string" {
                self.unknown(&item, DISABLED)?;
                continue;
            }
            let inner = self.position();
            let text = if item.empty {
                String::new()
            } else {
                let end = item.tag.to_end().into_owned();
                let text = self.reader.read_text(end.name()).map_err(|e| self.err(item.pos, format!("malformed XML in <{}>: {e}", item.name())))?;
                if text.contains('<') {
                    return Err(self.err(inner, format!("<{}> in the disabled set holds elements; expected a {kind} name", item.name())));
                }
                let text = quick_xml::escape::unescape(&text).map_err(|e| self.err(inner, format!("<{}>: {e}", item.name())))?;
                text.trim().to_string()
            };
            if text.is_empty() {
                return Err(self.err(item.pos, format!("<{}> in the disabled set of the {kind} customizations is empty; expected a {kind} name", item.name())));
            }
            warden_model::validate_id(kind, &text).map_err(|e| self.err(inner, format!("<{}>: {e}", item.name())))?;
            let (line, column) = read::line_col(self.src.as_bytes(), item.pos);
            if let Some((l, c)) = self.seen.insert((kind, text.to_lowercase()), (line, column)) {
                return Err(self.err(item.pos, format!("{kind} {text} is in the file twice (also at {l}:{c}): an object is customized, new or disabled, not two of them")));
            }
            self.config.disabled.push(DisabledEntry { key: ObjectRef::new(kind, text), line, column });
        }
        Ok(())
    }
}

/// The `i:type` of the block of one AOT type.
fn block_type(ax_type: AxType) -> String {
    format!("{TYPE_PREFIX}{}{TYPE_SUFFIX}", ax_type.as_str())
}

/// Up to this many places per warning.
const EXAMPLES: usize = 10;

/// One warning per kind of note, with the places it was seen.
fn summarise(path: &Path, notes: Vec<Note>) -> Vec<String> {
    let mut groups: Vec<(String, Vec<String>, usize)> = Vec::new();
    for Note { what, line, column } in notes {
        let at = format!("{}:{line}:{column}", path.display());
        match groups.iter_mut().find(|(w, _, _)| *w == what) {
            Some((_, places, count)) => {
                *count += 1;
                if places.len() < EXAMPLES {
                    places.push(at);
                }
            }
            None => groups.push((what, vec![at], 1)),
        }
    }
    groups
        .into_iter()
        .map(|(what, places, count)| {
            let what = read::warning_for(what);
            let more = if count > places.len() { format!(" and {} more", count - places.len()) } else { String::new() };
            format!("{count} {what}: {}{more}", places.join(", "))
        })
        .collect()
}

/// The text of a security configuration file holding `config`'s objects
/// and disabled names, laid out as D365 writes it: the three blocks (roles,
/// duties, privileges) always, each with its three lists; objects written by
/// the AOT writer ([`crate::object_to_xml`]) so that what an import kept comes
/// back. `config.objects` must hold roles, duties and privileges only; any
/// other object is left out.
pub fn security_config_to_xml(config: &SecurityConfig) -> String {
    let mut out = String::with_capacity(4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str(&format!("<{ROOT} xmlns=\"{NAMESPACE}\" xmlns:i=\"{XSI}\">\n"));
    out.push_str(&format!("\t<{TYPE_LIST}>\n"));
    for (ax_type, kind) in KINDS {
        out.push_str(&format!("\t\t<{BLOCK} i:type=\"{}\">\n", block_type(ax_type)));
        let objects = |list: ConfigList| config.objects.iter().filter(move |e| e.list == list && e.object.key().kind == kind);
        write_list(&mut out, CUSTOMIZED, ax_type, objects(ConfigList::Customized));
        let disabled: Vec<&DisabledEntry> = config.disabled.iter().filter(|d| d.key.kind == kind).collect();
        if disabled.is_empty() {
            out.push_str(&format!("\t\t\t<{DISABLED} xmlns:a=\"{ARRAYS}\" />\n"));
        } else {
            out.push_str(&format!("\t\t\t<{DISABLED} xmlns:a=\"{ARRAYS}\">\n"));
            for d in disabled {
                out.push_str("\t\t\t\t<a:string>");
                escape_into(&mut out, &d.key.name);
                out.push_str("</a:string>\n");
            }
            out.push_str(&format!("\t\t\t</{DISABLED}>\n"));
        }
        write_list(&mut out, NEW, ax_type, objects(ConfigList::New));
        out.push_str(&format!("\t\t</{BLOCK}>\n"));
    }
    out.push_str(&format!("\t</{TYPE_LIST}>\n"));
    out.push_str(&format!("</{ROOT}>\n"));
    out
}

fn write_list<'e>(out: &mut String, list: &str, ax_type: AxType, entries: impl Iterator<Item = &'e ConfigEntry>) {
    let mut entries = entries.peekable();
    if entries.peek().is_none() {
        out.push_str(&format!("\t\t\t<{list} />\n"));
        return;
    }
    out.push_str(&format!("\t\t\t<{list}>\n"));
    for entry in entries {
        let object = match &entry.object {
            Object::Role(x) => AotObject::Role(x.clone()),
            Object::Duty(x) => AotObject::Duty(x.clone()),
            Object::Privilege(x) => AotObject::Privilege(x.clone()),
            _ => continue,
        };
        let xml = crate::object_to_xml(&object);
        out.push_str("\t\t\t\t");
        out.push_str(&embedded(&xml, ax_type));
        out.push('\n');
    }
    out.push_str(&format!("\t\t\t</{list}>\n"));
}

/// An AOT file's text as an object of the configuration file: without the
/// XML declaration, and with the root start tag saying `xmlns=""` (the
/// metadata classes are in no namespace; the file's `i:` prefix is declared
/// on its root).
fn embedded(xml: &str, ax_type: AxType) -> String {
    let body = xml.strip_prefix("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n").unwrap_or(xml);
    // The writer's root start tag ends the first line.
    let rest = body.split_once('\n').map_or("", |(_, rest)| rest);
    format!("<{} xmlns=\"\">\n{rest}", ax_type.as_str())
}

/// Writes `text` to `out` atomically: into a new file beside it, then renamed
/// over it, so a reader sees the old file or the new one, never half of one.
/// `out` itself must not be a symbolic link (the rename would replace the
/// link, not write where it points, but an administrator who linked it
/// expects otherwise: refused), nor a folder or special file; an existing
/// file is replaced only with `overwrite`.
pub fn write_file_atomically(out: &Path, text: &str, overwrite: bool) -> Result<(), AotError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| AotError::Io { path, error }
    };
    match fs::symlink_metadata(out) {
        Ok(m) if m.file_type().is_symlink() => return Err(AotError::LinkInOutput { path: out.to_path_buf() }),
        Ok(m) if !m.is_file() => return Err(AotError::NotAFile { path: out.to_path_buf() }),
        Ok(_) if !overwrite => {
            return Err(AotError::Io { path: out.to_path_buf(), error: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "the file exists; --force replaces it") });
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(AotError::Io { path: out.to_path_buf(), error }),
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let stem = out.file_name().map_or_else(|| "security-config".into(), |n| n.to_string_lossy().into_owned());
    let pid = std::process::id();
    let (temp, mut file) = (0..1000)
        .find_map(|n| {
            let temp = parent.join(format!(".{stem}.warden-export-{pid}-{n}"));
            // create_new: never opens what is there already, link or not.
            match fs::OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => Some(Ok((temp, file))),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
                Err(error) => Some(Err(AotError::Io { path: temp, error })),
            }
        })
        .unwrap_or_else(|| Err(AotError::Io { path: parent.clone(), error: std::io::Error::other("no free name for a temporary file") }))?;
    let written = file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(io(&temp));
    drop(file);
    let done = written.and_then(|()| fs::rename(&temp, out).map_err(io(out)));
    if done.is_err() {
        let _ = fs::remove_file(&temp);
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_objects_lose_the_declaration_and_say_no_namespace() {
        let xml = crate::object_to_xml(&AotObject::Duty(warden_model::Duty {
            name: "D".into(),
            label: None,
            description: None,
            model: None,
            privileges: vec!["P".into()],
            unmodelled: Vec::new(),
        }));
        let e = embedded(&xml, AxType::Duty);
        assert!(e.starts_with("<AxSecurityDuty xmlns=\"\">\n"), "{e}");
        assert!(e.ends_with("</AxSecurityDuty>"), "{e}");
        assert!(!e.contains("<?xml"), "{e}");
    }
}
