//! The frame of every page: header, navigation (only what the user may
//! open), the banner of a session in force, and the shared pieces forms and
//! lists are made of.

use crate::Viewer;
use maud::{html, Markup, DOCTYPE};
use warden_model::{Access, PrivilegedStatus, TempStatus};
use warden_server::builtin::Area;

pub const STYLESHEET: &str = include_str!("assets/style.css");
pub const CONSOLE_JS: &str = include_str!("assets/console.js");

/// The console's sections: label, path, the area whose Read opens it.
pub const SECTIONS: &[(&str, &str, Option<Area>)] = &[
    ("Dashboard", "/", None),
    ("Security configuration", "/security", Some(Area::SecurityConfiguration)),
    ("Users", "/users", Some(Area::Users)),
    ("Check", "/check", Some(Area::Analysis)),
    ("Assignment rules", "/rules", Some(Area::Assignments)),
    ("Segregation of duties", "/sod", Some(Area::SegregationOfDuties)),
    ("Temporary role sessions", "/sessions/temporary", Some(Area::Sessions)),
    ("Privileged user sessions", "/sessions/privileged", Some(Area::Sessions)),
    ("Audit trail", "/audit", Some(Area::AuditTrail)),
    ("Webhooks", "/webhooks", Some(Area::Webhooks)),
    ("Settings", "/settings", Some(Area::Organizations)),
];

fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) " · Warden" }
        link rel="stylesheet" href="/console/style.css";
        script src="/console/console.js" defer {}
    }
}

/// A page of the console: `section` is the path of the navigation entry it belongs to.
pub fn page(v: &Viewer, section: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title)) }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "Warden" }
                    span.who { "Signed in as " strong { (v.user) } }
                    form.inline method="post" action="/logout" {
                        (csrf(v))
                        button.link type="submit" { "Sign out" }
                    }
                }
                (banner(v))
                div.frame {
                    nav.side aria-label="Sections" {
                        ul {
                            @for (label, path, area) in SECTIONS {
                                @if area.is_none_or(|a| v.can(a, Access::Read)) {
                                    li {
                                        @if *path == section {
                                            a href=(path) aria-current="page" { (label) }
                                        } @else {
                                            a href=(path) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    main #main tabindex="-1" {
                        h1 { (title) }
                        (body)
                    }
                }
            }
        }
    }
}

/// A page without the frame (sign-in, errors).
pub fn bare(title: &str, detail: &str) -> Markup {
    lone(title, html! {
        p.error role="alert" { (detail) }
        p { a href="javascript:history.back()" { "Back" } " · " a href="/" { "Dashboard" } }
    })
}

/// A page of its own, outside the frame.
pub fn lone(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title)) }
            body.lone {
                main #main {
                    p.brand { "Warden" }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A temporary role session or a privileged user session in force for the
/// signed-in user: what they do now is under it.
fn banner(v: &Viewer) -> Markup {
    let model = &v.snapshot.model;
    let temp = model.temp_role_sessions.values().find(|s| s.user == v.user && s.status == TempStatus::Active);
    let privileged = model.privileged_sessions.values().find(|s| s.user == v.user && s.status == PrivilegedStatus::Active);
    html! {
        @if let Some(s) = temp {
            div.banner role="status" {
                "A temporary role session is in force for you: " strong { (s.roles.join(", ")) }
                " (" (s.session_type.as_str()) "), until " (s.end) ". "
                a href=(format!("/sessions/temporary/{}", crate::encode(&s.id))) { "Session " (s.id) }
            }
        }
        @if let Some(s) = privileged {
            div.banner role="status" {
                "A privileged user session is in force for you until " (s.end) ". "
                a href=(format!("/sessions/privileged/{}", crate::encode(&s.id))) { "Session " (s.id) }
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf(v: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(v.csrf); }
}

/// A labelled text input; `error` is shown under it and marks it invalid.
pub fn field(label: &str, name: &str, value: &str, error: Option<&str>, attrs: FieldAttrs) -> Markup {
    let id = format!("f-{name}");
    let err_id = format!("{id}-error");
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(name) value=(value) type=(attrs.kind)
                required[attrs.required]
                placeholder=[attrs.placeholder]
                list=[attrs.list]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| err_id.as_str())];
            @if let Some(e) = error { p.error id=(err_id) role="alert" { (e) } }
        }
    }
}

