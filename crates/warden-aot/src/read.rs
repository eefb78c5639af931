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
    ObjectKind, PolicyContextType, Privilege, Role, RoleExtension, TableGrant,
};

/// Files above this size are refused unread. The largest standard D365 security
/// file is well under 1 MiB; anything bigger is a mistake or an attack.
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// Elements may nest at most this deep. Real files nest about eight levels;
/// the bound keeps hostile input from driving recursion.
pub const MAX_DEPTH: usize = 64;

/// Something a file says that Warden does not import, worth telling the user once.
#[derive(Debug, Clone)]
pub(crate) struct Note {
    pub what: &'static str,
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
}

impl<'a, 'p> Parser<'a, 'p> {
    fn new(path: &'p Path, src: &'a str) -> Self {
        // The defaults are what we want: end tags are checked, text is not trimmed
        // (labels keep their spaces), a lone `&` is an error.
        Parser { reader: Reader::from_str(src), src, path, open: Vec::with_capacity(16), notes: Vec::new() }
    }

    fn err(&self, offset: usize, message: impl Into<String>) -> AotError {
        let (line, column) = line_col(self.src.as_bytes(), offset);
        AotError::Parse { path: self.path.to_path_buf(), line, column, message: message.into() }
    }

    fn note(&mut self, offset: usize, what: &'static str) {
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

    /// Records `what` if the element has any child element.
    fn note_if_used(&mut self, element: &Element<'a>, what: &'static str) -> Result<()> {
        let mut used = false;
        self.children(element, |_, _| {
            used = true;
            Ok(())
        })?;
        if used {
            self.note(element.pos, what);
        }
        Ok(())
    }

    /// `<Duties><AxSecurityDutyReference><Name>X</Name></AxSecurityDutyReference>...`
    fn references(&mut self, list: &Element<'a>, item: &[u8], kind: ObjectKind) -> Result<Vec<String>> {
        let mut names = Vec::new();
        self.children(list, |p, reference| {
            if reference.name() != item {
                return Ok(());
            }
            let mut name = String::new();
            p.children(&reference, |p, field| {
                if field.name() == b"Name" {
                    name = p.name(&field, kind)?;
                }
                Ok(())
            })?;
            if name.is_empty() {
                return Err(p.err(reference.pos, format!("<{}> has no <Name>", reference.display_name())));
            }
            names.push(name);
            Ok(())
        })?;
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
                _ => return Ok(()),
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
        self.children(root, |p, field| {
            match field.name() {
                b"Name" => role.name = p.name(&field, ObjectKind::Role)?,
                b"Label" => role.label = p.opt_text(&field)?,
                b"Description" => role.description = p.opt_text(&field)?,
                b"Duties" => role.duties = p.references(&field, b"AxSecurityDutyReference", ObjectKind::Duty)?,
                b"Privileges" => role.privileges = p.references(&field, b"AxSecurityPrivilegeReference", ObjectKind::Privilege)?,
                b"SubRoles" => role.sub_roles = p.references(&field, b"AxSecurityRoleReference", ObjectKind::Role)?,
                b"DirectAccessPermissions" => p.note_if_used(&field, NOTE_ROLE_DIRECT_ACCESS)?,
                _ => {}
            }
            Ok(())
        })?;
        self.require_name(root, &role.name)?;
        Ok(role)
    }

    fn duty(&mut self, root: &Element<'a>, model: Option<String>) -> Result<Duty> {
        let mut duty = Duty { name: String::new(), label: None, description: None, model, privileges: Vec::new() };
        self.children(root, |p, field| {
            match field.name() {
                b"Name" => duty.name = p.name(&field, ObjectKind::Duty)?,
                b"Label" => duty.label = p.opt_text(&field)?,
                b"Description" => duty.description = p.opt_text(&field)?,
                b"Privileges" => duty.privileges = p.references(&field, b"AxSecurityPrivilegeReference", ObjectKind::Privilege)?,
                _ => {}
            }
            Ok(())
        })?;
        self.require_name(root, &duty.name)?;
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
        };
        self.children(root, |p, field| {
            match field.name() {
                b"Name" => privilege.name = p.name(&field, ObjectKind::Privilege)?,
                b"Label" => privilege.label = p.opt_text(&field)?,
                b"Description" => privilege.description = p.opt_text(&field)?,
                b"EntryPoints" => p.children(&field, |p, item| {
                    if item.name() == b"AxSecurityEntryPointReference" {
                        privilege.entry_points.push(p.entry_point_reference(&item)?);
                    }
                    Ok(())
                })?,
                b"DataEntityPermissions" => p.children(&field, |p, item| {
                    if item.name() == b"AxSecurityDataEntityPermission" {
                        let (name, grant) = p.named_grant(&item)?;
                        privilege.entry_points.push(EntryPointGrant {
                            name: name.clone(),
                            kind: EntryPointType::DataEntity,
                            object: name,
                            child: None,
                            grant,
                        });
                    }
                    Ok(())
                })?,
                b"DirectAccessPermissions" => p.children(&field, |p, item| {
                    if item.name() == b"AxSecurityDataEntityReference" {
                        let (table, grant) = p.named_grant(&item)?;
                        privilege.direct_access.push(TableGrant { table, grant });
                    }
                    Ok(())
                })?,
                b"FormControlOverrides" => p.note_if_used(&field, NOTE_FORM_CONTROL_OVERRIDES)?,
                _ => {}
            }
            Ok(())
        })?;
        self.require_name(root, &privilege.name)?;
        Ok(privilege)
    }

