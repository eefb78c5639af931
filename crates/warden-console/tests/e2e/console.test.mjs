// End-to-end tests of the web console: a real `warden serve --demo` on a
// temporary store, driven by playwright-core in Debian's headless Chromium,
// with axe-core run in every page. Screenshots of each main page at
// 1280×800 and 400 px wide are kept under target/console-screenshots/.
//
//   WARDEN_BIN=target/debug/warden node crates/warden-console/tests/e2e/console.test.mjs
//
// (run.sh beside this file installs what it needs and runs it.)

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../../..");
const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const BIN = resolve(root, process.env.WARDEN_BIN ?? "target/debug/warden");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = join(root, "target", "console-screenshots");
const ADMIN_PASSWORD = "e2e bootstrap passphrase";
const PASSWORD = "e2e second passphrase";

/** The main pages, by a name for their screenshot. */
const PAGES = {
  dashboard: "/",
  security: "/security",
  role: "/security/role/SystemAdministrator",
  users: "/users",
  user: "/users/carlos",
  "view-as": "/users/adam/view?entry_point=DEVSQLQueryExecute&access=update",
  check: "/check?user=carlos&entry_point=DEVSQLQueryExecute&access=update",
  rules: "/rules",
  sod: "/sod",
  conflicts: "/sod/conflicts",
  "temporary-sessions": "/sessions/temporary",
  "privileged-sessions": "/sessions/privileged",
  audit: "/audit",
  webhooks: "/webhooks",
  settings: "/settings",
};

let server;
let base;
const dirs = [];
const browsers = [];

function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const data = tempDir("warden-e2e-store-");
  server = spawn(BIN, ["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir", data], {
    env: { ...process.env, WARDEN_ADMIN_PASSWORD: ADMIN_PASSWORD, RUST_LOG: "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  base = await new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`warden serve did not start:\n${out}`)), 120_000);
    server.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/Warden listening on (http:\/\/[0-9.:]+)/);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    server.on("exit", (code) => fail(new Error(`warden serve exited with ${code}:\n${out}`)));
  });
});

after(async () => {
  for (const b of browsers) await b.close().catch(() => {});
  server?.kill("SIGTERM");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A browser of its own (an empty profile): one signed-in person. */
async function browser(width = 1280, height = 800) {
  const context = await chromium.launchPersistentContext(tempDir("warden-e2e-profile-"), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width, height },
    // axe-core is injected into the page as an inline script, which the
    // console's Content-Security-Policy refuses (tests/console.rs checks the policy).
    bypassCSP: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  browsers.push(context);
  return context.pages()[0] ?? context.newPage();
}

async function signIn(page, user, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel("User").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/`);
  assert.match(await page.locator("header .who").innerText(), new RegExp(`Signed in as ${user}`));
}

/** Calls the API with the page's session (cookie + the CSRF token the API returned at sign-in). */
async function api(page, method, path, body) {
  return page.evaluate(
    async ([method, path, body]) => {
      const csrf = document.cookie.split("; ").find((c) => c.startsWith("warden_csrf="))?.split("=")[1] ?? "";
      const r = await fetch(path, { method, headers: { "content-type": "application/json", "x-csrf-token": csrf }, body: body ? JSON.stringify(body) : undefined });
      return { status: r.status, text: await r.text() };
    },
    [method, path, body],
  );
}

/** A user with a role and a password, made by the administrator through the API. */
async function addUser(adminPage, id, role) {
  let r = await api(adminPage, "POST", "/api/v1/users", { id, name: id, enabled: true });
  assert.equal(r.status, 201, r.text);
  r = await api(adminPage, "POST", "/api/v1/assignments", { user: id, role });
  assert.equal(r.status, 201, r.text);
  r = await api(adminPage, "PUT", `/api/v1/users/${id}/password`, { password: PASSWORD });
  assert.equal(r.status, 204, r.text);
}

async function axe(page, name) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`),
    [],
    `${name}: accessibility violations`,
  );
}

let admin;