/// A labelled text area with a line of help under it, and `error` after that.
pub fn textarea(label: &str, name: &str, value: &str, error: Option<&str>, help: &str) -> Markup {
    let (id, help_id, err_id) = (format!("f-{name}"), format!("f-{name}-help"), format!("f-{name}-error"));
    html! {
        div.field {
            label for=(id) { (label) }
            textarea id=(id) name=(name) rows="4" aria-describedby=(match error { Some(_) => format!("{help_id} {err_id}"), None => help_id.clone() }) aria-invalid=[error.map(|_| "true")] { (value) }
            span.muted id=(help_id) { (help) }
            @if let Some(e) = error { p.error id=(err_id) role="alert" { (e) } }
        }
    }
}

/// The top of a create-or-edit form: the CSRF token, the form's own error,
/// the version an edit starts from, and the name (a field when creating, kept
/// hidden when editing: renaming is not supported).
pub fn form_head(v: &Viewer, form_error: Option<&str>, version: Option<u64>, editing: bool, name: &str, name_error: Option<&str>) -> Markup {
    html! {
        (csrf(v))
        @if let Some(e) = form_error { p.error role="alert" { (e) } }
        @if let Some(version) = version { input type="hidden" name="version" value=(version); }
        @if editing {
            input type="hidden" name="name" value=(name);
        } @else {
            (field("Name", "name", name, name_error, REQUIRED))
        }
    }
}

/// Options of [`field`].
#[derive(Clone, Copy)]
pub struct FieldAttrs {
    pub kind: &'static str,
    pub required: bool,
    pub placeholder: Option<&'static str>,
    pub list: Option<&'static str>,
}

pub const TEXT: FieldAttrs = FieldAttrs { kind: "text", required: false, placeholder: None, list: None };
pub const REQUIRED: FieldAttrs = FieldAttrs { kind: "text", required: true, placeholder: None, list: None };

impl FieldAttrs {
    pub const fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }
    pub const fn placeholder(mut self, p: &'static str) -> Self {
        self.placeholder = Some(p);
        self
    }
    pub const fn list(mut self, l: &'static str) -> Self {
        self.list = Some(l);
        self
    }
}

/// A labelled select.
pub fn select(label: &str, name: &str, options: &[(&str, &str)], selected: &str) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                @for (value, text) in options {
                    option value=(value) selected[*value == selected] { (text) }
                }
            }
        }
    }
}

/// A one-button form posting to `action` (with the CSRF token).
pub fn button(v: &Viewer, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf(v))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// A notice at the top of a page (after a successful action).
pub fn notice(text: Option<&str>) -> Markup {
    html! { @if let Some(t) = text { p.notice role="status" { (t) } } }
}

/// "Showing N of M" and the link to the next page, keeping the other query parameters.
pub fn pager(shown: usize, total: Option<usize>, next: Option<String>) -> Markup {
    html! {
        p.pager {
            "Showing " (shown)
            @if let Some(t) = total { " of " (t) }
            @if let Some(n) = next { " · " a href=(n) rel="next" { "Next page →" } }
        }
    }
}

/// A table that scrolls on its own in a narrow window instead of the page.
pub fn table(caption: &str, head: &[&str], rows: Markup) -> Markup {
    html! {
        div.table-wrap tabindex="0" role="region" aria-label=(caption) {
            table {
                caption.sr-only { (caption) }
                thead { tr { @for h in head { th scope="col" { (h) } } } }
                tbody { (rows) }
            }
        }
    }
}

/// A badge for a status or decision.
pub fn badge(text: &str) -> Markup {
    html! { span class=(format!("badge b-{}", text.to_ascii_lowercase().replace(' ', "-"))) { (text) } }
}
