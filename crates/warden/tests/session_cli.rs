//! Temporary role sessions, privileged user sessions and the processor from
//! the command line, on the demo data: kenji and mike hold
//! SystemAdministrator, bella does not.

mod common;

use common::{json, ok, refused, stdout, tamper, warden};
use std::path::Path;
use tempfile::TempDir;

/// An entry point the role DEVSysTableBrowserExt grants and bella lacks in the demo.
const EP: &str = "DEVSysTableBrowser";
const ROLE: &str = "DEVSysTableBrowserExt";

fn demo() -> TempDir {
    let dir = TempDir::new().unwrap();
    ok(dir.path(), &["demo"]);
    dir
}

/// Exit status of `warden check` for bella: 0 allow, 1 deny.
fn bella_may(d: &Path, ep: &str) -> bool {
    let o = warden(d, &["check", "--user", "bella", "--entry-point", ep, "--access", "read"]);
    match o.status.code() {
        Some(0) => true,
        Some(1) => false,
        other => panic!("check failed ({other:?}): {}", common::stderr(&o)),
    }
}

fn new_temp(d: &Path, actor: &str, extra: &[&str]) -> String {
    let mut args = vec!["--actor", actor, "session", "temp", "new", "--user", "bella", "--role", ROLE, "--type", "merge"];
    args.extend_from_slice(extra);
    if !extra.contains(&"--start") {
        args.extend_from_slice(&["--start", "now", "--end", "+1h"]);
    }
    let out = ok(d, &args);
    assert!(out.ends_with('\n') && out.trim().starts_with("TRS-"), "{out:?}");
    out.trim().to_string()
}

/// Appends an activity event for `user` straight into the store, as an application would through the API.
fn append_activity(d: &Path, user: &str, kind: &str, detail: serde_json::Value) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = warden_store::open(None, d).await.unwrap();
        let event = warden_store::ActivityEvent {
            id: 0,
            at: warden_model::Timestamp::now(),
            user: user.into(),
            kind: kind.into(),
            source: Some("erp <test>".into()),
            detail,
            claimed_at: None,
        };
        store.append_activity(&event).await.unwrap();
    });
}