    fn entry_point_reference(&mut self, element: &Element<'a>) -> Result<EntryPointGrant> {
        let mut name = None;
        let mut object = None;
        let mut child = None;
        let mut kind = None;
        let mut grant = Grant::default();
        self.children(element, |p, field| {
            match field.name() {
                b"Name" => name = p.opt_ident(&field)?,
                b"Grant" => grant = p.grant(&field)?,
                b"GrantCurrentData" | b"GrantFutureData" | b"GrantPastData" => p.note_if_used(&field, NOTE_DATE_EFFECTIVE_GRANT)?,
                b"ObjectName" => object = p.opt_name(&field, ObjectKind::EntryPoint)?,
                b"ObjectChildName" => child = p.opt_ident(&field)?,
                b"ObjectType" => kind = Some(p.value::<EntryPointType>(&field)?),
                _ => {}
            }
            Ok(())
        })?;
        let Some(object) = object else {
            return Err(self.err(element.pos, "<AxSecurityEntryPointReference> has no <ObjectName>"));
        };
        let Some(kind) = kind else {
            return Err(self.err(element.pos, format!("<AxSecurityEntryPointReference> {object} has no <ObjectType>")));
        };
        // D365 always writes the reference's own Name; the object's name is the natural stand-in.
        let name = name.unwrap_or_else(|| object.clone());
        Ok(EntryPointGrant { name, kind, object, child, grant })
    }

    /// `AxSecurityDataEntityPermission` and `AxSecurityDataEntityReference`: a Name and a Grant.
    fn named_grant(&mut self, element: &Element<'a>) -> Result<(String, Grant)> {
        let mut name = None;
        let mut grant = Grant::default();
        self.children(element, |p, field| {
            match field.name() {
                b"Name" => name = p.opt_ident(&field)?,
                b"Grant" => grant = p.grant(&field)?,
                b"GrantCurrentData" | b"GrantFutureData" | b"GrantPastData" => p.note_if_used(&field, NOTE_DATE_EFFECTIVE_GRANT)?,
                _ => {}
            }
            Ok(())
        })?;
        match name {
            Some(name) => Ok((name, grant)),
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
        };
        self.children(root, |p, field| {
            match field.name() {
                b"Name" => ext.name = p.name(&field, ObjectKind::RoleExtension)?,
                b"Duties" => ext.duties = p.references(&field, b"AxSecurityDutyReference", ObjectKind::Duty)?,
                b"Privileges" => ext.privileges = p.references(&field, b"AxSecurityPrivilegeReference", ObjectKind::Privilege)?,
                b"SubRoles" => ext.sub_roles = p.references(&field, b"AxSecurityRoleReference", ObjectKind::Role)?,
                b"DirectAccessPermissions" => p.note_if_used(&field, NOTE_ROLE_DIRECT_ACCESS)?,
                b"PropertyModifications" => p.note_if_used(&field, NOTE_PROPERTY_MODIFICATIONS)?,
                _ => {}
            }
            Ok(())
        })?;
        self.require_name(root, &ext.name)?;
        ext.target = RoleExtension::target_of(&ext.name).to_string();
        Ok(ext)
    }

