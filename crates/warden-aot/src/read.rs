//! Parsing one AOT file into an [`AotObject`].
//!
//! A streaming recursive-descent reader over quick-xml events rather than a DOM:
//! the unknown parts of a file (form overrides, field lists, ...) are skipped
//! without being stored, names are matched as borrowed bytes, and text is
//! borrowed from the input unless it holds entity references.

use crate::{AotError, AotObject, AxType};
use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, BytesText, Event};
use std::borrow::Cow;
use std::fs::File;
use std::io::Read as _;
use std::path::Path;
use warden_model::{
    Access, Duty, DutyExtension, EntryPoint, EntryPointGrant, EntryPointType, Grant, Licence, Permission, Policy,
    ObjectKind, PolicyContextType, Privilege, Role, RoleExtension, TableGrant, Unmodelled, XmlAttribute, XmlElement,
    MAX_KEPT_DEPTH,
};

/// Files above this size are refused unread. The largest standard D365 security
/// file is well under 1 MiB; anything bigger is a mistake or an attack.
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// Elements may nest at most this deep. Real files nest about eight levels;
/// the bound keeps hostile input from driving recursion.
pub const MAX_DEPTH: usize = 64;

/// Something a file says that Warden keeps without interpreting it (or, for
/// the few places where nothing can be kept, drops), worth telling the user.
#[derive(Debug, Clone)]
pub(crate) struct Note {
    pub what: String,
    pub line: usize,
    pub column: usize,
}

pub(crate) struct Parsed {
    pub object: AotObject,
    pub ax_type: AxType,
    pub notes: Vec<Note>,
}

/// Reads and parses one file. `model_name` is stored in the object's `model` field.
pub fn read_file(path: &Path, model_name: Option<&str>) -> Result<AotObject> {
    let bytes = read_bytes(path)?;
    parse_object(path, model_name, &bytes)
}

/// Parses the bytes of one AOT file; `path_for_messages` only names it in errors.
pub fn parse_object(path_for_messages: &Path, model_name: Option<&str>, bytes: &[u8]) -> Result<AotObject> {
    parse(path_for_messages, model_name, bytes).map(|parsed| parsed.object)
}

/// How much of a file is enough to find its root element: AOT files start with
/// the XML declaration and the root start tag.
const SNIFF_SIZE: u64 = 4096;

/// Whether the file's root element is one of ours, judged from its first few KiB
/// so that large unrelated XML (documentation beside assemblies) is not read whole.
pub(crate) fn is_aot_file(path: &Path) -> Result<bool> {
    let file = File::open(path).map_err(|error| AotError::Io { path: path.to_path_buf(), error })?;
    let mut head = Vec::with_capacity(SNIFF_SIZE as usize);
    file.take(SNIFF_SIZE).read_to_end(&mut head).map_err(|error| AotError::Io { path: path.to_path_buf(), error })?;
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    // The prefix may end inside a multi-byte character; the valid part will do.
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
    };
    let mut p = Parser::new(path, valid);
    Ok(p.root().is_ok_and(|root| AxType::from_name(root.name()).is_some()))
}

/// One open, one size check, one read: the size is checked on the open handle
/// and the read is capped, so a file that grows in between cannot slip through.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let io = |error| AotError::Io { path: path.to_path_buf(), error };
    let too_large = |size| AotError::TooLarge { path: path.to_path_buf(), size };
    let file = File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > MAX_FILE_SIZE {
        return Err(too_large(size));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    file.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

pub(crate) fn parse(path: &Path, model: Option<&str>, bytes: &[u8]) -> Result<Parsed> {
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(AotError::TooLarge { path: path.to_path_buf(), size: bytes.len() as u64 });
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(AotError::Parse {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: "the file is UTF-16 encoded, which is not supported: D365 writes AOT files as UTF-8; re-save it as UTF-8".into(),
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let src = match std::str::from_utf8(bytes) {
        Ok(src) => src,
        Err(e) => {
            let at = e.valid_up_to();
            let (line, column) = line_col(bytes, at);
            let byte = bytes.get(at).copied().unwrap_or(0);
            return Err(AotError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message: format!("invalid UTF-8 (byte 0x{byte:02X}): AOT files must be UTF-8"),
            });
        }
    };

    let mut p = Parser::new(path, src);
    let root = p.root()?;
    let Some(ax_type) = AxType::from_name(root.name()) else {
        let expected: Vec<&str> = AxType::ALL.iter().map(|t| t.as_str()).collect();
        return Err(p.err(root.pos, format!("expected one of {}, found <{}>", expected.join(", "), root.display_name())));
    };
    let model = model.map(str::to_string);
    let object = match ax_type {
        AxType::Role => AotObject::Role(p.role(&root, model)?),
        AxType::Duty => AotObject::Duty(p.duty(&root, model)?),
        AxType::Privilege => AotObject::Privilege(p.privilege(&root, model)?),
        AxType::Policy => AotObject::Policy(p.policy(&root, model)?),
        AxType::RoleExtension => AotObject::RoleExtension(p.role_extension(&root, model)?),
        AxType::DutyExtension => AotObject::DutyExtension(p.duty_extension(&root, model)?),
        AxType::MenuItemDisplay => AotObject::MenuItem(p.menu_item(&root, EntryPointType::MenuItemDisplay, model)?),
        AxType::MenuItemAction => AotObject::MenuItem(p.menu_item(&root, EntryPointType::MenuItemAction, model)?),
        AxType::MenuItemOutput => AotObject::MenuItem(p.menu_item(&root, EntryPointType::MenuItemOutput, model)?),
    };
    p.finish()?;
    let mut object = object;
    if !p.attributed.is_empty() {
        object.unmodelled_mut().push(crate::attributes::kept(std::mem::take(&mut p.attributed)));
    }
    Ok(Parsed { object, ax_type, notes: p.notes })
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(src: &[u8], offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    // Count UTF-8 lead bytes only, so a column matches what an editor shows.
    let column = before[line_start..].iter().filter(|&&b| b & 0xC0 != 0x80).count() + 1;
    (line, column)
}

/// An element whose start tag has been read.
struct Element<'a> {
    start: BytesStart<'a>,
    /// Offset of the `<` of the start tag.
    pos: usize,
    /// Offset just after the start tag, where a text value begins.
    inner: usize,
    /// `<Name />`: there is no content and no end tag to consume.
    empty: bool,
}

impl Element<'_> {
    fn name(&self) -> &[u8] {
        self.start.local_name().into_inner()
    }

    fn display_name(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.start.name().into_inner())
    }
}

