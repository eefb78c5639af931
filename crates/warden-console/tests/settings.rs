//! The Webhooks, Settings and Assignment rules pages over a real server, a
//! real SQLite store and a browser-like client (cookies, forms, redirects).

mod common;

use common::ADMIN_PASSWORD;
use reqwest::{Client, StatusCode};
use warden_core::webhooks::WebhookKey;
use warden_model::Timestamp;
use warden_server::webhooks::WebhookOptions;
use warden_store::ActivityEvent;

// ------------------------------------------------------------------ harness


/// The shared test server ([`common::Console`]), with this file's helpers.
struct Server(common::Console);

impl std::ops::Deref for Server {
    type Target = common::Console;
    fn deref(&self) -> &common::Console {
        &self.0
    }
}

/// A server with the demo data, the console, a bootstrap administrator and
/// an auditor (`audrey`, built-in role SecurityAuditor).
async fn start(webhooks: WebhookOptions) -> Server {
    let server = Server(common::start_with(webhooks, true).await);
    server.add_user_with_role("audrey", "SecurityAuditor").await;
    server
}

/// A signed-in browser that follows redirects, as a person's does.
struct Browser {
    client: Client,
    base: String,
}

impl Server {
    async fn sign_in(&self, user: &str, password: &str) -> Browser {
        let client = Client::builder().cookie_store(true).build().unwrap();
        let r = client.post(format!("{}/login", self.base)).form(&[("user", user), ("password", password)]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "sign-in as {user}");
        assert!(r.url().path() == "/", "signed in lands on the dashboard: {}", r.url());
        Browser { client, base: self.base.clone() }
    }
}

impl Browser {
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// The session's CSRF token, as every form of a page carries it.
    async fn csrf(&self) -> String {
        let (_, page) = self.get("/").await;
        between(&page, "name=\"csrf\" value=\"", "\"").expect("a page with a form carries the CSRF token").to_string()
    }

    /// Posts a form with the CSRF token; follows the redirect of a success.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let csrf = self.csrf().await;
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend_from_slice(fields);
        self.post_raw(path, &form).await
    }

    async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let r = self.client.post(format!("{}{path}", self.base)).form(form).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// The secret a page shows once.
fn shown_secret(page: &str) -> String {
    between(page, "id=\"secret\">", "<").expect("the answer shows the secret").to_string()
}

// ------------------------------------------------------------------ settings

