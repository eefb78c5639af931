//! The Check page with a form control or field: the Lossless fixture's
//! privilege allows Update on CustTable and denies it on control CreditMax.

mod common;

use common::{start, ADMIN_PASSWORD};
use reqwest::StatusCode;
use std::path::Path;

#[tokio::test]
async fn the_check_page_explains_a_control_check() {
    let c = start().await;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../warden-aot/tests/fixtures/lossless");
    warden_core::Warden::new(c.store.clone(), "admin").import_aot(&[fixture], false).await.expect("import");
    c.add_user_with_role("vera", "LosslessVendorPortalUser").await;
    let admin = c.sign_in("admin", ADMIN_PASSWORD).await;
    let ep = "/check?user=vera&entry_point=MenuItemDisplay%2FCustTable&access=update";
    let (status, whole) = admin.get(ep).await;
    assert_eq!(status, StatusCode::OK);
    assert!(whole.contains("b-allow"), "{whole}");
    let (_, control) = admin.get(&format!("{ep}&control=CreditMax")).await;
    assert!(control.contains("b-deny") && control.contains("its own grant on control CreditMax"), "{control}");
    assert!(control.contains("Grant on control CreditMax: <code>Read:Allow Update:Deny</code>"), "{control}");
    assert!(control.contains("value=\"CreditMax\""), "the form keeps the control asked about");
    let (_, both) = admin.get(&format!("{ep}&control=A&field=B")).await;
    assert!(both.contains("aria-invalid=\"true\"") && both.contains("not both") && !both.contains("b-deny"), "{both}");
    let (_, view) = admin.get("/users/vera/view?entry_point=MenuItemDisplay%2FCustTable&access=update&field=CustTable.CreditMax").await;
    assert!(view.contains("b-deny") && view.contains("field CustTable.CreditMax"), "{view}");
}
