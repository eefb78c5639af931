//! Segregation of duties: the rules (create, import CSV, export), the roles
//! that break a rule by themselves, the conflicts register with its Allow
//! (reason) / Deny decisions, and the similarity settings and report.

use crate::form::{Nothing, Submitted, given};
use crate::layout::{self, REQUIRED, TEXT};
use crate::{encode, see_other, PageResult, Viewer};
use axum::extract::Query;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{html, Markup};
use serde::Deserialize;
use warden_core::{CoreError, Resolution};
use warden_model::{Access, ConflictStatus, Severity, SodConflict, SodRule, SodSettings, SodSide};
use warden_server::builtin::Area;
use warden_server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sod", get(rules))
        .route("/sod/rules", post(add_rule))
        .route("/sod/rules/import", post(import))
        .route("/sod/rules.csv", get(export))
        .route("/sod/roles", get(roles))
        .route("/sod/conflicts", get(conflicts))
        .route("/sod/conflicts/decide", post(decide))
        .route("/sod/verify", post(verify))
        .route("/sod/similarity", get(similarity).post(set_similarity))
}

const AREA: Area = Area::SegregationOfDuties;

fn tabs(current: &str) -> Markup {
    let all = [("/sod", "Rules"), ("/sod/conflicts", "Conflicts register"), ("/sod/roles", "Roles that break rules"), ("/sod/similarity", "Similarity")];
    html! {
        ul.tabs {
            @for (path, label) in all {
                li { @if path == current { a href=(path) aria-current="page" { (label) } } @else { a href=(path) { (label) } } }
            }
        }
    }
}

fn side_text(side: &SodSide) -> String {
    match side {
        SodSide::Duty { duty } => duty.clone(),
        SodSide::EntryPoint { entry_point, access } => format!("{entry_point}:{}", access.as_str()),
    }
}

#[derive(Deserialize, Default)]
pub struct RuleForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    first: String,
    #[serde(default)]
    second: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    risk: String,
    #[serde(default)]
    mitigation: String,
}

#[derive(Default)]
struct RuleErrors {
    name: Option<String>,
    first: Option<String>,
    second: Option<String>,
    form: Option<String>,
}

pub async fn rules(Extension(v): Extension<Viewer>) -> PageResult {
    Ok(Html(rules_page(&v, &RuleForm::default(), &RuleErrors::default(), None, &[]).into_string()).into_response())
}

/// `imported`: what an import that went through says beyond its counts (its warnings).
fn rules_page(v: &Viewer, draft: &RuleForm, errors: &RuleErrors, import_error: Option<&str>, imported: &[String]) -> Markup {
    let m = &v.snapshot.model;
    let severities: Vec<(&str, &str)> = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical].iter().map(|s| (s.as_str(), s.as_str())).collect();
    let body = html! {
        (tabs("/sod"))
        div.actions {
            a href="/sod/rules.csv" download="sod-rules.csv" { "Export rules (CSV)" }
        }
        (layout::table("SoD rules", &["Rule", "First side", "Second side", "Severity", "In force", "Conflicts"], html! {
            @for r in m.sod_rules.values() {
                tr {
                    td { (r.name) @if let Some(risk) = &r.risk { br; span.muted { (risk) } } }
                    td { (side_text(&r.first)) }
                    td { (side_text(&r.second)) }
                    td { (layout::badge(r.severity.as_str())) }
                    td { @if r.enabled { "yes" } @else { "disabled" } }
                    td { a href=(format!("/sod/conflicts?rule={}", encode(&r.name))) { "conflicts" } }
                }
            }
        }))
        @if m.sod_rules.is_empty() { p { "No rules yet." } }
        @if v.can(AREA, Access::Create) {
            h2 { "New rule" }
            form.card method="post" action="/sod/rules" {
                (layout::csrf(v))
                @if let Some(e) = &errors.form { p.error role="alert" { (e) } }
                (layout::field("Name", "name", &draft.name, errors.name.as_deref(), REQUIRED))
                div.row {
                    (layout::field("First side: a duty, or ENTRY_POINT:ACCESS", "first", &draft.first, errors.first.as_deref(), REQUIRED))
                    (layout::field("Second side: a duty, or ENTRY_POINT:ACCESS", "second", &draft.second, errors.second.as_deref(), REQUIRED))
                    (layout::select("Severity", "severity", &severities, if draft.severity.is_empty() { "medium" } else { &draft.severity }))
                }
                div.row {
                    (layout::field("Security risk", "risk", &draft.risk, None, TEXT))
                    (layout::field("Mitigation", "mitigation", &draft.mitigation, None, TEXT))
                }
                div.actions { button type="submit" { "Create rule" } }
            }
            h2 #import { "Import rules" }
            @for note in imported { p.notice role="status" { (note) } }
            form.card method="post" action="/sod/rules/import" {
                (layout::csrf(v))
                div.field {
                    label for="f-csv" { "Rules as CSV (the export's columns) or JSON; added or replaced by name, all or nothing" }
                    textarea #f-csv name="data" aria-invalid=[import_error.map(|_| "true")] {}
                    @if let Some(e) = import_error { pre.error role="alert" { (e) } }
                }
                div.actions { button type="submit" { "Import" } }
            }
        }
    };
    layout::page(v, "/sod", "Segregation of duties", body)
}