test("the bootstrap administrator signs in with the one-time password", async () => {
  admin = await browser();
  await signIn(admin, "admin", ADMIN_PASSWORD);
  await assert.doesNotReject(admin.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Users" }).waitFor());
});

test("a role that breaks an SoD rule is refused at the field, naming the rule", async () => {
  await admin.goto(`${base}/security`);
  await admin.getByLabel("Name", { exact: true }).fill("RiskyPayments");
  await admin.getByLabel("Duties").fill("PaymVendorPaymentTransactionsApprove\nBankBankAccountsMaintain");
  await admin.getByRole("button", { name: "Create role" }).click();
  const error = admin.locator("#f-duties-error");
  await error.waitFor();
  assert.match(await error.innerText(), /ApproveVendorPaymentsVsMaintainBankAccounts/);
  assert.equal(await admin.getByLabel("Duties").getAttribute("aria-invalid"), "true");
});

test("an assignment allowed with an override reason is in the conflicts register", async () => {
  await admin.goto(`${base}/users/carlos`);
  await admin.getByLabel("Role", { exact: true }).fill("VendInvoiceAccountsPayableManager");
  await admin.getByRole("button", { name: "Assign", exact: true }).click();
  await admin.waitForURL(`${base}/users/carlos`);
  await admin.getByLabel("Role", { exact: true }).fill("PaymTreasurer");
  await admin.getByRole("button", { name: "Assign", exact: true }).click();
  const refusal = admin.getByRole("alert");
  await refusal.first().waitFor();
  assert.match(await refusal.first().innerText(), /ApproveVendorPaymentsVsMaintainBankAccounts/);
  await admin.getByLabel(/Override reason/).fill("covering the treasurer during the audit");
  await admin.getByRole("button", { name: "Assign with override" }).click();
  await admin.waitForURL(`${base}/users/carlos`);
  await admin.goto(`${base}/sod/conflicts?status=allowed`);
  const row = admin.getByRole("row").filter({ hasText: "carlos" });
  assert.match(await row.innerText(), /covering the treasurer during the audit/);
});

test("a temporary role session requested by one administrator is approved by another", async () => {
  await addUser(admin, "second-admin", "SystemAdministrator");
  await admin.goto(`${base}/sessions/temporary`);
  await admin.getByLabel("User", { exact: true }).fill("adam");
  await admin.getByLabel("Roles").fill("PaymTreasurer");
  await admin.getByLabel("Reason", { exact: true }).fill("month-end close");
  await admin.getByRole("button", { name: "Request session" }).click();
  await admin.waitForURL(/\/sessions\/temporary\/[^/?]+(\?.*)?$/);
  const sessionUrl = admin.url().split("?")[0];
  assert.match(await admin.locator("main").innerText(), /draft/i);

  const second = await browser();
  await signIn(second, "second-admin", PASSWORD);
  await second.goto(sessionUrl);
  await second.getByRole("button", { name: "Approve" }).click();
  await second.waitForURL((url) => url.href.startsWith(sessionUrl));
  assert.match(await second.locator("main").innerText(), /planned|active/i);
  assert.match(await second.locator("main").innerText(), /second-admin/);
});

test("view as user: an explanation expands to every step of a path", async () => {
  await admin.goto(`${base}/users/adam/view?entry_point=DEVSQLQueryExecute&access=update`);
  const path = admin.locator(".explain details details").first();
  await path.locator("summary").click();
  assert.equal(await path.evaluate((d) => d.open), true);
  assert.match(await path.innerText(), /privilege/);
  assert.match(await admin.locator(".explain").innerText(), /counts \(active\)/);
});

test("the audit trail verifies as intact and shows the head anchor", async () => {
  await admin.goto(`${base}/audit`);
  await admin.getByRole("button", { name: "Verify the trail" }).click();
  const status = admin.getByRole("status").filter({ hasText: "Intact" });
  await status.waitFor();
  assert.match(await admin.locator("#anchor").innerText(), /^\d+:[0-9a-f]{64}$/);
});

test("every main page reads at 1280×800 and at 400 px wide, without horizontal scrolling or serious accessibility violations", async () => {
  const narrow = await browser(400, 800);
  await signIn(narrow, "admin", ADMIN_PASSWORD);
  for (const [name, path] of Object.entries(PAGES)) {
    for (const [page, width] of [[admin, 1280], [narrow, 400]]) {
      const r = await page.goto(`${base}${path}`);
      assert.equal(r.status(), 200, `${path} at ${width}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow} px at ${width} px`);
      await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
      if (width === 1280) await axe(page, path);
    }
  }
  await axe(narrow, "/ at 400 px");
});

test("an auditor sees every page read-only, and a form without its CSRF token is refused", async () => {
  await addUser(admin, "e2e-auditor", "SecurityAuditor");
  const auditor = await browser();
  await signIn(auditor, "e2e-auditor", PASSWORD);
  for (const path of Object.values(PAGES)) {
    const r = await auditor.goto(`${base}${path}`);
    if (r.status() === 403) continue; // a section outside the auditor's role: not in the navigation either
    assert.equal(r.status(), 200, path);
    const writes = await auditor.$$eval("form[method=post]", (forms) => forms.map((f) => f.getAttribute("action")).filter((a) => a !== "/logout" && a !== "/audit/verify"));
    assert.deepEqual(writes, [], `${path} offers an auditor forms that write`);
  }
  // Forged forms: the administrator's own session, without the token.
  for (const path of ["/users", "/users/carlos/disable", "/security/new/role", "/sod/rules", "/sessions/temporary", "/settings/tokens", "/webhooks", "/rules"]) {
    const status = await admin.evaluate(async (path) => (await fetch(path, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "id=forged&name=forged" })).status, path);
    assert.equal(status, 403, `${path} without a CSRF token`);
  }
});