#[test]
fn a_temporary_session_is_requested_approved_by_another_administrator_and_started() {
    let dir = demo();
    let d = dir.path();
    assert!(!bella_may(d, EP), "bella lacks {EP} before the session");

    // Only the id, so that scripts can capture it.
    let o = warden(d, &["--actor", "kenji", "session", "temp", "new", "--user", "bella", "--role", ROLE, "--type", "merge", "--start", "now", "--end", "+1h", "--reason", "month-end close"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    assert_eq!(stdout(&o), "TRS-000001\n");

    let e = refused(d, &["--actor", "kenji", "session", "temp", "approve", "TRS-000001"]);
    assert!(e.contains("another system administrator must"), "{e}");
    let e = refused(d, &["--actor", "bella", "session", "temp", "approve", "TRS-000001"]);
    assert!(e.contains("does not hold the System administrator role"), "{e}");
    let e = refused(d, &["--actor", "bella", "session", "temp", "new", "--user", "bella", "--role", ROLE, "--type", "merge", "--start", "now", "--end", "+1h"]);
    assert!(e.contains("does not hold the System administrator role"), "{e}");
    assert!(!bella_may(d, EP), "a draft gives nothing");

    let out = ok(d, &["--actor", "mike", "session", "temp", "approve", "trs-000001"]);
    assert!(out.starts_with("Approved TRS-000001: bella gets DEVSysTableBrowserExt (merge), from "), "{out}");
    // In force from its approval, before the processor has started it.
    assert!(bella_may(d, EP));
    let list = json(d, &["session", "temp", "list"]);
    assert_eq!(list[0]["status"], "planned", "{list}");
    assert_eq!(list[0]["approved_by"], "mike");
    assert_eq!(list[0]["reason"], "month-end close");

    let out = ok(d, &["process", "--once"]);
    assert!(out.starts_with("TRS-000001 planned → active (due "), "{out}");
    assert!(out.contains(", at "), "{out}");
    assert_eq!(ok(d, &["process", "--once"]), "Nothing is due.\n");
    assert!(bella_may(d, EP));
    let list = json(d, &["session", "temp", "list", "--status", "active", "--user", "bella"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(json(d, &["session", "temp", "list", "--status", "planned"]), serde_json::json!([]));
    let trail = json(d, &["audit", "log"]);
    let start = trail.as_array().unwrap().iter().find(|e| e["action"] == "temp-session start").expect("the start is audited");
    assert_eq!(start["actor"], "processor");
    assert_eq!(start["origin"], "processor");

    let show = ok(d, &["session", "temp", "show", "TRS-000001"]);
    for want in ["Temporary role session TRS-000001", "status        active", "approved by   mike", "reason        month-end close", "Audit log:"] {
        assert!(show.contains(want), "{want}:\n{show}");
    }
    assert!(show.lines().any(|l| l.contains("planned") && l.contains("active") && l.contains("processor") && l.contains("batch")), "{show}");
    assert!(show.lines().any(|l| l.contains("draft") && l.contains("planned") && l.contains("mike") && l.contains("administrator")), "{show}");

    // A role change while the session is active lands in its role change log.
    ok(d, &["user", "assign", "bella", "SecurityAuditor"]);
    let log = ok(d, &["session", "temp", "log", "TRS-000001"]);
    assert!(log.contains("Audit log of TRS-000001:") && log.contains("User log") && log.contains("Role change log"), "{log}");
    assert!(log.lines().any(|l| l.contains("SecurityAuditor") && l.contains("added")), "{log}");
    let log = json(d, &["session", "temp", "log", "TRS-000001"]);
    assert_eq!(log["audit"].as_array().unwrap().len(), 3, "{log}");
    assert_eq!(log["role_changes"][0]["role"], "SecurityAuditor", "{log}");

    // Started: no more edits or cancelling.
    let e = refused(d, &["--actor", "kenji", "session", "temp", "cancel", "TRS-000001"]);
    assert!(e.contains("TRS-000001 is active"), "{e}");
    let e = refused(d, &["--actor", "kenji", "session", "temp", "edit", "TRS-000001", "--end", "+2h"]);
    assert!(e.contains("TRS-000001 is active"), "{e}");
}

#[test]
fn temporary_sessions_are_edited_cancelled_and_self_approved_when_the_settings_allow() {
    let dir = demo();
    let d = dir.path();
    let e = refused(d, &["--actor", "kenji", "session", "temp", "new", "--user", "bella", "--role", ROLE, "--type", "merge", "--start", "now", "--end", "tomorrow"]);
    assert!(e.contains("--end") && e.contains("tomorrow"), "{e}");
    let e = refused(d, &["--actor", "kenji", "session", "temp", "new", "--user", "bella", "--role", ROLE, "--type", "sideways", "--start", "now", "--end", "+1h"]);
    assert!(e.contains("sideways"), "{e}");
    let e = refused(d, &["--actor", "kenji", "session", "temp", "new", "--user", "nobody", "--role", ROLE, "--type", "merge", "--start", "now", "--end", "+1h"]);
    assert!(e.contains("unknown user 'nobody'") && e.contains("user list"), "{e}");
    let e = refused(d, &["session", "temp", "show", "TRS-000099"]);
    assert!(e.contains("TRS-000099") && e.contains("session temp list"), "{e}");

    let id = new_temp(d, "kenji", &["--start", "+1h", "--end", "+2h"]);
    ok(d, &["--actor", "mike", "session", "temp", "approve", &id]);
    let out = ok(d, &["--actor", "kenji", "session", "temp", "edit", &id, "--role", "SecurityAuditor", "--org", "USMF", "--type", "replace", "--reason", "audit"]);
    assert!(out.contains("it is a draft and needs approval"), "{out}");
    let s = json(d, &["session", "temp", "show", &id]);
    assert_eq!(s["status"], "draft", "a planned session goes back to draft: {s}");
    assert_eq!(s["roles"], serde_json::json!(["SecurityAuditor"]));
    assert_eq!(s["organizations"], serde_json::json!(["USMF"]));
    assert_eq!(s["type"], "replace");
    assert_eq!(s["reason"], "audit");
    ok(d, &["--actor", "kenji", "session", "temp", "edit", &id, "--global"]);
    assert_eq!(json(d, &["session", "temp", "show", &id])["organizations"], serde_json::json!([]));
    let out = ok(d, &["--actor", "kenji", "session", "temp", "cancel", &id, "--note", "not needed"]);
    assert!(out.starts_with(&format!("Cancelled {id} (revision ")), "{out}");
    let s = json(d, &["session", "temp", "show", &id]);
    assert_eq!(s["status"], "cancelled");
    assert_eq!(s["history"].as_array().unwrap().last().unwrap()["note"], "not needed");

    // Self-approval: off by default, allowed by the settings, and flagged.
    assert!(ok(d, &["session", "settings"]).contains("allow self-approval:  false"));
    refused(d, &["--actor", "bella", "session", "settings", "--allow-self-approval", "true"]);
    let out = ok(d, &["--actor", "kenji", "session", "settings", "--allow-self-approval", "true"]);
    assert!(out.contains("allow self-approval:  true"), "{out}");
    assert_eq!(json(d, &["session", "settings"])["settings"]["allow_self_approval"], true);
    let id = new_temp(d, "kenji", &[]);
    let out = ok(d, &["--actor", "kenji", "session", "temp", "approve", &id]);
    assert!(out.contains("self-approval"), "{out}");
    let show = ok(d, &["session", "temp", "show", &id]);
    assert!(show.lines().any(|l| l.contains("planned") && l.contains("kenji") && l.contains(" yes")), "{show}");

    // An administrator processes one session by hand: not batch.
    let out = ok(d, &["--actor", "mike", "session", "temp", "process", &id]);
    assert!(out.starts_with(&format!("{id} planned → active")), "{out}");
    let s = json(d, &["session", "temp", "show", &id]);
    let last = s["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["by"].as_str(), last["batch"].as_bool()), (Some("mike"), Some(false)), "{s}");
}

#[test]
fn the_processor_runs_once_only_and_acts_as_the_actor_given() {
    let dir = demo();
    let d = dir.path();
    let e = refused(d, &["process"]);
    assert!(e.contains("warden serve") && e.contains("--once"), "{e}");
    let id = new_temp(d, "kenji", &[]);
    ok(d, &["--actor", "mike", "session", "temp", "approve", &id]);
    let out = json(d, &["--actor", "nightly-job", "process", "--once"]);
    assert_eq!(out["transitions"][0]["session"], id.as_str(), "{out}");
    assert_eq!(out["transitions"][0]["from"], "planned");
    assert_eq!(out["transitions"][0]["to"], "active");
    assert_eq!(out["refused"], serde_json::json!([]));
    let s = json(d, &["session", "temp", "show", &id]);
    assert_eq!(s["history"].as_array().unwrap().last().unwrap()["by"], "nightly-job");
}

#[test]
fn a_privileged_session_disables_at_once_and_records_what_the_user_does() {
    let dir = demo();
    let d = dir.path();
    let ep = "DEVBenchmarkLog"; // bella has it through SystemUser
    assert!(bella_may(d, ep));
    let e = refused(d, &["--actor", "kenji", "session", "privileged", "new", "--user", "bella", "--start", "now", "--end", "+25h", "--action", "disable"]);
    assert!(e.contains("at most 24 hours"), "{e}");
    let e = refused(d, &["--actor", "kenji", "session", "privileged", "new", "--user", "bella", "--start", "now", "--end", "+1h", "--action", "suspend"]);
    assert!(e.contains("suspend"), "{e}");

    let o = warden(d, &["--actor", "kenji", "session", "privileged", "new", "--user", "bella", "--start", "now", "--end", "+1h", "--action", "disable", "--reason", "incident <b>42</b>"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    assert_eq!(stdout(&o), "PUS-000001\n");
    assert!(bella_may(d, ep), "a draft changes nothing");
    let e = refused(d, &["--actor", "kenji", "session", "privileged", "approve", "PUS-000001"]);
    assert!(e.contains("another system administrator must"), "{e}");
    let out = ok(d, &["--actor", "mike", "session", "privileged", "approve", "PUS-000001", "--note", "ticket 42"]);
    assert!(out.starts_with("Approved PUS-000001: bella's account disabled for the session"), "{out}");
    assert!(!bella_may(d, ep), "disabled from the approval on, before the processor runs");
    let e = refused(d, &["--actor", "mike", "session", "privileged", "recording", "PUS-000001", "--delete"]);
    assert!(e.contains("still being made"), "{e}");
    let e = refused(d, &["--actor", "mike", "session", "privileged", "cancel", "PUS-000001"]);
    assert!(e.contains("a started session cannot be cancelled"), "{e}");

    let out = ok(d, &["process", "--once"]);
    assert!(out.starts_with("PUS-000001 approved → active (due "), "{out}");
    assert!(!bella_may(d, ep));

    append_activity(d, "bella", "check", serde_json::json!({"entry_point": "MenuItemDisplay/DEVBenchmarkLog", "access": "Read", "organization": "USMF", "decision": "deny"}));
    append_activity(d, "bella", "activity", serde_json::json!({"action": "open <script>alert(1)</script>", "form": "CustTable"}));
    append_activity(d, "carlos", "activity", serde_json::json!({"action": "not bella's"}));

    let jsonl = ok(d, &["session", "privileged", "recording", "PUS-000001"]);
    let events: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    assert_eq!(events.len(), 2, "{jsonl}");
    assert_eq!((events[0]["kind"].as_str(), events[1]["kind"].as_str()), (Some("check"), Some("activity")));
    assert_eq!(events[0]["detail"]["decision"], "deny");
    assert_eq!(events[1]["user"], "bella");

    let html = ok(d, &["session", "privileged", "recording", "PUS-000001", "--format", "html"]);
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"), "{html}");
    assert!(html.contains("incident &lt;b&gt;42&lt;/b&gt;"), "the reason is escaped:\n{html}");
    assert!(!html.contains("<b>") && !html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    assert!(html.contains("MenuItemDisplay/DEVBenchmarkLog · Read · USMF → deny"), "{html}");
    assert!(html.contains("<dd>mike</dd>") && html.contains("<dd>active</dd>"), "{html}");
    let file = d.join("rec.html");
    let out = ok(d, &["session", "privileged", "recording", "PUS-000001", "--format", "html", "--out", file.to_str().unwrap()]);
    assert!(out.contains("(2 events)"), "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), html);

    let show = ok(d, &["session", "privileged", "show", "PUS-000001"]);
    for want in ["Privileged user session PUS-000001", "status            active", "account at start  enabled", "ticket 42"] {
        assert!(show.contains(want), "{want}:\n{show}");
    }
    let log = json(d, &["session", "privileged", "log", "PUS-000001"]);
    assert_eq!(log["audit"].as_array().unwrap().len(), 3, "{log}");
    assert!(log.get("role_changes").is_none(), "{log}");
    assert!(ok(d, &["session", "privileged", "log", "PUS-000001"]).contains("Audit log of PUS-000001:"));
    let list = json(d, &["session", "privileged", "list", "--user", "BELLA"]);
    assert_eq!(list[0]["id"], "PUS-000001", "{list}");
    assert_eq!(list[0]["status"], "active");
    assert!(ok(d, &["session", "privileged", "list"]).contains("PUS-000001  bella  active  disable"));
}

#[test]
fn privileged_sessions_are_rejected_cancelled_and_their_recording_deleted_once_ended() {
    let dir = demo();
    let d = dir.path();
    let new = |end: &str| ok(d, &["--actor", "kenji", "session", "privileged", "new", "--user", "bella", "--start", "now", "--end", end, "--action", "enable"]).trim().to_string();
    let a = new("+1h");
    let out = ok(d, &["--actor", "mike", "session", "privileged", "reject", &a, "--note", "no ticket"]);
    assert!(out.starts_with(&format!("Rejected {a}")), "{out}");
    let e = refused(d, &["--actor", "mike", "session", "privileged", "approve", &a]);
    assert!(e.contains("is rejected"), "{e}");
    let b = ok(d, &["--actor", "kenji", "session", "privileged", "new", "--user", "bella", "--start", "+1h", "--end", "+2h", "--action", "enable"]).trim().to_string();
    ok(d, &["--actor", "mike", "session", "privileged", "approve", &b]);
    ok(d, &["--actor", "mike", "session", "privileged", "cancel", &b]);
    assert_eq!(json(d, &["session", "privileged", "list", "--status", "cancelled"])[0]["id"], b.as_str());

    // A three-second window (its start is `now` to the second): record, let it end, process, then delete.
    let c = new("+3s");
    let created = std::time::Instant::now();
    ok(d, &["--actor", "mike", "session", "privileged", "approve", &c]);
    append_activity(d, "bella", "activity", serde_json::json!({"action": "fix the posting profile"}));
    std::thread::sleep(std::time::Duration::from_millis(3100).saturating_sub(created.elapsed()));
    let out = ok(d, &["process", "--once"]);
    assert!(out.contains(&format!("{c} approved → active")) && out.contains(&format!("{c} active → ended")), "{out}");
    let file = d.join("rec.jsonl");
    let out = ok(d, &["--actor", "mike", "session", "privileged", "recording", &c, "--out", file.to_str().unwrap(), "--delete"]);
    assert!(out.contains("Deleted the recording of") && out.contains(": 1 event (revision"), "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 1, "written before the deletion");
    assert_eq!(ok(d, &["session", "privileged", "recording", &c]), "", "nothing left");
    let s = json(d, &["session", "privileged", "show", &c]);
    assert_eq!(s["recording_deleted"]["by"], "mike", "{s}");
    assert_eq!(s["recording_deleted"]["events"], 1);
    assert!(ok(d, &["session", "privileged", "show", &c]).contains("deleted at"));
}

/// The end of a privileged session seals its recording; rows edited, added
/// or removed afterwards make reading it fail loudly, and a deletion is
/// still possible (audited, with what the seal said).
#[test]
fn a_recording_altered_after_its_seal_is_refused_not_served() {
    let dir = demo();
    let d = dir.path();
    let c = ok(d, &["--actor", "kenji", "session", "privileged", "new", "--user", "bella", "--start", "now", "--end", "+3s", "--action", "enable"]).trim().to_string();
    let created = std::time::Instant::now();
    ok(d, &["--actor", "mike", "session", "privileged", "approve", &c]);
    append_activity(d, "bella", "activity", serde_json::json!({"action": "fix the posting profile"}));
    append_activity(d, "bella", "activity", serde_json::json!({"action": "post journal GJ-7"}));
    std::thread::sleep(std::time::Duration::from_millis(3100).saturating_sub(created.elapsed()));
    ok(d, &["process", "--once"]);
    ok(d, &["process", "--once"]);
    let o = warden(d, &["session", "privileged", "recording", &c]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 2);
    assert!(common::stderr(&o).contains("intact (2 events, sha256 "), "{}", common::stderr(&o));

    // Edit what bella did, behind Warden's back.
    tamper(d, "UPDATE activity SET detail = '{\"action\":\"nothing to see\"}' WHERE user = 'bella' AND detail LIKE '%GJ-7%'");
    let e = refused(d, &["session", "privileged", "recording", &c]);
    assert!(e.contains(&format!("recording of {c} altered after sealing")) && e.contains("2 events"), "{e}");
    let e = refused(d, &["session", "privileged", "recording", &c, "--format", "html"]);
    assert!(e.contains("altered after sealing"), "{e}");

    // Deleting it is still possible; the audit event keeps that it was altered.
    let out = ok(d, &["--actor", "mike", "session", "privileged", "recording", &c, "--delete"]);
    assert!(out.contains("Deleted the recording of") && out.contains(": 2 events"), "{out}");
    let audit = json(d, &["audit", "log", "--actor", "mike"]);
    let deletion = audit.as_array().unwrap().iter().rev().find(|e| e["action"] == "privileged-session recording delete").cloned().expect("audited");
    assert_eq!(deletion["summary"]["seal"]["state"], "altered", "{deletion}");
    let o = warden(d, &["session", "privileged", "recording", &c]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), ""));
    assert!(common::stderr(&o).contains("deleted at") && common::stderr(&o).contains("it held 2 events at its end"), "{}", common::stderr(&o));

    // A row slipped into the window after the deletion is found too.
    let start = json(d, &["session", "privileged", "show", &c])["start"].as_str().and_then(|t| warden_model::Timestamp::parse(t).ok()).expect("a start");
    tamper(d, &format!("INSERT INTO activity (at, user, kind, source, detail) VALUES ({}, 'bella', 'activity', 'erp', '{{}}')", start.0 + 1));
    let e = refused(d, &["session", "privileged", "recording", &c]);
    assert!(e.contains("altered after sealing") && e.contains("although it was deleted"), "{e}");
}