fn side_of(v: &Viewer, text: &str) -> Result<SodSide, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Enter a duty, or ENTRY_POINT:ACCESS.".into());
    }
    let model = &v.snapshot.model;
    if text.contains(':') {
        warden_core::parse_entry_point_side(model, text).map_err(|e| e.to_string())
    } else {
        let mut side = SodSide::Duty { duty: text.to_string() };
        warden_core::resolve_side(model, &mut side).map_err(|e| e.to_string())?;
        Ok(side)
    }
}

pub async fn add_rule(Submitted(v, f): Submitted<RuleForm>) -> PageResult {
    v.require(AREA, Access::Create)?;
    let (first, second) = (side_of(&v, &f.first), side_of(&v, &f.second));
    let severity: Result<Severity, _> = f.severity.parse();
    let refused = |v: &Viewer, f: &RuleForm, e: RuleErrors| Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(rules_page(v, f, &e, None, &[]).into_string())).into_response());
    let (first, second) = match (first, second) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => return refused(&v, &f, RuleErrors { first: a.err(), second: b.err(), ..Default::default() }),
    };
    let severity = match severity {
        Ok(s) => s,
        Err(e) => return refused(&v, &f, RuleErrors { form: Some(format!("{e}")), ..Default::default() }),
    };
    let opt = |s: &str| Some(s.trim().to_string()).filter(|t| !t.is_empty());
    let rule = SodRule {
        name: f.name.clone(),
        first,
        second,
        severity,
        risk: opt(&f.risk),
        mitigation: opt(&f.mitigation),
        valid_from: None,
        valid_to: None,
        enabled: true,
    };
    match v.warden().add_sod_rule(rule).await {
        Ok(_) => Ok(see_other("/sod")),
        Err(e @ (CoreError::AlreadyExists { .. } | CoreError::LooksLike { .. } | CoreError::InvalidId(_))) => refused(&v, &f, RuleErrors { name: Some(e.to_string()), ..Default::default() }),
        Err(e) => refused(&v, &f, RuleErrors { form: Some(e.to_string()), ..Default::default() }),
    }
}

#[derive(Deserialize)]
pub struct ImportForm {
    data: String,
}

pub async fn import(Submitted(v, f): Submitted<ImportForm>) -> PageResult {
    v.require(AREA, Access::Create)?;
    match v.warden().import_sod_rules_data("the pasted rules", f.data.into_bytes()).await {
        Ok(out) if out.warnings.is_empty() => Ok(see_other("/sod")),
        // Legal but likely a mistake: said on the page rather than lost in a redirect.
        Ok(out) => {
            let v = Viewer { snapshot: v.fresh(), ..v };
            let mut notes = vec![format!("Imported {} rule(s): {} added, {} updated, {} unchanged.", out.rows, out.added, out.updated, out.unchanged)];
            notes.extend(out.warnings.iter().map(|w| format!("Warning: {w}")));
            Ok(Html(rules_page(&v, &RuleForm::default(), &RuleErrors::default(), None, &notes).into_string()).into_response())
        }
        Err(e) => Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(rules_page(&v, &RuleForm::default(), &RuleErrors::default(), Some(&e.to_string()), &[]).into_string())).into_response()),
    }
}

pub async fn export(Extension(v): Extension<Viewer>) -> PageResult {
    v.require(AREA, Access::Read)?;
    let mut out = Vec::new();
    warden_core::write_sod_rules_csv(&mut out, v.snapshot.model.sod_rules.values()).map_err(|e| crate::Failure::BadRequest(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"sod-rules.csv\"")], out).into_response())
}

