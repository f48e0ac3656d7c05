// PRODUCT §4 and §8 in a real browser: the VTE of an organisation (vte-a) appoints a local
// administrator for one facility (norole becomes lb on ckg-molenberg); that administrator
// adds a new person (a fresh national number, a name full of markup) as moduleerder and
// makes an existing member (foreigner-molenberg) moduleerder, who then reaches that
// facility's modules for writing and is still refused for another facility; the
// administrator's attempt on a facility outside their scope is refused (403) and shows up
// in `eidgate audit query --kind rights`. Finally everything granted here is revoked.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const XSS = "<img src=x onerror=alert(1)>";

function nrnOf(ctx, who) {
  return fs.readFileSync(path.join(ctx.pki, "people", who, "nrn"), "utf8").trim();
}

// A valid national number that no demo person has (born 1984-05-06, serial 777).
function freshNrn() {
  const body = "840506777";
  const check = 97 - Number(BigInt(body) % 97n);
  return body + String(check).padStart(2, "0");
}

async function openAdmin(browser, ctx, who, name) {
  const context = await ctx.contextFor(browser, who);
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push("pageerror: " + e));
  page.on("dialog", async (d) => {
    problems.push("dialog: " + d.message());
    await d.dismiss();
  });
  await page.goto(ctx.baseURL + "/eidgate/admin/");
  await page.locator("#me").filter({ hasText: name }).waitFor();
  await page.locator("body[data-ready]").waitFor();
  return { context, page, problems };
}

async function grantInPage(page, nrn, name, scope, role) {
  await page.locator("#grant-scope").selectOption(scope);
  await page.locator("#grant-role").selectOption(role);
  await page.locator("#grant-nrn").fill(nrn);
  await page.locator("#grant-name").fill(name);
  await page.locator("#grant-form button[type=submit]").click();
  await page.locator("#message.ok").waitFor();
}

// A JSON call from inside the page, with the session cookie and the CSRF token.
async function apiInPage(page, method, url, body) {
  return page.evaluate(async ([m, u, b]) => {
    const me = await (await fetch("/eidgate/whoami")).json();
    const opts = { method: m, headers: { "X-Eidgate-CSRF": me.csrf, "Content-Type": "application/json" } };
    if (b !== null) {
      opts.body = JSON.stringify(b);
    }
    const r = await fetch(u, opts);
    return { status: r.status, text: await r.text() };
  }, [method, url, body]);
}

function chip(page, nrn, role, scope) {
  return page.locator(`#people tr[data-nrn="${nrn}"] .role[data-role="${role}"][data-scope="${scope}"]`);
}

export async function run(ctx) {
  const browser = await ctx.launch();
  const admin = nrnOf(ctx, "norole");
  const worker = nrnOf(ctx, "foreigner-molenberg");
  const fresh = freshNrn();
  const molenberg = "facility:ckg-molenberg";
  let vte, lb;
  try {
    // 1. the VTE appoints the facility's local administrator
    vte = await openAdmin(browser, ctx, "vte-a", "Lotte Vermeulen");
    await grantInPage(vte.page, admin, "", molenberg, "lb");
    await chip(vte.page, admin, "lb", molenberg).waitFor();
    await vte.page.screenshot({ path: path.join(ctx.screenshotDir, "admin-vte.png") });

    // 2. the administrator sees only that facility and adds people there
    lb = await openAdmin(browser, ctx, "norole", "Benedikte Vanden Bruel");
    const offered = await lb.page.locator("#grant-scope option").evaluateAll((os) => os.map((o) => o.value));
    assert.ok(offered.includes(molenberg), "the facility is offered");
    assert.ok(!offered.includes("facility:ckg-betlehem"), "another facility is not");
    assert.ok(!offered.includes("organisation:0412345614"), "the organisation is not");
    const roles = await lb.page.locator("#grant-role option").evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(roles, ["member", "moduleerder", "insisto-aanmelder", "insisto-raadpleger"]);
    await lb.page.locator("#scope").selectOption(molenberg);
    await grantInPage(lb.page, fresh, XSS, molenberg, "moduleerder");
    const row = lb.page.locator(`#people tr[data-nrn="${fresh}"]`);
    await row.waitFor();
    assert.equal(await row.locator("td").first().textContent(), XSS, "the name is shown as text");
    assert.equal(await lb.page.locator("#people img").count(), 0, "no element was made from it");
    await grantInPage(lb.page, worker, "", molenberg, "moduleerder");
    await chip(lb.page, worker, "moduleerder", molenberg).waitFor();
    // nobody gets a button to change their own roles
    assert.equal(await lb.page.locator(`#people tr[data-nrn="${admin}"] button`).count(), 0);
    await lb.page.screenshot({ path: path.join(ctx.screenshotDir, "admin-lb.png") });

    // 3. the new moduleerder reaches their facility's modules for writing, not another's
    const w = await ctx.contextFor(browser, "foreigner-molenberg");
    const wp = await w.newPage();
    await wp.goto(ctx.baseURL + "/eidgate/");
    const write = async (fac) => wp.evaluate(async (f) => (await fetch(
      "/modules/facilities/" + f + "/modules", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: "Gezinsondersteuning", type: "tm-ambulant" }) })).status, fac);
    assert.equal(await write("ckg-molenberg"), 201, "moduleerder writes at once");
    assert.equal(await write("ckg-betlehem"), 403, "and not for another facility");
    await w.close();

    // 4. outside the administrator's scope: refused and logged
    const refused = await apiInPage(lb.page, "POST", "/eidgate/admin/api/grants",
      { nrn: worker, role: "moduleerder", scope: "facility:ckg-betlehem" });
    assert.equal(refused.status, 403, refused.text);
    const reqId = JSON.parse(refused.text).request_id;
    let found = [];
    for (let i = 0; i < 50 && found.length === 0; i++) {
      const out = execFileSync(path.join(ctx.bin, "eidgate"), ["audit", "query", "--db", ctx.auditDir,
        "--kind", "rights", "--format", "json"], { encoding: "utf8" });
      found = out.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l))
        .filter((r) => r.request_id === reqId);
      if (found.length === 0) {
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    assert.equal(found.length, 1, "the refusal is in the access log");
    assert.equal(found[0].decision, "deny");
    assert.equal(found[0].actor, admin);
    assert.equal(found[0].scope, "facility:ckg-betlehem");
    assert.deepEqual(vte.problems, []);
    assert.deepEqual(lb.problems, []);
  } finally {
    // 5. leave the shared directory as it was
    if (lb) {
      for (const nrn of [fresh, worker]) {
        await apiInPage(lb.page, "POST", "/eidgate/admin/api/revocations",
          { nrn, role: "moduleerder", scope: molenberg }).catch(() => {});
      }
    }
    if (vte) {
      await apiInPage(vte.page, "POST", "/eidgate/admin/api/revocations",
        { nrn: admin, role: "lb", scope: molenberg }).catch(() => {});
    }
    await browser.close();
  }
}