type Result<T, E = AotError> = std::result::Result<T, E>;

struct Parser<'a, 'p> {
    reader: Reader<&'a [u8]>,
    src: &'a str,
    path: &'p Path,
    /// Offsets of the start tags of the open elements, for depth and for naming
    /// the unclosed element when the file ends early.
    open: Vec<usize>,
    notes: Vec<Note>,
    /// Attributes of read values, kept apart ([`crate::attributes`]).
    attributed: Vec<XmlElement>,
}

impl<'a, 'p> Parser<'a, 'p> {
    fn new(path: &'p Path, src: &'a str) -> Self {
        // The defaults are what we want: end tags are checked, text is not trimmed
        // (labels keep their spaces), a lone `&` is an error.
        Parser { reader: Reader::from_str(src), src, path, open: Vec::with_capacity(16), notes: Vec::new(), attributed: Vec::new() }
    }

    fn err(&self, offset: usize, message: impl Into<String>) -> AotError {
        let (line, column) = line_col(self.src.as_bytes(), offset);
        AotError::Parse { path: self.path.to_path_buf(), line, column, message: message.into() }
    }

    fn note(&mut self, offset: usize, what: String) {
        let (line, column) = line_col(self.src.as_bytes(), offset);
        self.notes.push(Note { what, line, column });
    }

    fn position(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    /// The next event and the offset where it starts.
    fn event(&mut self) -> Result<(usize, Event<'a>)> {
        let pos = self.position();
        match self.reader.read_event() {
            Ok(event) => Ok((pos, event)),
            Err(e) => {
                let at = usize::try_from(self.reader.error_position()).unwrap_or(pos);
                Err(self.err(at, format!("malformed XML: {e}")))
            }
        }
    }

    fn enter(&mut self, pos: usize) -> Result<()> {
        if self.open.len() >= MAX_DEPTH {
            return Err(self.err(pos, format!("elements are nested deeper than {MAX_DEPTH} levels")));
        }
        self.open.push(pos);
        Ok(())
    }

    fn element(&mut self, pos: usize, start: BytesStart<'a>, empty: bool) -> Result<Element<'a>> {
        if empty {
            if self.open.len() >= MAX_DEPTH {
                return Err(self.err(pos, format!("elements are nested deeper than {MAX_DEPTH} levels")));
            }
        } else {
            self.enter(pos)?;
        }
        Ok(Element { start, pos, inner: self.position(), empty })
    }

    fn unexpected_eof(&self, pos: usize) -> AotError {
        match self.open.last() {
            Some(&open) => {
                let name: String = self.src[open + 1..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                    .collect();
                let (line, column) = line_col(self.src.as_bytes(), open);
                self.err(pos, format!("the file ends before <{name}> (opened at {line}:{column}) is closed; is it truncated?"))
            }
            None => self.err(pos, "the file ends unexpectedly; is it truncated?"),
        }
    }

    fn dtd_error(&self, pos: usize) -> AotError {
        self.err(pos, "DTDs are not allowed: AOT files never declare a <!DOCTYPE>, and entity declarations can attack the reader")
    }

    /// Resolves `&...;`. Only the five predefined entities and character
    /// references exist in AOT files; anything else would need a DTD, which we refuse.
    fn resolve_ref(&self, pos: usize, r: &BytesRef<'_>) -> Result<char> {
        let name = String::from_utf8_lossy(r);
        if r.is_char_ref() {
            return match r.resolve_char_ref() {
                Ok(Some(c)) => Ok(c),
                _ => Err(self.err(pos, format!("invalid character reference &{name};"))),
            };
        }
        match &**r {
            b"amp" => Ok('&'),
            b"lt" => Ok('<'),
            b"gt" => Ok('>'),
            b"quot" => Ok('"'),
            b"apos" => Ok('\''),
            _ => Err(self.err(
                pos,
                format!("unknown entity reference &{name};: only &amp; &lt; &gt; &quot; &apos; and character references are allowed"),
            )),
        }
    }

    /// Content we do not look at must still be well-formed and safe.
    fn check_ignored(&self, pos: usize, event: &Event<'a>) -> Result<()> {
        match event {
            Event::GeneralRef(r) => self.resolve_ref(pos, r).map(|_| ()),
            Event::DocType(_) => Err(self.dtd_error(pos)),
            Event::Decl(_) => Err(self.err(pos, "an XML declaration is only allowed at the start of the file")),
            _ => Ok(()),
        }
    }

    /// Everything up to and including the root start tag.
    fn root(&mut self) -> Result<Element<'a>> {
        loop {
            let (pos, event) = self.event()?;
            match event {
                Event::Decl(decl) => {
                    if let Some(encoding) = decl.encoding() {
                        let encoding = encoding.map_err(|e| self.err(pos, format!("malformed XML declaration: {e}")))?;
                        let encoding = String::from_utf8_lossy(&encoding);
                        if !encoding.eq_ignore_ascii_case("utf-8") && !encoding.eq_ignore_ascii_case("utf8") {
                            return Err(self.err(
                                pos,
                                format!("declared encoding {encoding:?} is not supported: AOT files are UTF-8; re-save the file as UTF-8"),
                            ));
                        }
                    }
                }
                Event::Text(text) if is_blank(&text) => {}
                Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => return Err(self.dtd_error(pos)),
                Event::Start(start) => return self.element(pos, start, false),
                Event::Empty(start) => return self.element(pos, start, true),
                Event::Eof => return Err(self.err(pos, "no root element: the file is empty")),
                Event::End(_) => return Err(self.err(pos, "end tag before the root element")),
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(self.err(pos, "text before the root element"));
                }
            }
        }
    }

    /// Everything after the root end tag: only whitespace, comments and processing instructions.
    fn finish(&mut self) -> Result<()> {
        loop {
            let (pos, event) = self.event()?;
            match event {
                Event::Eof => return Ok(()),
                Event::Text(text) if is_blank(&text) => {}
                Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => return Err(self.dtd_error(pos)),
                _ => return Err(self.err(pos, "content after the end of the root element")),
            }
        }
    }

    /// The next child element of the innermost open element, or `None` once its
    /// end tag has been consumed.
    fn next_child(&mut self) -> Result<Option<Element<'a>>> {
        loop {
            let (pos, event) = self.event()?;
            match event {
                Event::Start(start) => return self.element(pos, start, false).map(Some),
                Event::Empty(start) => return self.element(pos, start, true).map(Some),
                Event::End(_) => {
                    self.open.pop();
                    return Ok(None);
                }
                Event::Eof => return Err(self.unexpected_eof(pos)),
                other => self.check_ignored(pos, &other)?,
            }
        }
    }