pub async fn roles(Extension(v): Extension<Viewer>) -> PageResult {
    v.require(AREA, Access::Read)?;
    let report = v.warden().sod_roles(v.now).await?;
    let body = html! {
        (tabs("/sod/roles"))
        p { "Roles that give both sides of a rule by themselves: everyone assigned one is in conflict." }
        (layout::table("Roles that break rules", &["Role", "Rules broken"], html! {
            @for r in &report {
                tr {
                    td { a href=(crate::pages::security::href(warden_model::ObjectKind::Role, &r.role)) { (r.role) } @if let Some(l) = &r.label { " " span.muted { (l) } } }
                    td { (r.rules.join(", ")) }
                }
            }
        }))
        @if report.is_empty() { p { "No role breaks a rule by itself." } }
    };
    Ok(Html(layout::page(&v, "/sod", "Roles that break SoD rules", body).into_string()).into_response())
}

#[derive(Deserialize, Default)]
pub struct ConflictQuery {
    status: Option<String>,
    severity: Option<String>,
    user: Option<String>,
    rule: Option<String>,
}

pub async fn conflicts(Extension(v): Extension<Viewer>, Query(q): Query<ConflictQuery>) -> PageResult {
    v.require(AREA, Access::Read)?;
    let m = &v.snapshot.model;
    let status = given(&q.status);
    let severity = given(&q.severity);
    let (user, rule) = (given(&q.user), given(&q.rule));
    let rows: Vec<&SodConflict> = m
        .sod_conflicts
        .values()
        .filter(|c| status.is_none_or(|s| c.status.as_str() == s))
        .filter(|c| severity.is_none_or(|s| m.sod_rules.get(&c.rule).map_or(Severity::Medium, |r| r.severity).as_str() == s))
        .filter(|c| user.is_none_or(|u| c.user.eq_ignore_ascii_case(u)))
        .filter(|c| rule.is_none_or(|r| c.rule.eq_ignore_ascii_case(r)))
        .take(500)
        .collect();
    let can_decide = v.can(AREA, Access::Invoke);
    let body = html! {
        (tabs("/sod/conflicts"))
        form.card method="get" action="/sod/conflicts" role="search" {
            div.row {
                (layout::select("Status", "status", &[("", "Any"), ("unresolved", "Unresolved"), ("allowed", "Allowed")], status.unwrap_or("")))
                (layout::select("Severity", "severity", &[("", "Any"), ("low", "low"), ("medium", "medium"), ("high", "high"), ("critical", "critical")], severity.unwrap_or("")))
                (layout::field("User", "user", user.unwrap_or(""), None, TEXT))
                (layout::field("Rule", "rule", rule.unwrap_or(""), None, TEXT))
            }
            div.actions { button type="submit" { "Filter" } a href="/sod/conflicts" { "Clear" } }
        }
        @if can_decide { div.actions { (layout::button(&v, "/sod/verify", "Verify every user now", "secondary")) } }
        (layout::table("Conflicts register", &["User", "Rule", "Status", "Roles", "Where", "Found", "Decision"], html! {
            @for c in &rows {
                tr {
                    td { a href=(crate::pages::users::href(&c.user)) { (c.user) } }
                    td { (c.rule) }
                    td { (layout::badge(c.status.as_str())) }
                    td { (c.roles.join(", ")) }
                    td { @if c.organizations.is_empty() { "everywhere" } @else { (c.organizations.join(", ")) } }
                    td { (c.detected) " (" (c.source) ")" }
                    td {
                        @if let Some(r) = &c.reason { "Allowed: " (r) @if let Some(b) = &c.decided_by { " — " (b) } }
                        @if can_decide && c.status == ConflictStatus::Unresolved {
                            form.inline method="post" action="/sod/conflicts/decide" {
                                (layout::csrf(&v))
                                input type="hidden" name="user" value=(c.user);
                                input type="hidden" name="rule" value=(c.rule);
                                @let id = format!("reason-{}-{}", c.user, c.rule);
                                label for=(id) { "Reason" }
                                " "
                                input id=(id) name="reason" required;
                                " "
                                button type="submit" name="decision" value="allow" { "Allow" }
                            }
                            " "
                            form.inline method="post" action="/sod/conflicts/decide" {
                                (layout::csrf(&v))
                                input type="hidden" name="user" value=(c.user);
                                input type="hidden" name="rule" value=(c.rule);
                                button.danger type="submit" name="decision" value="deny" { "Deny" }
                            }
                        }
                    }
                }
            }
        }))
        @if rows.is_empty() { p { "No conflict matches." } }
    };
    Ok(Html(layout::page(&v, "/sod", "Conflicts register", body).into_string()).into_response())
}

