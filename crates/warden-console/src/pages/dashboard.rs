//! The dashboard: how many of each thing there are, each count a link to its list.

use crate::layout;
use crate::svg::{bars, Bar};
use crate::{PageResult, Viewer};
use axum::response::{Html, IntoResponse};
use axum::Extension;
use maud::html;
use warden_model::{Access, ConflictStatus, PrivilegedStatus, Severity, TempStatus, Timestamp, UserKind};
use warden_server::builtin::Area;

const DAY_MS: i64 = 86_400_000;
/// Days of audit events charted.
const DAYS: i64 = 14;
/// At most this many audit events are counted for the chart.
const AUDIT_SAMPLE: usize = 20_000;

pub async fn page(Extension(v): Extension<Viewer>) -> PageResult {
    let m = &v.snapshot.model;
    let mut cards = Vec::new();
    let mut charts = Vec::new();
    if v.can(Area::SecurityConfiguration, Access::Read) {
        cards.push(("Roles", m.roles.len(), "/security".to_string()));
        cards.push(("Duties", m.duties.len(), "/security?kind=duty".to_string()));
        cards.push(("Privileges", m.privileges.len(), "/security?kind=privilege".to_string()));
    }
    if v.can(Area::Users, Access::Read) {
        let (mut enabled, mut disabled, mut service) = (0, 0, 0);
        for u in m.users.values() {
            if u.enabled { enabled += 1 } else { disabled += 1 }
            if u.kind == UserKind::ServiceAccount {
                service += 1;
            }
        }
        cards.push(("Users", m.users.len(), "/users".to_string()));
        charts.push(bars("Users", &[
            Bar { label: "Enabled".into(), value: enabled, href: "/users?enabled=yes".into() },
            Bar { label: "Disabled".into(), value: disabled, href: "/users?enabled=no".into() },
            Bar { label: "Service accounts".into(), value: service, href: "/users?kind=service_account".into() },
        ]));
    }
    if v.can(Area::SegregationOfDuties, Access::Read) {
        let mut by_severity = [0usize; 4];
        let (mut unresolved, mut allowed) = (0, 0);
        for c in m.sod_conflicts.values() {
            match c.status {
                ConflictStatus::Unresolved => unresolved += 1,
                ConflictStatus::Allowed => allowed += 1,
            }
            let severity = m.sod_rules.get(&c.rule).map_or(Severity::Medium, |r| r.severity);
            by_severity[severity as usize] += 1;
        }
        cards.push(("SoD rules", m.sod_rules.len(), "/sod".to_string()));
        cards.push(("SoD conflicts", m.sod_conflicts.len(), "/sod/conflicts".to_string()));
        let severities = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];
        charts.push(bars(
            "SoD conflicts by severity",
            &severities.iter().map(|s| Bar { label: s.as_str().into(), value: by_severity[*s as usize], href: format!("/sod/conflicts?severity={}", s.as_str()) }).collect::<Vec<_>>(),
        ));
        charts.push(bars("SoD conflicts by status", &[
            Bar { label: "Unresolved".into(), value: unresolved, href: "/sod/conflicts?status=unresolved".into() },
            Bar { label: "Allowed".into(), value: allowed, href: "/sod/conflicts?status=allowed".into() },
        ]));
    }
    if v.can(Area::Sessions, Access::Read) {
        let week_ago = Timestamp(v.now.0 - 7 * DAY_MS);
        let planned = m.temp_role_sessions.values().filter(|s| s.status == TempStatus::Planned).count()
            + m.privileged_sessions.values().filter(|s| s.status == PrivilegedStatus::Approved).count();
        let active = m.temp_role_sessions.values().filter(|s| s.status == TempStatus::Active).count()
            + m.privileged_sessions.values().filter(|s| s.status == PrivilegedStatus::Active).count();
        let ended = m.temp_role_sessions.values().filter(|s| s.status == TempStatus::Ended && s.ended_at.is_some_and(|t| t >= week_ago)).count()
            + m.privileged_sessions.values().filter(|s| s.status == PrivilegedStatus::Ended && s.ended_at.is_some_and(|t| t >= week_ago)).count();
        charts.push(bars("Sessions this week", &[
            Bar { label: "Planned".into(), value: planned, href: "/sessions/temporary?status=planned".into() },
            Bar { label: "Active".into(), value: active, href: "/sessions/temporary?status=active".into() },
            Bar { label: "Ended".into(), value: ended, href: "/sessions/temporary?status=ended".into() },
        ]));
    }
    if v.can(Area::AuditTrail, Access::Read) {
        let today = v.now.0 - v.now.0.rem_euclid(DAY_MS);
        let since = Timestamp(today - (DAYS - 1) * DAY_MS);
        let filter = warden_store::AuditFilter { since: Some(since), limit: Some(AUDIT_SAMPLE), ..Default::default() };
        let events = v.warden().audit_events(&filter).await?;
        let mut per_day = vec![0usize; DAYS as usize];
        for e in &events {
            let day = ((e.at.0 - since.0) / DAY_MS) as usize;
            if let Some(n) = per_day.get_mut(day) {
                *n += 1;
            }
        }
        let title = if events.len() >= AUDIT_SAMPLE { format!("Audit events per day (first {AUDIT_SAMPLE})") } else { "Audit events per day".to_string() };
        charts.push(bars(
            &title,
            &per_day
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let day = Timestamp(since.0 + i as i64 * DAY_MS).to_string();
                    let date = day.get(..10).unwrap_or(&day).to_string();
                    Bar { label: date.clone(), value: *n, href: format!("/audit?since={date}") }
                })
                .collect::<Vec<_>>(),
        ));
    }
    let body = html! {
        div.cards {
            @for (label, n, href) in &cards {
                a href=(href) { span.n { (n) } (label) }
            }
        }
        div.charts {
            @for chart in &charts { (chart) }
        }
    };
    Ok(Html(layout::page(&v, "/", "Dashboard", body).into_string()).into_response())
}
