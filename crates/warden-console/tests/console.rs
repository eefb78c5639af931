//! The console over real HTTP: sign-in, CSRF, what each built-in role sees
//! and may do, and the refusals shown where they belong.

mod common;

use common::{start, ADMIN_PASSWORD, PASSWORD};
use reqwest::StatusCode;

/// Every section of the navigation, as the administrator opens it.
const PAGES: &[&str] = &["/", "/security", "/users", "/check", "/rules", "/sod", "/sod/conflicts", "/sod/roles", "/sod/similarity", "/sessions/temporary", "/sessions/privileged", "/audit", "/webhooks", "/settings"];

#[tokio::test]
async fn the_bootstrap_password_signs_in_and_every_page_opens() {
    let c = start().await;
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = anonymous.get(c.url("/users?q=car")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=%2Fusers%3Fq%3Dcar", "back to the page asked for after signing in");
    let wrong = anonymous.post(c.url("/login")).form(&[("user", "admin"), ("password", "wrong")]).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("Wrong user name or password"));

    let admin = c.sign_in("admin", ADMIN_PASSWORD).await;
    for page in PAGES {
        let (status, body) = admin.get(page).await;
        assert_eq!(status, StatusCode::OK, "{page}: {body}");
        assert!(body.contains("Signed in as <strong>admin</strong>"), "{page}");
    }
    let (_, users) = admin.get("/users?q=carlos").await;
    assert!(users.contains("href=\"/users/carlos\""), "search finds carlos");
    let page = admin.client.get(c.url("/")).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["cache-control"], "no-store", "signed-in pages are not cached");
    let (_, dashboard) = admin.get("/").await;
    assert!(dashboard.contains("<svg") && dashboard.contains("SoD conflicts by severity"), "charts are drawn");
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let c = start().await;
    let admin = c.sign_in("admin", ADMIN_PASSWORD).await;
    let before = c.state.snapshot().revision;
    for (path, fields) in [
        ("/users", vec![("id", "mallory")]),
        ("/users/carlos/disable", vec![]),
        ("/security/new/role", vec![("name", "Forged")]),
        ("/logout", vec![]),
    ] {
        let (status, _, body) = admin.post_raw(path, &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} without a token: {body}");
        let mut wrong = fields.clone();
        wrong.push(("csrf", "0000000000000000000000000000000000000000000000000000000000000000"));
        let (status, _, _) = admin.post_raw(path, &wrong).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} with a wrong token");
    }
    assert_eq!(c.state.snapshot().revision, before, "nothing was written");
    // With the token the same form works.
    let (status, location, body) = admin.post("/users/carlos/disable", &[]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/users/carlos")), "{body}");
    assert!(!c.state.snapshot().model.users["carlos"].enabled);
}