#[tokio::test]
async fn a_token_is_shown_once_works_and_stops_working_when_revoked() {
    let server = start(WebhookOptions::default()).await;
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;

    let (status, page) = admin.get("/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("API tokens") && page.contains("action=\"/settings/tokens\""), "{page}");
    assert!(page.contains("Nothing is locked out now."), "{page}");

    let (status, page) = admin.post("/settings/tokens", &[("user", "svc-integration"), ("label", "nightly export"), ("expires_in_days", "30")]).await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    assert!(page.contains("shown once"), "{page}");
    let token = shown_secret(&page);
    assert!(token.starts_with("wdn_"), "{token}");
    let id = between(&token, "wdn_", "_").unwrap().to_string();

    let me = |t: String| {
        let base = server.base.clone();
        async move { Client::new().get(format!("{base}/api/v1/auth/me")).bearer_auth(t).send().await.unwrap().status() }
    };
    assert_eq!(me(token.clone()).await, StatusCode::OK, "the token shown signs requests in");

    // On reload the token is listed, its secret nowhere.
    let (_, page) = admin.get("/settings").await;
    assert!(page.contains(&id) && page.contains("nightly export"), "{page}");
    assert!(!page.contains(&token), "the secret is not shown again");

    // Refused at the field concerned.
    let (status, page) = admin.post("/settings/tokens", &[("user", "nobody-here")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("unknown user &#39;nobody-here&#39;") || page.contains("unknown user 'nobody-here'"), "{page}");
    let (status, page) = admin.post("/settings/tokens", &[("user", "svc-integration"), ("expires_in_days", "9999")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("f-expires_in_days-error"), "{page}");

    // Rotation: a new token, shown once; the old one keeps its grace.
    let (status, page) = admin.post(&format!("/settings/tokens/{id}/rotate"), &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    let rotated = shown_secret(&page);
    assert_ne!(rotated, token);
    assert!(page.contains(&format!("replaces token <code>{id}</code>")), "{page}");
    assert_eq!(me(rotated.clone()).await, StatusCode::OK);
    assert_eq!(me(token.clone()).await, StatusCode::OK, "the old token works during the grace");

    // Revocation: the token stops at once.
    let (status, page) = admin.post(&format!("/settings/tokens/{id}/revoke"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(!page.contains(&format!("<code>{id}</code>")), "the revoked token is no longer listed");
    assert_eq!(me(token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(rotated).await, StatusCode::OK, "revoking one token leaves its replacement");

    // Without the session's CSRF token nothing is written.
    let (status, _) = admin.post_raw("/settings/tokens", &[("user", "svc-integration")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = admin.post_raw("/settings/tokens", &[("csrf", "forged"), ("user", "svc-integration")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let tokens = server.state.snapshot().model.credentials.values().filter(|c| c.kind == warden_model::CredentialKind::ApiToken).count();
    assert_eq!(tokens, 1, "only the rotated token is left");
}

#[tokio::test]
async fn an_organization_is_added_and_a_clash_is_shown_at_its_id() {
    let server = start(WebhookOptions::default()).await;
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;

    let (status, page) = admin.post("/settings/organizations", &[("id", "NLMF"), ("name", "Contoso Netherlands")]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("NLMF") && page.contains("Contoso Netherlands"), "{page}");
    assert_eq!(server.state.snapshot().model.organizations.get("NLMF").and_then(|o| o.name.clone()).as_deref(), Some("Contoso Netherlands"));

    let (status, page) = admin.post("/settings/organizations", &[("id", "USMF")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("f-id-error") && page.contains("already exists"), "{page}");

    // Search and paging keep to the query string.
    let (_, page) = admin.get("/settings?org_q=germany").await;
    assert!(page.contains("DEMF") && !page.contains("<td>USMF</td>"), "{page}");
}

#[tokio::test]
async fn the_lockout_in_force_is_listed_by_user_and_address() {
    let server = start(WebhookOptions::default()).await;
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;
    let stranger = Client::new();
    for _ in 0..warden_core::credentials::LOCKOUT.max_failures {
        let r = stranger.post(format!("{}/login", server.base)).form(&[("user", "Mallory"), ("password", "guess")]).send().await.unwrap();
        assert!(matches!(r.status(), StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS), "{}", r.status());
    }
    let (status, page) = admin.get("/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Nothing is locked out now."), "{page}");
    assert!(page.contains("user mallory"), "the user name is locked: {page}");
    assert!(page.contains("client 127.0.0.1"), "and the address it came from: {page}");
}

// ------------------------------------------------------------------ webhooks

#[tokio::test]
async fn a_webhook_is_added_and_rotated_its_secret_shown_once_and_its_deliveries_listed() {
    let keys = tempfile::tempdir().unwrap();
    let key = WebhookKey::load(Some(keys.path())).unwrap().expect("a key file is made");
    let server = start(WebhookOptions { key: Some(key.clone()), allow_private: true, ..Default::default() }).await;
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;

    let (status, page) = admin.get("/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("method=\"post\" action=\"/webhooks\""), "the add form: {page}");

    let (status, page) = admin.post("/webhooks", &[("url", "http://127.0.0.1:9/hook"), ("events", "sod.conflict.*, session.privileged.ended"), ("description", "SOC")]).await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    let secret = shown_secret(&page);
    let webhook = server.state.snapshot().model.webhooks.values().next().cloned().expect("the webhook is stored");
    assert_eq!(webhook.events, vec!["sod.conflict.*".to_string(), "session.privileged.ended".to_string()]);
    assert_eq!(secret, key.secret(&webhook), "the secret shown is the one deliveries are signed with");

    let (_, page) = admin.get("/webhooks").await;
    assert!(page.contains(&webhook.id) && page.contains("SOC"), "{page}");
    assert!(!page.contains(&secret), "the secret is not shown again");

    // Refusals at their fields.
    let (status, page) = admin.post("/webhooks", &[("url", "http://127.0.0.1:9/x"), ("events", "sod.conflicts")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("f-events-error") && page.contains("unknown alert type"), "{page}");
    let (status, page) = admin.post("/webhooks", &[("url", "ftp://example.com/x")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("f-url-error"), "{page}");

    // Rotation: a new secret, shown once; the old one no longer signs.
    let (status, page) = admin.post(&format!("/webhooks/{}/rotate", webhook.id), &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let rotated = shown_secret(&page);
    let after = server.state.snapshot().model.webhooks.get(&webhook.id).cloned().unwrap();
    assert_eq!(after.generation, webhook.generation + 1);
    assert_eq!(rotated, key.secret(&after));
    assert_ne!(rotated, secret);

    // The delivery log shows this webhook's attempts, not another's.
    for (id, outcome) in [(webhook.id.as_str(), "delivered"), ("wh_other", "failed elsewhere")] {
        let detail = serde_json::json!({"webhook": id, "url": "http://127.0.0.1:9/hook", "delivery": "alert-1", "type": "sod.conflict.unresolved", "attempt": 1, "outcome": outcome, "http_status": 204, "error": null});
        let event = ActivityEvent { id: 0, at: Timestamp::now(), user: "warden".into(), kind: "webhook_delivery".into(), source: Some("test".into()), detail, claimed_at: None };
        server.store.append_activity(&event).await.unwrap();
    }
    let (status, page) = admin.get(&format!("/webhooks/{}", webhook.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("delivered") && page.contains("alert-1") && !page.contains("failed elsewhere"), "{page}");
    assert!(page.contains(&format!("action=\"/webhooks/{}/rotate\"", webhook.id)), "{page}");
    let (_, page) = admin.get(&format!("/webhooks/{}?since=%2B1h", webhook.id)).await;
    assert!(!page.contains("alert-1"), "nothing after an hour from now: {page}");
    let (_, page) = admin.get(&format!("/webhooks/{}?since=yesterday-ish", webhook.id)).await;
    assert!(page.contains("f-since-error"), "{page}");

    // Removing.
    let (status, _) = admin.post(&format!("/webhooks/{}/delete", webhook.id), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(server.state.snapshot().model.webhooks.is_empty());
    let (status, _) = admin.get(&format!("/webhooks/{}", webhook.id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_a_webhook_key_the_page_says_so_and_adds_nothing() {
    let server = start(WebhookOptions::default()).await;
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;
    let (status, page) = admin.get("/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("WARDEN_WEBHOOK_KEY") && !page.contains("method=\"post\" action=\"/webhooks\""), "{page}");
    let (status, page) = admin.post("/webhooks", &[("url", "https://example.com/hook")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(server.state.snapshot().model.webhooks.is_empty());
}

// ------------------------------------------------------------------ rules

#[tokio::test]
async fn a_rule_is_created_shows_the_users_it_matches_and_is_edited() {
    let server = start(WebhookOptions::default()).await;
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;

    let (status, page) = admin.get("/rules").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("FinanceAccountsPayable"), "the demo's rule: {page}");

    let fields = [("name", "ITDevelopers"), ("role", "DEVIntegDeveloperRole"), ("conditions", "department=IT\ntitle~=developer"), ("organizations", "DEMF"), ("enabled", "on")];
    let (status, page) = admin.post("/rules", &fields).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Assignment rule ITDevelopers"), "{page}");
    let matches = between(&page, "id=\"matches\"", "</section>").unwrap();
    for user in ["adam", "dana", "fatima", "george", "hanna", "nora"] {
        assert!(matches.contains(&format!(">{user}</a>")), "{user} matches: {matches}");
    }
    for user in ["carlos", "bella", "mike"] {
        assert!(!matches.contains(&format!(">{user}</a>")), "{user} does not match");
    }
    assert!(matches.contains("of 6"), "{matches}");
    assert!(matches.contains("manually"), "dana's manual assignment stands instead: {matches}");
    let model = server.state.snapshot().model.clone();
    let adam = model.assignments_of("adam").iter().find(|a| a.role == "DEVIntegDeveloperRole").expect("the rule assigned adam");
    assert_eq!((adam.rule.as_deref(), adam.organizations.as_slice()), (Some("ITDevelopers"), &["DEMF".to_string()][..]));

    // Search among the matches.
    let (_, page) = admin.get("/rules/ITDevelopers?q=nora").await;
    let matches = between(&page, "id=\"matches\"", "</section>").unwrap();
    assert!(matches.contains(">nora</a>") && !matches.contains(">adam</a>"), "{matches}");

    // Editing: adam is excluded, and loses the role the rule gave him.
    let version = between(&page, "name=\"version\" value=\"", "\"").expect("the edit form carries the version").to_string();
    let edited = [("version", version.as_str()), ("role", "DEVIntegDeveloperRole"), ("conditions", "department=IT\ntitle~=developer"), ("organizations", "DEMF"), ("excluded_users", "adam"), ("enabled", "on")];
    let (status, page) = admin.post("/rules/ITDevelopers/edit", &edited).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let matches = between(&page, "id=\"matches\"", "</section>").unwrap();
    assert!(!matches.contains(">adam</a>") && matches.contains(">george</a>"), "{matches}");
    assert!(!server.state.snapshot().model.assignments_of("adam").iter().any(|a| a.role == "DEVIntegDeveloperRole"));

    // A stale version is refused rather than overwriting.
    let (status, _) = admin.post("/rules/ITDevelopers/edit", &edited).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Refusals at their fields.
    let (status, page) = admin.post("/rules", &[("name", "Bad"), ("role", "DEVIntegDeveloperRole"), ("conditions", "department")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("f-conditions-error") && page.contains("line 1"), "{page}");
    let (status, page) = admin.post("/rules", &[("name", "Bad"), ("role", "NoSuchRole"), ("conditions", "department=IT")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("f-role-error"), "{page}");
    let (status, page) = admin.post("/rules", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("f-name-error") && page.contains("already exists"), "{page}");
    assert!(!server.state.snapshot().model.assignment_rules.contains_key("Bad"));
}

// ------------------------------------------------------------------ read-only

#[tokio::test]
async fn an_auditor_sees_the_pages_without_forms_and_cannot_post() {
    let keys = tempfile::tempdir().unwrap();
    let key = WebhookKey::load(Some(keys.path())).unwrap().unwrap();
    let server = start(WebhookOptions { key: Some(key), allow_private: true, ..Default::default() }).await;
    let auditor = server.sign_in("audrey", common::PASSWORD).await;

    let (status, page) = auditor.get("/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("USMF") && page.contains("Sign-in lockout"), "{page}");
    assert!(!page.contains("API tokens"), "no Credentials Read, no tokens: {page}");
    assert!(!page.contains("method=\"post\" action=\"/settings"), "no forms: {page}");

    let (status, page) = auditor.get("/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("method=\"post\" action=\"/webhooks\""), "{page}");

    let (status, page) = auditor.get("/rules").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("FinanceAccountsPayable") && !page.contains("method=\"post\" action=\"/rules\""), "{page}");
    let (status, page) = auditor.get("/rules/FinanceAccountsPayable").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(">bella</a>") && !page.contains("/edit\""), "{page}");

    for (path, fields) in [
        ("/settings/organizations", vec![("id", "XXMF")]),
        ("/settings/tokens", vec![("user", "audrey")]),
        ("/settings/tokens/0000000000000000/revoke", vec![]),
        ("/webhooks", vec![("url", "http://127.0.0.1:9/hook")]),
        ("/rules", vec![("name", "Mine"), ("role", "SecurityAuditor"), ("conditions", "id=audrey")]),
        ("/rules/FinanceAccountsPayable/edit", vec![("role", "SecurityAuditor"), ("conditions", "id=audrey")]),
    ] {
        let (status, _) = auditor.post(path, &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let m = server.state.snapshot().model.clone();
    assert!(!m.organizations.contains_key("XXMF") && m.webhooks.is_empty() && !m.assignment_rules.contains_key("Mine"));
    assert_eq!(m.assignment_rules["FinanceAccountsPayable"].role, "VendInvoiceAccountsPayableClerk");
}