    fn duty_extension(&mut self, root: &Element<'a>, model: Option<String>) -> Result<DutyExtension> {
        let mut ext = DutyExtension { name: String::new(), target: String::new(), model, privileges: Vec::new() };
        self.children(root, |p, field| {
            match field.name() {
                b"Name" => ext.name = p.name(&field, ObjectKind::DutyExtension)?,
                b"Privileges" => ext.privileges = p.references(&field, b"AxSecurityPrivilegeReference", ObjectKind::Privilege)?,
                b"PropertyModifications" => p.note_if_used(&field, NOTE_PROPERTY_MODIFICATIONS)?,
                _ => {}
            }
            Ok(())
        })?;
        self.require_name(root, &ext.name)?;
        // Same `Target.Suffix` convention as role extensions.
        ext.target = RoleExtension::target_of(&ext.name).to_string();
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
        };
        let mut constrains_primary = false;
        self.children(root, |p, field| {
            match field.name() {
                b"Name" => policy.name = p.name(&field, ObjectKind::Policy)?,
                b"Label" => policy.label = p.opt_text(&field)?,
                b"Description" => policy.description = p.opt_text(&field)?,
                b"PrimaryTable" => policy.primary_table = p.ident(&field)?,
                b"Query" => policy.query = p.ident(&field)?,
                b"ContextType" => policy.context_type = p.value(&field)?,
                b"ContextString" => policy.context_string = p.opt_ident(&field)?,
                b"RoleName" => policy.role_name = p.opt_ident(&field)?,
                b"Operation" => policy.operation = p.opt_ident(&field)?,
                b"Enabled" => policy.enabled = p.yes_no(&field)?,
                b"ConstrainedTable" => constrains_primary = p.yes_no(&field)?,
                b"ConstrainedTables" => p.constrained_tables(&field, &mut policy.constrained_tables)?,
                _ => {}
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
        Ok(policy)
    }

    /// `AxSecurityPolicyConstrainedEntity` elements nest (a table constrained
    /// through another constrained table); all of them are filtered, so they are flattened.
    fn constrained_tables(&mut self, list: &Element<'a>, out: &mut Vec<String>) -> Result<()> {
        self.children(list, |p, entity| {
            if entity.name() != b"AxSecurityPolicyConstrainedEntity" {
                return Ok(());
            }
            let mut name = None;
            let mut nested = Vec::new();
            p.children(&entity, |p, field| {
                match field.name() {
                    b"Name" => name = p.opt_ident(&field)?,
                    b"ConstrainedTables" => p.constrained_tables(&field, &mut nested)?,
                    _ => {}
                }
                Ok(())
            })?;
            let Some(name) = name else {
                return Err(p.err(entity.pos, "<AxSecurityPolicyConstrainedEntity> has no <Name>"));
            };
            out.push(name);
            out.append(&mut nested);
            Ok(())
        })
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
        };
        self.children(root, |p, field| {
            match field.name() {
                b"Name" => item.name = p.name(&field, ObjectKind::EntryPoint)?,
                b"Label" => item.label = p.opt_text(&field)?,
                b"HelpText" => item.help_text = p.opt_text(&field)?,
                b"Object" => item.object = p.opt_ident(&field)?,
                b"ObjectType" => item.object_type = p.opt_ident(&field)?,
                b"ViewUserLicense" => item.view_licence = p.value(&field)?,
                b"MaintainUserLicense" => item.maintain_licence = p.value(&field)?,
                _ => {}
            }
            Ok(())
        })?;
        self.require_name(root, &item.name)?;
        Ok(item)
    }
}

pub(crate) const NOTE_ROLE_DIRECT_ACCESS: &str =
    "DirectAccessPermissions of roles and role extensions are not imported (Warden keeps table grants on privileges only)";
pub(crate) const NOTE_FORM_CONTROL_OVERRIDES: &str =
    "FormControlOverrides of privileges are not imported (Warden grants access per entry point, not per form control)";
pub(crate) const NOTE_DATE_EFFECTIVE_GRANT: &str =
    "GrantCurrentData/GrantPastData/GrantFutureData are not imported (Warden reads the Grant only); check these grants";
pub(crate) const NOTE_PROPERTY_MODIFICATIONS: &str =
    "PropertyModifications of extensions are not imported (Warden imports the duties, privileges and sub-roles they add)";

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