#[tokio::test]
async fn an_auditor_sees_every_page_read_only_and_is_refused_any_write() {
    let c = start().await;
    c.add_user_with_role("audrey", warden_core::builtin::SECURITY_AUDITOR).await;
    let auditor = c.sign_in("audrey", PASSWORD).await;
    for page in ["/", "/security", "/security/role/SystemUser", "/users", "/users/carlos", "/sod", "/sod/conflicts", "/audit"] {
        let (status, body) = auditor.get(page).await;
        assert_eq!(status, StatusCode::OK, "{page}: {body}");
        // The only form an auditor gets that writes is signing out (and verifying the trail, which writes nothing).
        let writes: Vec<&str> = body.match_indices("method=\"post\" action=\"").map(|(i, m)| body[i + m.len()..].split('"').next().unwrap()).filter(|a| !matches!(*a, "/logout" | "/audit/verify")).collect();
        assert!(writes.is_empty(), "{page} offers an auditor {writes:?}");
    }
    let before = c.state.snapshot().revision;
    for (path, fields) in [
        ("/users", vec![("id", "mallory")]),
        ("/users/carlos/disable", vec![]),
        ("/users/carlos/assign", vec![("role", "SystemAdministrator")]),
        ("/security/new/role", vec![("name", "Forged")]),
        ("/sod/rules", vec![("name", "R"), ("first", "a"), ("second", "b")]),
    ] {
        let (status, _, body) = auditor.post(path, &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    assert_eq!(c.state.snapshot().revision, before);
}

#[tokio::test]
async fn an_sod_refusal_shows_at_the_field_and_an_override_reaches_the_register() {
    let c = start().await;
    let admin = c.sign_in("admin", ADMIN_PASSWORD).await;
    // A role holding both sides of a rule is refused at its duties, naming the rule.
    let (status, _, body) = admin
        .post("/security/new/role", &[("name", "RiskyPayments"), ("duties", "PaymVendorPaymentTransactionsApprove\nBankBankAccountsMaintain")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let at_field = body.split("id=\"f-duties\"").nth(1).expect("the duties field");
    assert!(at_field.split("</div>").next().unwrap().contains("ApproveVendorPaymentsVsMaintainBankAccounts"), "the rule is named at the duties field");
    assert!(!c.state.snapshot().model.roles.contains_key("RiskyPayments"));

    // Two roles that together break the rule: the second is refused, then allowed with a reason.
    let (status, ..) = admin.post("/users/carlos/assign", &[("role", "VendInvoiceAccountsPayableManager")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, body) = admin.post("/users/carlos/assign", &[("role", "PaymTreasurer")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.contains("ApproveVendorPaymentsVsMaintainBankAccounts") && body.contains("name=\"override_reason\""), "the rule and the override are offered");
    let (status, ..) = admin.post("/users/carlos/assign", &[("role", "PaymTreasurer"), ("override_reason", "covering the treasurer's leave")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, register) = admin.get("/sod/conflicts?status=allowed").await;
    assert!(register.contains("covering the treasurer&#39;s leave") || register.contains("covering the treasurer's leave"), "{register}");
}

#[tokio::test]
async fn view_as_user_explains_a_decision() {
    let c = start().await;
    let admin = c.sign_in("admin", ADMIN_PASSWORD).await;
    let (status, body) = admin.get("/users/adam/view?entry_point=DEVSQLQueryExecute&access=update").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Paths to the entry point") && body.contains("b-allow"), "{body}");
    assert!(body.contains("<option value=\"update\" selected>"), "the form shows the access asked about");
    let (_, unknown) = admin.get("/check?user=adam&entry_point=NoSuchThing&access=read").await;
    assert!(unknown.contains("aria-invalid=\"true\""), "an unknown entry point is an error at its field");
}

#[tokio::test]
async fn odd_names_are_refused_at_their_field_or_reach_their_own_page() {
    let c = start().await;
    let admin = c.sign_in("admin", ADMIN_PASSWORD).await;
    let before = c.state.snapshot().revision;
    // Control and invisible characters are refused by the identifier rule, at the id field, and write nothing.
    for bad in ["eve\u{1b}[2J", "zero\u{200b}width", " padded"] {
        let (status, _, body) = admin.post("/users", &[("id", bad)]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}: {body}");
        let error = body.split("id=\"f-id-error\"").nth(1).and_then(|e| e.split("</p>").next()).expect("the refusal is at the id field");
        // The field gives back what was typed, to correct it; the refusal names the character without holding it.
        assert!(!error.contains('\u{1b}') && !error.contains('\u{200b}'), "{bad:?}: {error}");
    }
    assert_eq!(c.state.snapshot().revision, before);
    // A name with `/` and `..` that the rule accepts names its own page, percent-encoded, and no other.
    let odd = "ops/../team";
    let (status, location, body) = admin.post("/users", &[("id", odd), ("name", "<script>alert(1)</script>")]).await;
    if status == StatusCode::SEE_OTHER {
        assert_eq!(location.as_deref(), Some("/users/ops%2F..%2Fteam"));
        let (status, page) = admin.get("/users/ops%2F..%2Fteam").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("User ops/../team") && !page.contains("<script>alert(1)"), "the name is escaped");
    } else {
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.contains("f-id-error"), "refused at the id field");
    }
}

/// Issue 15: a pasted rule that repeats a stored rule's pair (here reversed)
/// goes in, and the page says so instead of redirecting the warning away.
#[tokio::test]
async fn an_imported_rule_that_repeats_a_pair_is_shown_as_a_warning() {
    let c = start().await;
    let admin = c.sign_in("admin", ADMIN_PASSWORD).await;
    let data = "name,first_duty,second_duty\nBankVsPayments,BankBankAccountsMaintain,PaymVendorPaymentTransactionsApprove\n";
    let (status, _, body) = admin.post("/sod/rules/import", &[("data", data)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("Warning: the pasted rules:2: rule &#39;BankVsPayments&#39; separates the same pair as stored rule &#39;ApproveVendorPaymentsVsMaintainBankAccounts&#39; in reverse order")
            || body.contains("Warning: the pasted rules:2: rule 'BankVsPayments' separates the same pair as stored rule 'ApproveVendorPaymentsVsMaintainBankAccounts' in reverse order"),
        "{body}"
    );
    assert!(c.state.snapshot().model.sod_rules.contains_key("BankVsPayments"));
}