#[derive(Deserialize)]
pub struct Decision {
    user: String,
    rule: String,
    decision: String,
    #[serde(default)]
    reason: Option<String>,
}

pub async fn decide(Submitted(v, d): Submitted<Decision>) -> PageResult {
    v.require(AREA, Access::Invoke)?;
    let resolution = match d.decision.as_str() {
        "allow" => Resolution::Allow { reason: d.reason.unwrap_or_default() },
        "deny" => Resolution::Deny,
        other => return Err(crate::Failure::BadRequest(format!("decision: '{other}' is not allow or deny"))),
    };
    v.warden().sod_resolve(&SodConflict::key_of(&d.user, &d.rule), resolution, v.now).await?;
    Ok(see_other(&format!("/sod/conflicts?user={}", encode(&d.user))))
}

pub async fn verify(Submitted(v, Nothing {}): Submitted<Nothing>) -> PageResult {
    v.require(AREA, Access::Invoke)?;
    v.warden().sod_verify(v.now).await?;
    Ok(see_other("/sod/conflicts"))
}

#[derive(Deserialize, Default)]
pub struct SimilarityQuery {
    level: Option<u8>,
}

pub async fn similarity(Extension(v): Extension<Viewer>, Query(q): Query<SimilarityQuery>) -> PageResult {
    v.require(AREA, Access::Read)?;
    let settings = v.snapshot.model.sod_settings.clone().unwrap_or_default();
    let (level, pairs) = v.warden().similarity_report(q.level).await?;
    let body = html! {
        (tabs("/sod/similarity"))
        @if v.can(AREA, Access::Update) {
            form.card method="post" action="/sod/similarity" {
                (layout::csrf(&v))
                div.row {
                    div.field.check { input #f-check type="checkbox" name="check_similarity" value="true" checked[settings.check_similarity]; label for="f-check" { "Check similarity of new and edited duties and privileges" } }
                    div.field.check { input #f-refuse type="checkbox" name="refuse_similar" value="true" checked[settings.refuse_similar]; label for="f-refuse" { "Refuse similar ones (not only warn)" } }
                    (layout::field("Similarity level (%)", "similarity_level", &settings.similarity_level.to_string(), None, REQUIRED.kind("number")))
                }
                div.actions { button type="submit" { "Save settings" } }
            }
        }
        form.card.row method="get" action="/sod/similarity" {
            (layout::field("Report at level (%)", "level", &level.to_string(), None, TEXT.kind("number")))
            div.actions { button type="submit" { "Report" } }
        }
        (layout::table("Similar duties and privileges", &["Kind", "First", "Second", "Overlap", "In common"], html! {
            @for p in pairs.iter().take(500) {
                tr { td { (format!("{:?}", p.kind).to_lowercase()) } td { (p.first) } td { (p.second) } td { (p.percent) "%" } td { (p.common) } }
            }
        }))
        @if pairs.is_empty() { p { "No pair overlaps at " (level) "% or more." } }
    };
    Ok(Html(layout::page(&v, "/sod", "Similarity", body).into_string()).into_response())
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    check_similarity: Option<String>,
    #[serde(default)]
    refuse_similar: Option<String>,
    similarity_level: String,
}

pub async fn set_similarity(Submitted(v, f): Submitted<SettingsForm>) -> PageResult {
    v.require(AREA, Access::Update)?;
    let level: u8 = f
        .similarity_level
        .trim()
        .parse()
        .ok()
        .filter(|l| (1..=100).contains(l))
        .ok_or_else(|| crate::Failure::BadRequest("similarity level: a whole number from 1 to 100".into()))?;
    let settings = SodSettings { check_similarity: f.check_similarity.is_some(), similarity_level: level, refuse_similar: f.refuse_similar.is_some() };
    v.warden().set_sod_settings(settings).await?;
    Ok(see_other("/sod/similarity"))
}