    /// Consumes events until only `depth` elements are open.
    fn skip_to(&mut self, depth: usize) -> Result<()> {
        while self.open.len() > depth {
            let (pos, event) = self.event()?;
            match event {
                Event::Start(_) => self.enter(pos)?,
                Event::End(_) => {
                    self.open.pop();
                }
                Event::Eof => return Err(self.unexpected_eof(pos)),
                other => self.check_ignored(pos, &other)?,
            }
        }
        Ok(())
    }

    /// Calls `f` for each child element of `parent`. Whatever part of a child `f`
    /// does not read is skipped, so an unknown element needs no code at all.
    fn children<F>(&mut self, parent: &Element<'a>, mut f: F) -> Result<()>
    where
        F: FnMut(&mut Self, Element<'a>) -> Result<()>,
    {
        if parent.empty {
            return Ok(());
        }
        let depth = self.open.len();
        while let Some(child) = self.next_child()? {
            f(self, child)?;
            self.skip_to(depth)?;
        }
        Ok(())
    }

    /// The text content of a leaf element, with entity references resolved and
    /// line ends normalised as XML prescribes (CRLF and CR become LF).
    fn text(&mut self, element: &Element<'a>) -> Result<Cow<'a, str>> {
        let attributes = self.said_attributes(element)?;
        let path = (!attributes.is_empty()).then(|| self.path_of(element));
        let text = self.text_inner(element)?;
        if let Some(path) = path {
            let names: Vec<&str> = attributes.iter().map(|a| a.name.as_str()).collect();
            self.note(element.pos, format!("{path} (attribute{} {} kept)", if names.len() == 1 { "" } else { "s" }, names.join(", ")));
            self.attributed.push(crate::attributes::record(path, &element.display_name(), attributes, &text));
        }
        Ok(text)
    }

    /// The attributes of an element whose value Warden reads that say
    /// something: not namespace declarations, not `i:nil="true"` (D365's "no
    /// value", read as an absent value). They are kept apart ([`crate::attributes`]).
    fn said_attributes(&self, element: &Element<'a>) -> Result<Vec<XmlAttribute>> {
        let mut out = Vec::new();
        for attribute in element.start.attributes() {
            let attribute = attribute.map_err(|e| self.err(element.pos, format!("malformed attribute in <{}>: {e}", element.display_name())))?;
            let name = String::from_utf8_lossy(attribute.key.into_inner()).into_owned();
            let value = attribute
                .unescape_value()
                .map_err(|e| self.err(element.pos, format!("attribute value in <{}>: {e}", element.display_name())))?;
            if name == "xmlns" || name.starts_with("xmlns:") || (name.ends_with(":nil") && value == "true") {
                continue;
            }
            out.push(XmlAttribute { name, value: value.into_owned() });
        }
        Ok(out)
    }

    /// `Duties/AxSecurityDutyReference/Name`: the element's path below the object's root.
    fn path_of(&self, element: &Element<'a>) -> String {
        let name_at = |pos: usize| {
            let rest = self.src.get(pos + 1..).unwrap_or_default();
            rest[..rest.find(|c: char| c.is_whitespace() || c == '/' || c == '>').unwrap_or(rest.len())].to_string()
        };
        let mut names: Vec<String> = self.open.iter().skip(1).filter(|&&pos| pos != element.pos).map(|&pos| name_at(pos)).collect();
        names.push(element.display_name().into_owned());
        names.join("/")
    }

    fn text_inner(&mut self, element: &Element<'a>) -> Result<Cow<'a, str>> {
        if element.empty {
            return Ok(Cow::Borrowed(""));
        }
        let mut out: Cow<'a, str> = Cow::Borrowed("");
        loop {
            let (pos, event) = self.event()?;
            match event {
                Event::Text(text) => append(&mut out, self.decode(pos, text.into_inner())?),
                Event::CData(data) => append(&mut out, self.decode(pos, data.into_inner())?),
                Event::GeneralRef(r) => {
                    let c = self.resolve_ref(pos, &r)?;
                    out.to_mut().push(c);
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::End(_) => {
                    self.open.pop();
                    return Ok(out);
                }
                Event::Start(start) | Event::Empty(start) => {
                    let inner = String::from_utf8_lossy(start.name().into_inner()).into_owned();
                    return Err(self.err(pos, format!("unexpected element <{inner}> inside <{}>, which holds text", element.display_name())));
                }
                Event::Eof => return Err(self.unexpected_eof(pos)),
                Event::DocType(_) => return Err(self.dtd_error(pos)),
                Event::Decl(_) => return Err(self.err(pos, "an XML declaration is only allowed at the start of the file")),
            }
        }
    }

    fn decode(&self, pos: usize, raw: Cow<'a, [u8]>) -> Result<Cow<'a, str>> {
        let text = match raw {
            Cow::Borrowed(bytes) => Cow::Borrowed(std::str::from_utf8(bytes).map_err(|_| self.err(pos, "invalid UTF-8"))?),
            Cow::Owned(bytes) => Cow::Owned(String::from_utf8(bytes).map_err(|_| self.err(pos, "invalid UTF-8"))?),
        };
        if text.contains('\r') {
            Ok(Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n")))
        } else {
            Ok(text)
        }
    }

    /// A name or other identifier: surrounding whitespace is not part of it.
    fn ident(&mut self, element: &Element<'a>) -> Result<String> {
        Ok(self.text(element)?.trim().to_string())
    }

    /// The name of an object of `kind`, or of one it references: an
    /// identifier that meets Warden's one rule for ids
    /// ([`warden_model::validate_id`]); empty is left to the caller.
    fn name(&mut self, element: &Element<'a>, kind: ObjectKind) -> Result<String> {
        let text = self.ident(element)?;
        if !text.is_empty() {
            warden_model::validate_id(kind, &text).map_err(|e| self.err(element.inner, format!("<{}>: {e}", element.display_name())))?;
        }
        Ok(text)
    }

    /// The `<Name>` of the object a file holds: a name ([`Self::name`]). The
    /// name rule of security objects already makes it a file name, as export
    /// writes it to `<Name>.xml`; the API and the command line apply the same
    /// rule ([`warden_model::validate_id`]), so what one entrance takes the others take.
    fn object_name(&mut self, element: &Element<'a>, kind: ObjectKind) -> Result<String> {
        self.name(element, kind)
    }

    fn opt_name(&mut self, element: &Element<'a>, kind: ObjectKind) -> Result<Option<String>> {
        let text = self.name(element, kind)?;
        Ok(if text.is_empty() { None } else { Some(text) })
    }

    /// A label, description or help text: kept verbatim; empty means absent.
    fn opt_text(&mut self, element: &Element<'a>) -> Result<Option<String>> {
        let text = self.text(element)?;
        Ok(if text.is_empty() { None } else { Some(text.into_owned()) })
    }

    fn opt_ident(&mut self, element: &Element<'a>) -> Result<Option<String>> {
        let text = self.ident(element)?;
        Ok(if text.is_empty() { None } else { Some(text) })
    }

    /// A value parsed with `FromStr`; errors point at the value.
    fn value<T>(&mut self, element: &Element<'a>) -> Result<T>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        let text = self.text(element)?;
        text.trim()
            .parse()
            .map_err(|e| self.err(element.inner, format!("<{}>: {e}", element.display_name())))
    }

    fn yes_no(&mut self, element: &Element<'a>) -> Result<bool> {
        let text = self.text(element)?;
        match text.trim() {
            "Yes" => Ok(true),
            "No" => Ok(false),
            other => Err(self.err(element.inner, format!("invalid value {other:?} in <{}>: expected Yes or No", element.display_name()))),
        }
    }

    fn require_name(&self, root: &Element<'a>, name: &str) -> Result<()> {
        if name.is_empty() {
            return Err(self.err(root.pos, format!("<{}> has no <Name>", root.display_name())));
        }
        Ok(())
    }

    /// Reads `element` (its start tag already read) and everything in it into
    /// a tree, as [`Unmodelled`] keeps it.
    fn element_tree(&mut self, element: &Element<'a>) -> Result<XmlElement> {
        let mut out = XmlElement::new(element.display_name());
        for attribute in element.start.attributes() {
            let attribute = attribute.map_err(|e| self.err(element.pos, format!("malformed attribute in <{}>: {e}", element.display_name())))?;
            let value = attribute
                .unescape_value()
                .map_err(|e| self.err(element.pos, format!("attribute value in <{}>: {e}", element.display_name())))?;
            out.attributes.push(XmlAttribute { name: String::from_utf8_lossy(attribute.key.into_inner()).into_owned(), value: value.into_owned() });
        }
        if element.empty {
            return Ok(out);
        }
        let mut text: Cow<'a, str> = Cow::Borrowed("");
        loop {
            let (pos, event) = self.event()?;
            match event {
                Event::Start(start) => {
                    let child = self.element(pos, start, false)?;
                    out.children.push(self.element_tree(&child)?);
                }
                Event::Empty(start) => {
                    let child = self.element(pos, start, true)?;
                    out.children.push(self.element_tree(&child)?);
                }
                Event::Text(t) => append(&mut text, self.decode(pos, t.into_inner())?),
                Event::CData(d) => append(&mut text, self.decode(pos, d.into_inner())?),
                Event::GeneralRef(r) => {
                    let c = self.resolve_ref(pos, &r)?;
                    text.to_mut().push(c);
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::End(_) => {
                    self.open.pop();
                    break;
                }
                Event::Eof => return Err(self.unexpected_eof(pos)),
                Event::DocType(_) => return Err(self.dtd_error(pos)),
                Event::Decl(_) => return Err(self.err(pos, "an XML declaration is only allowed at the start of the file")),
            }
        }
        // Whitespace between child elements is layout, not content.
        if !text.is_empty() && (out.children.is_empty() || !text.trim().is_empty()) {
            out.text = Some(text.into_owned());
        }
        Ok(out)
    }

    /// Keeps `field`, which the caller does not interpret, with its object, and
    /// notes it (`path` is where it sits, e.g. `AxSecurityRole`). An empty
    /// element (`<Forms />`) says nothing and is not kept: D365 reads it as absent.
    fn keep(&mut self, field: &Element<'a>, path: &str, kept: &mut Kept) -> Result<()> {
        let element = self.element_tree(field)?;
        if element.depth() > MAX_KEPT_DEPTH {
            return Err(self.err(field.pos, format!("<{}> nests deeper than {MAX_KEPT_DEPTH} levels, more than Warden keeps", element.name)));
        }
        if element.is_empty() {
            return Ok(());
        }
        self.note(field.pos, format!("{path}/{}", element.name));
        kept.push(element);
        Ok(())
    }


    /// Notes, at the grant's element, each control or field grant kept with
    /// it that checks cannot read as written.
    fn note_part_problems(&mut self, element: &Element<'a>, grant: &EntryPointGrant) {
        for problem in grant.part_grant_problems() {
            self.note(element.pos, format!("{PART}{problem}"));
        }
    }

    /// Notes an element that Warden can neither interpret nor keep where it is.
    fn drop_noted(&mut self, field: &Element<'a>, path: &str) {
        let name = field.display_name().into_owned();
        self.note(field.pos, format!("{DROPPED}{path}/{name}"));
    }

    /// `<Duties><AxSecurityDutyReference><Name>X</Name></AxSecurityDutyReference>...`
    /// Other elements in the list are kept in `kept` (placed within the list);
    /// so is a reference holding more than its name, whole: a *reference as
    /// written* ([`warden_model::reference_as_written`]), which export writes
    /// in the reference's place.
    fn references(&mut self, list: &Element<'a>, item: &[u8], kind: ObjectKind, kept: &mut Vec<Unmodelled>) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut written = Vec::new();
        let list_name = list.display_name().into_owned();
        let mut within = Kept::within(&list_name);
        self.children(list, |p, reference| {
            if reference.name() != item {
                p.keep(&reference, &list_name, &mut within)?;
                return Ok(());
            }
            within.advance(&reference);
            let mut name = String::new();
            let mut extra = false;
            let mut tree = XmlElement::new(reference.display_name());
            let path = format!("{list_name}/{}", reference.display_name());
            p.children(&reference, |p, field| {
                if field.name() == b"Name" {
                    name = p.name(&field, kind)?;
                    tree.children.push(XmlElement { text: Some(name.clone()), ..XmlElement::new("Name") });
                } else {
                    let child = p.element_tree(&field)?;
                    p.note(field.pos, format!("{path}/{}", child.name));
                    tree.children.push(child);
                    extra = true;
                }
                Ok(())
            })?;
            if name.is_empty() {
                return Err(p.err(reference.pos, format!("<{}> has no <Name>", reference.display_name())));
            }
            if extra {
                // Kept whole, as written: the writer puts it back in the reference's place.
                if tree.depth() > MAX_KEPT_DEPTH {
                    return Err(p.err(reference.pos, format!("<{}> nests deeper than {MAX_KEPT_DEPTH} levels, more than Warden keeps", tree.name)));
                }
                written.push(Unmodelled { within: Some(list_name.clone()), after: None, element: tree });
            }
            names.push(name);
            Ok(())
        })?;
        kept.append(&mut written);
        kept.append(&mut within.list);
        Ok(names)
    }

    /// `<Grant><Read>Allow</Read>...</Grant>`; D365 omits unset permissions but
    /// `Unset` is accepted as their explicit spelling.
    fn grant(&mut self, element: &Element<'a>) -> Result<Grant> {
        let mut grant = Grant::default();
        self.children(element, |p, field| {
            let access = match field.name() {
                b"Read" => Access::Read,
                b"Update" => Access::Update,
                b"Create" => Access::Create,
                b"Correct" => Access::Correct,
                b"Delete" => Access::Delete,
                b"Invoke" => Access::Invoke,
                _ => {
                    p.drop_noted(&field, "Grant");
                    return Ok(());
                }
            };
            let text = p.text(&field)?;
            let permission = match text.trim() {
                "Allow" => Some(Permission::Allow),
                "Deny" => Some(Permission::Deny),
                "Unset" | "" => None,
                other => {
                    return Err(p.err(
                        field.inner,
                        format!("invalid value {other:?} in <{access}> of <{}>: expected Allow, Deny or Unset", element.display_name()),
                    ));
                }
            };
            grant.set(access, permission);
            Ok(())
        })?;
        Ok(grant)
    }

    fn role(&mut self, root: &Element<'a>, model: Option<String>) -> Result<Role> {
        let mut role = Role::new(String::new());
        role.model = model;
        let mut kept = Kept::default();
        self.children(root, |p, field| {
            match field.name() {
                b"Name" => role.name = p.object_name(&field, ObjectKind::Role)?,
                b"Label" => role.label = p.opt_text(&field)?,
                b"Description" => role.description = p.opt_text(&field)?,
                b"Duties" => role.duties = p.references(&field, b"AxSecurityDutyReference", ObjectKind::Duty, &mut kept.list)?,
                b"Privileges" => role.privileges = p.references(&field, b"AxSecurityPrivilegeReference", ObjectKind::Privilege, &mut kept.list)?,
                b"SubRoles" => role.sub_roles = p.references(&field, b"AxSecurityRoleReference", ObjectKind::Role, &mut kept.list)?,
                _ => p.keep(&field, "AxSecurityRole", &mut kept)?,
            }
            let emitted = match field.name() {
                b"Label" => role.label.is_some(),
                b"Description" => role.description.is_some(),
                b"Name" | b"Duties" | b"Privileges" | b"SubRoles" => true,
                _ => false,
            };
            if emitted {
                kept.advance(&field);
            }
            Ok(())
        })?;
        self.require_name(root, &role.name)?;
        role.unmodelled = kept.list;
        Ok(role)
    }

    fn duty(&mut self, root: &Element<'a>, model: Option<String>) -> Result<Duty> {
        let mut duty = Duty { name: String::new(), label: None, description: None, model, privileges: Vec::new(), unmodelled: Vec::new() };
        let mut kept = Kept::default();
        self.children(root, |p, field| {
            match field.name() {
                b"Name" => duty.name = p.object_name(&field, ObjectKind::Duty)?,
                b"Label" => duty.label = p.opt_text(&field)?,
                b"Description" => duty.description = p.opt_text(&field)?,
                b"Privileges" => duty.privileges = p.references(&field, b"AxSecurityPrivilegeReference", ObjectKind::Privilege, &mut kept.list)?,
                _ => p.keep(&field, "AxSecurityDuty", &mut kept)?,
            }
            let emitted = match field.name() {
                b"Label" => duty.label.is_some(),
                b"Description" => duty.description.is_some(),
                b"Name" | b"Privileges" => true,
                _ => false,
            };
            if emitted {
                kept.advance(&field);
            }
            Ok(())
        })?;
        self.require_name(root, &duty.name)?;
        duty.unmodelled = kept.list;
        Ok(duty)
    }

    fn privilege(&mut self, root: &Element<'a>, model: Option<String>) -> Result<Privilege> {
        let mut privilege = Privilege {
            name: String::new(),
            label: None,
            description: None,
            model,
            entry_points: Vec::new(),
            direct_access: Vec::new(),
            unmodelled: Vec::new(),
        };
        let mut kept = Kept::default();
        self.children(root, |p, field| {
            match field.name() {
                b"Name" => privilege.name = p.object_name(&field, ObjectKind::Privilege)?,
                b"Label" => privilege.label = p.opt_text(&field)?,
                b"Description" => privilege.description = p.opt_text(&field)?,
                b"EntryPoints" => {
                    let mut within = Kept::within("EntryPoints");
                    p.children(&field, |p, item| {
                        if item.name() == b"AxSecurityEntryPointReference" {
                            match p.entry_point_reference(&item)? {
                                Reference::Grant(grant) => {
                                    p.note_part_problems(&item, &grant);
                                    privilege.entry_points.push(grant);
                                    within.advance(&item);
                                }
                                Reference::Unknown(element) => within.push(element),
                            }
                        } else {
                            p.keep(&item, "AxSecurityPrivilege/EntryPoints", &mut within)?;
                        }
                        Ok(())
                    })?;
                    kept.list.append(&mut within.list);
                }
                b"DataEntityPermissions" => {
                    let mut within = Kept::within("DataEntityPermissions");
                    p.children(&field, |p, item| {
                        if item.name() == b"AxSecurityDataEntityPermission" {
                            let (name, grant, unmodelled) = p.named_grant(&item, "AxSecurityPrivilege/DataEntityPermissions/AxSecurityDataEntityPermission", Some(ObjectKind::EntryPoint))?;
                            let grant = EntryPointGrant { name: name.clone(), kind: EntryPointType::DataEntity, object: name, child: None, grant, unmodelled };
                            p.note_part_problems(&item, &grant);
                            privilege.entry_points.push(grant);
                            within.advance(&item);
                        } else {
                            p.keep(&item, "AxSecurityPrivilege/DataEntityPermissions", &mut within)?;
                        }
                        Ok(())
                    })?;
                    kept.list.append(&mut within.list);
                }
                b"DirectAccessPermissions" => {
                    let mut within = Kept::within("DirectAccessPermissions");
                    p.children(&field, |p, item| {
                        if item.name() == b"AxSecurityDataEntityReference" {
                            let (table, grant, unmodelled) = p.named_grant(&item, "AxSecurityPrivilege/DirectAccessPermissions/AxSecurityDataEntityReference", None)?;
                            privilege.direct_access.push(TableGrant { table, grant, unmodelled });
                            within.advance(&item);
                        } else {
                            p.keep(&item, "AxSecurityPrivilege/DirectAccessPermissions", &mut within)?;
                        }
                        Ok(())
                    })?;
                    kept.list.append(&mut within.list);
                }
                _ => p.keep(&field, "AxSecurityPrivilege", &mut kept)?,
            }
            let emitted = match field.name() {
                b"Label" => privilege.label.is_some(),
                b"Description" => privilege.description.is_some(),
                b"Name" | b"DataEntityPermissions" | b"DirectAccessPermissions" | b"EntryPoints" => true,
                _ => false,
            };
            if emitted {
                kept.advance(&field);
            }
            Ok(())
        })?;
        self.require_name(root, &privilege.name)?;
        privilege.unmodelled = kept.list;
        Ok(privilege)
    }

    /// One `AxSecurityEntryPointReference`. One whose `ObjectType` is none of
    /// the five entry point types Warden checks is kept whole and noted: the
    /// import goes on, export writes it back, and checks cannot name it, so deny.
    fn entry_point_reference(&mut self, element: &Element<'a>) -> Result<Reference> {
        const PATH: &str = "AxSecurityPrivilege/EntryPoints/AxSecurityEntryPointReference";
        let mut name = None;
        let mut object = None;
        let mut child = None;
        let mut kind = None;
        let mut unknown_kind = None;
        let mut grant = Grant::default();
        let mut kept = Kept::default();
        self.children(element, |p, field| {
            match field.name() {
                b"Name" => name = p.opt_name(&field, ObjectKind::EntryPoint)?,
                b"Grant" => grant = p.grant(&field)?,
                b"ObjectName" => object = p.opt_name(&field, ObjectKind::EntryPoint)?,
                b"ObjectChildName" => child = p.opt_name(&field, ObjectKind::EntryPoint)?,
                b"ObjectType" => {
                    let text = p.ident(&field)?;
                    match text.parse::<EntryPointType>() {
                        Ok(k) => kind = Some(k),
                        Err(_) => unknown_kind = Some((text, field.pos)),
                    }
                }
                _ => p.keep(&field, PATH, &mut kept)?,
            }
            let emitted = match field.name() {
                b"Grant" => !grant.allow.union(grant.deny).is_empty(),
                b"ObjectChildName" => child.is_some(),
                b"ObjectType" => kind.is_some(),
                b"Name" | b"ObjectName" => true,
                _ => false,
            };
            if emitted {
                kept.advance(&field);
            }
            Ok(())
        })?;
        if let Some((text, pos)) = unknown_kind {
            // Read the element again, whole, from its text: it has parsed once already.
            let end = self.position().min(self.src.len());
            let mut again = Parser::new(self.path, &self.src[element.pos..end]);
            let root = again.root()?;
            let tree = again.element_tree(&root)?;
            let expected: Vec<&str> = EntryPointType::ALL.iter().map(|t| t.as_str()).collect();
            self.note(
                pos,
                format!(
                    "{KEPT}{PATH} with an <ObjectType> {text:?} that Warden does not check (it checks {}): kept for export; checks on it deny",
                    expected.join(", ")
                ),
            );
            return Ok(Reference::Unknown(tree));
        }
        let Some(object) = object else {
            return Err(self.err(element.pos, "<AxSecurityEntryPointReference> has no <ObjectName>"));
        };
        let Some(kind) = kind else {
            return Err(self.err(element.pos, format!("<AxSecurityEntryPointReference> {object} has no <ObjectType>")));
        };
        // D365 always writes the reference's own Name; the object's name is the natural stand-in.
        let name = name.unwrap_or_else(|| object.clone());
        Ok(Reference::Grant(EntryPointGrant { name, kind, object, child, grant, unmodelled: kept.list }))
    }

    /// `AxSecurityDataEntityPermission` and `AxSecurityDataEntityReference`: a
    /// Name and a Grant; the rest (field and method grants, date-effective
    /// grants) is kept.
    /// `kind`: what the name names, when Warden keys an object by it (a data entity).
    fn named_grant(&mut self, element: &Element<'a>, path: &str, kind: Option<ObjectKind>) -> Result<(String, Grant, Vec<Unmodelled>)> {
        let mut name = None;
        let mut grant = Grant::default();
        let mut kept = Kept::default();
        self.children(element, |p, field| {
            match field.name() {
                b"Name" => {
                    name = match kind {
                        Some(kind) => p.opt_name(&field, kind)?,
                        None => p.opt_ident(&field)?,
                    }
                }
                b"Grant" => grant = p.grant(&field)?,
                _ => p.keep(&field, path, &mut kept)?,
            }
            let emitted = match field.name() {
                b"Grant" => !grant.allow.union(grant.deny).is_empty(),
                b"Name" => true,
                _ => false,
            };
            if emitted {
                kept.advance(&field);
            }
            Ok(())
        })?;
        match name {
            Some(name) => Ok((name, grant, kept.list)),
            None => Err(self.err(element.pos, format!("<{}> has no <Name>", element.display_name()))),
        }
    }

    fn role_extension(&mut self, root: &Element<'a>, model: Option<String>) -> Result<RoleExtension> {
        let mut ext = RoleExtension {
            name: String::new(),
            target: String::new(),
            model,
            duties: Vec::new(),
            privileges: Vec::new(),
            sub_roles: Vec::new(),
            unmodelled: Vec::new(),
        };
        let mut kept = Kept::default();
        self.children(root, |p, field| {
            match field.name() {
                b"Name" => ext.name = p.object_name(&field, ObjectKind::RoleExtension)?,
                b"Duties" => ext.duties = p.references(&field, b"AxSecurityDutyReference", ObjectKind::Duty, &mut kept.list)?,
                b"Privileges" => ext.privileges = p.references(&field, b"AxSecurityPrivilegeReference", ObjectKind::Privilege, &mut kept.list)?,
                b"SubRoles" => ext.sub_roles = p.references(&field, b"AxSecurityRoleReference", ObjectKind::Role, &mut kept.list)?,
                _ => p.keep(&field, "AxSecurityRoleExtension", &mut kept)?,
            }
            let emitted = match field.name() {
                b"SubRoles" => !ext.sub_roles.is_empty(),
                b"Name" | b"Duties" | b"Privileges" => true,
                _ => false,
            };
            if emitted {
                kept.advance(&field);
            }
            Ok(())
        })?;
        self.require_name(root, &ext.name)?;
        ext.target = RoleExtension::target_of(&ext.name).to_string();
        ext.unmodelled = kept.list;
        Ok(ext)
    }

    fn duty_extension(&mut self, root: &Element<'a>, model: Option<String>) -> Result<DutyExtension> {
        let mut ext = DutyExtension { name: String::new(), target: String::new(), model, privileges: Vec::new(), unmodelled: Vec::new() };
        let mut kept = Kept::default();
        self.children(root, |p, field| {
            match field.name() {
                b"Name" => ext.name = p.object_name(&field, ObjectKind::DutyExtension)?,
                b"Privileges" => ext.privileges = p.references(&field, b"AxSecurityPrivilegeReference", ObjectKind::Privilege, &mut kept.list)?,
                _ => p.keep(&field, "AxSecurityDutyExtension", &mut kept)?,
            }
            if matches!(field.name(), b"Name" | b"Privileges") {
                kept.advance(&field);
            }
            Ok(())
        })?;
        self.require_name(root, &ext.name)?;
        // Same `Target.Suffix` convention as role extensions.
        ext.target = RoleExtension::target_of(&ext.name).to_string();
        ext.unmodelled = kept.list;
        Ok(ext)
    }

    fn policy(&mut self, root: &Element<'a>, model: Option<String>) -> Result<Policy> {
        let mut policy = Policy {
            name: String::new(),
            label: None,
            description: None,
            model,
            primary_table: String::new(),
            query: String::new(),
            // D365 omits ContextType when it is the first value of its enum.
            context_type: PolicyContextType::ContextString,
            context_string: None,
            role_name: None,
            constrained_tables: Vec::new(),
            operation: None,
            // Policies without an Enabled property are in force.
            enabled: true,
            unmodelled: Vec::new(),
        };
        let mut constrains_primary = false;
        let mut constrained_tree = None;
        let mut kept = Kept::default();
        self.children(root, |p, field| {
            match field.name() {
                b"Name" => policy.name = p.object_name(&field, ObjectKind::Policy)?,
                b"Label" => policy.label = p.opt_text(&field)?,
                b"Description" => policy.description = p.opt_text(&field)?,
                b"PrimaryTable" => policy.primary_table = p.ident(&field)?,
                b"Query" => policy.query = p.ident(&field)?,
                b"ContextType" => policy.context_type = p.value(&field)?,
                b"ContextString" => policy.context_string = p.opt_ident(&field)?,
                b"RoleName" => policy.role_name = p.opt_name(&field, ObjectKind::Role)?,
                b"Operation" => policy.operation = p.opt_ident(&field)?,
                b"Enabled" => policy.enabled = p.yes_no(&field)?,
                b"ConstrainedTable" => constrains_primary = p.yes_no(&field)?,
                b"ConstrainedTables" => {
                    // The model holds the tables the policy filters, flat; the
                    // tree (relations, expressions, nesting) is kept whole.
                    let tree = p.element_tree(&field)?;
                    if tree.depth() > MAX_KEPT_DEPTH {
                        return Err(p.err(field.pos, format!("<ConstrainedTables> nests deeper than {MAX_KEPT_DEPTH} levels, more than Warden keeps")));
                    }
                    policy.constrained_tables = crate::constrained_table_names(&tree)
                        .map_err(|()| p.err(field.pos, "an <AxSecurityPolicyConstrainedEntity> in <ConstrainedTables> has no <Name>"))?;
                    if !tree.is_empty() {
                        constrained_tree = Some(tree);
                    }
                }
                _ => p.keep(&field, "AxSecurityPolicy", &mut kept)?,
            }
            if let Some(tree) = constrained_tree.take() {
                kept.push(tree);
            }
            let emitted = match field.name() {
                b"Label" => policy.label.is_some(),
                b"Description" => policy.description.is_some(),
                b"ContextString" => policy.context_string.is_some(),
                b"RoleName" => policy.role_name.is_some(),
                b"Operation" => policy.operation.is_some(),
                b"ContextType" => policy.context_type != PolicyContextType::ContextString,
                b"ConstrainedTable" => constrains_primary,
                b"Name" | b"Enabled" | b"PrimaryTable" | b"Query" | b"ConstrainedTables" => true,
                _ => false,
            };
            if emitted {
                kept.advance(&field);
            }
            Ok(())
        })?;
        self.require_name(root, &policy.name)?;
        if policy.primary_table.is_empty() {
            return Err(self.err(root.pos, format!("<AxSecurityPolicy> {} has no <PrimaryTable>", policy.name)));
        }
        if policy.query.is_empty() {
            return Err(self.err(root.pos, format!("<AxSecurityPolicy> {} has no <Query>", policy.name)));
        }
        // The model has no flag for `ConstrainedTable` (the policy filters its
        // primary table too); listing the primary table among the constrained
        // tables says the same thing, and the writer turns it back into the flag.
        if constrains_primary {
            policy.constrained_tables.insert(0, policy.primary_table.clone());
        }
        let mut seen = std::collections::HashSet::new();
        policy.constrained_tables.retain(|t| seen.insert(t.to_lowercase()));
        // A tree that says no more than the flat list is not kept: the writer
        // writes the list just so.
        let others = policy.constrained_tables.iter().filter(|t| !t.eq_ignore_ascii_case(&policy.primary_table)).map(String::as_str);
        let flat = crate::flat_constrained_tables(others);
        kept.list.retain(|u| !(u.within.is_none() && u.element == flat));
        policy.unmodelled = kept.list;
        Ok(policy)
    }

    fn menu_item(&mut self, root: &Element<'a>, kind: EntryPointType, model: Option<String>) -> Result<EntryPoint> {
        let mut item = EntryPoint {
            kind,
            name: String::new(),
            label: None,
            help_text: None,
            object: None,
            object_type: None,
            view_licence: Licence::None,
            maintain_licence: Licence::None,
            model,
            unmodelled: Vec::new(),
        };
        let path = kind_root(kind);
        let mut kept = Kept::default();
        self.children(root, |p, field| {
            match field.name() {
                b"Name" => item.name = p.object_name(&field, ObjectKind::EntryPoint)?,
                b"Label" => item.label = p.opt_text(&field)?,
                b"HelpText" => item.help_text = p.opt_text(&field)?,
                b"Object" => item.object = p.opt_ident(&field)?,
                b"ObjectType" => item.object_type = p.opt_ident(&field)?,
                b"ViewUserLicense" => item.view_licence = p.value(&field)?,
                b"MaintainUserLicense" => item.maintain_licence = p.value(&field)?,
                _ => p.keep(&field, path, &mut kept)?,
            }
            let emitted = match field.name() {
                b"Label" => item.label.is_some(),
                b"HelpText" => item.help_text.is_some(),
                b"Object" => item.object.is_some(),
                b"ObjectType" => item.object_type.is_some(),
                b"ViewUserLicense" => item.view_licence != Licence::None,
                b"MaintainUserLicense" => item.maintain_licence != Licence::None,
                b"Name" => true,
                _ => false,
            };
            if emitted {
                kept.advance(&field);
            }
            Ok(())
        })?;
        self.require_name(root, &item.name)?;
        item.unmodelled = kept.list;
        Ok(item)
    }
}

fn kind_root(kind: EntryPointType) -> &'static str {
    AxType::of_entry_point(kind).map_or("AxMenuItem", AxType::as_str)
}

/// What an `AxSecurityEntryPointReference` turned out to be.
enum Reference {
    Grant(EntryPointGrant),
    /// An entry point type Warden does not check, kept whole.
    Unknown(XmlElement),
}

/// The elements of one parent that the reader keeps, and the name of the
/// sibling seen last, which the next kept element is placed after.
#[derive(Default)]
struct Kept {
    list: Vec<Unmodelled>,
    prev: Option<String>,
    within: Option<String>,
}

impl Kept {
    /// For the items of a collection (`EntryPoints`, `Duties`, ...) of the object.
    fn within(list: &str) -> Kept {
        Kept { within: Some(list.to_string()), ..Kept::default() }
    }

    /// `field`, which the writer writes too, is what the next kept element
    /// follows. Only such elements (and kept ones) are anchors, so that the
    /// writer finds each anchor and a re-import reads the same ones back.
    fn advance(&mut self, field: &Element<'_>) {
        self.prev = Some(field.display_name().into_owned());
    }

    /// Keeps `element`, which the next kept element then follows.
    fn push(&mut self, element: XmlElement) {
        let name = element.name.clone();
        self.list.push(Unmodelled { within: self.within.clone(), after: self.prev.replace(name), element });
    }
}

/// A note starting with this names what Warden drops; one starting with
/// [`KEPT`] says what is kept in words of its own; any other note is the
/// path of an element kept for export and not interpreted.
pub(crate) const DROPPED: &str = "dropped (Warden can neither interpret nor keep it there): ";
pub(crate) const KEPT: &str = "kept: ";
/// A control or field grant that checks cannot read as written (see `EntryPointGrant::part_grant_problems`).
pub(crate) const PART: &str = "control or field grant, kept for export: ";

/// The warning for a note: kept elements are said to be kept (and whether
/// checks read them), other notes stand as written.
pub(crate) fn warning_for(what: String) -> String {
    if what.starts_with(DROPPED) || what.starts_with(KEPT) || what.starts_with(PART) {
        what
    } else if what.ends_with("/AxSecurityEntryPointReference/Forms") || what.ends_with("/AxSecurityDataEntityPermission/Fields") {
        format!("element(s) kept for export, whose control and field grants checks read (check --control/--field), at {what}")
    } else {
        format!("element(s) kept for export but not interpreted by Warden (checks do not see them), at {what}")
    }
}

fn is_blank(text: &BytesText<'_>) -> bool {
    text.iter().all(u8::is_ascii_whitespace)
}

fn append<'a>(out: &mut Cow<'a, str>, piece: Cow<'a, str>) {
    if out.is_empty() {
        *out = piece;
    } else {
        out.to_mut().push_str(&piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let src = "ab\nçd\r\nef".as_bytes();
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 3), (2, 1));
        // "ç" is two bytes but one column.
        assert_eq!(line_col(src, 5), (2, 2));
        assert_eq!(line_col(src, 8), (3, 1));
        assert_eq!(line_col(src, 1000), (3, 3));
    }

    #[test]
    fn text_keeps_spaces_and_normalises_line_ends() {
        let xml = "<AxSecurityDuty><Name> D </Name><Label> a &amp; b\r\nc&#13;</Label></AxSecurityDuty>";
        let AotObject::Duty(duty) = parse_object(Path::new("d.xml"), None, xml.as_bytes()).expect("parses") else {
            panic!("not a duty")
        };
        assert_eq!(duty.name, "D");
        assert_eq!(duty.label.as_deref(), Some(" a & b\nc\r"));
    }
}
