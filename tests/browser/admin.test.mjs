// PRODUCT §4 and §8 in a real browser: the VTE of an organisation (vte-a) appoints a local
// administrator for one facility (norole becomes lb on ckg-molenberg); that administrator
// adds a new person (a fresh national number, a name full of markup) as moduleerder and
// makes an existing member (foreigner-molenberg) moduleerder, who then reaches that
// facility's modules for writing and is still refused for another facility; the
// administrator's attempt on a facility outside their scope is refused (403) and shows up
// in `eidgate audit query --kind rights`. Issue 15: each role is explained where it is
// granted; the messages next to the forms name person, role and place; people are found by
// name or by national number (never in a URL), a page at a time; a revocation asks first,
// naming person, role and place, and can be undone; all by keyboard, in Dutch and English,
// checked with axe-core. Finally everything granted here is revoked.
import assert from "node:assert/strict";
import path from "node:path";
import { LANGS, apiInPage, audit, checkA11y, eventually, msg, nrnOf, open, shot, tabTo } from "./lib.mjs";

const XSS = "<img src=x onerror=alert(1)>";
const MOLENBERG = "facility:ckg-molenberg";

// A valid national number that no demo person has (born 1984-05-06, serial n).
function freshNrn(n = 777) {
  const body = "840506" + String(n).padStart(3, "0");
  const check = 97 - Number(BigInt(body) % 97n);
  return body + String(check).padStart(2, "0");
}

function masked(nrn) {
  return nrn.slice(0, 2) + "*******" + nrn.slice(9);
}

async function openAdmin(browser, ctx, who, name, lang = "nl") {
  const s = await open(browser, ctx, who, lang);
  await s.page.goto(ctx.baseURL + "/eidgate/admin/");
  await s.page.locator("#me").filter({ hasText: name }).waitFor();
  await s.page.locator("body[data-ready]").waitFor();
  return s;
}

async function grantInPage(page, nrn, name, scope, role) {
  await page.locator("#grant-scope").selectOption(scope);
  await page.locator("#grant-role").selectOption(role);
  await page.locator("#grant-nrn").fill(nrn);
  await page.locator("#grant-name").fill(name);
  await page.locator("#grant-form button[type=submit]").click();
  await page.locator("#grant-message.ok").waitFor();
}

function chip(page, nrn, role, scope) {
  return page.locator(`#people tr[data-nrn="${nrn}"] .role[data-role="${role}"][data-scope="${scope}"]`);
}

async function search(page, text) {
  await page.locator("#q").fill(text);
  await page.locator("#filter button[type=submit]").click();
  await page.waitForTimeout(300);
}

// The VTE appoints the facility's local administrator; the role is explained next to
// the form and the message names who got what where.
async function appoint(vte, admin) {
  const { page } = vte;
  await page.locator("#grant-scope").selectOption(MOLENBERG);
  await page.locator("#grant-role").selectOption("lb");
  assert.equal(await page.locator("#role-help").textContent(), msg("nl", "role-help.lb"));
  await grantInPage(page, admin, "", MOLENBERG, "lb");
  assert.equal(await page.locator("#grant-message").textContent(), msg("nl", "admin.granted",
    { role: msg("nl", "role.lb"), scope: "CKG Molenberg", person: masked(admin) }));
  await chip(page, admin, "lb", MOLENBERG).waitFor();
}

// Paging: enough people in the organisation for a second page, then back to one.
async function paging(ctx, vte, extra) {
  const { page } = vte;
  for (const nrn of extra) {
    const r = await apiInPage(page, "POST", "/eidgate/admin/api/grants",
      { nrn, name: "Paging Test " + nrn.slice(6, 9), role: "member", scope: MOLENBERG });
    assert.equal(r.status, 201, r.text);
  }
  await search(page, "");
  const first = await page.locator("#range").textContent();
  assert.match(first, /^1–20 /, first);
  assert.equal(await page.locator("#people tr").count(), 20);
  await tabTo(page, "#next");
  await page.keyboard.press("Enter");
  await page.locator("#range").filter({ hasText: /^21–/ }).waitFor();
  assert.equal(await page.locator("#prev").isDisabled(), false);
  await shot(ctx, page, "admin-page-2");
}

// Search by national number as people write it: the number never goes into a URL.
async function searchByNumber(page, nrn, name) {
  const urls = [];
  page.on("request", (req) => urls.push(req.url()));
  const written = nrn.slice(0, 2) + "." + nrn.slice(2, 4) + "." + nrn.slice(4, 6) + "-" +
    nrn.slice(6, 9) + "." + nrn.slice(9);
  await search(page, written);
  assert.equal(await page.locator("#people tr").count(), 1);
  assert.equal(await page.locator("#people tr th").textContent(), name);
  assert.ok(urls.length > 0);
  assert.deepEqual(urls.filter((u) => u.includes(nrn) || u.includes(written)), []);
  await search(page, name.split(" ")[1]);
  assert.ok(await page.locator(`#people tr[data-nrn="${nrn}"]`).count() === 1);
}

// A revocation asks first (Escape cancels), names person, role and place, and can be
// undone from the message next to the list.
async function revokeWithConfirmation(ctx, page, lang, nrn, name) {
  const names = { role: msg(lang, "role.moduleerder"), scope: "CKG Molenberg",
    person: name + " (" + masked(nrn) + ")" };
  const button = chip(page, nrn, "moduleerder", MOLENBERG).locator("button.revoke");
  await button.focus();
  await page.keyboard.press("Enter");
  await page.locator("#confirm[open]").waitFor();
  assert.equal(await page.locator("#confirm-text").textContent(), msg(lang, "admin.confirm-text", names));
  await checkA11y(page, "confirm revocation " + lang);
  await shot(ctx, page, "admin-confirm-" + lang);
  await page.keyboard.press("Escape");
  await page.locator("#confirm:not([open])").waitFor({ state: "attached" });
  await chip(page, nrn, "moduleerder", MOLENBERG).waitFor();      // nothing revoked

  await button.click();
  await page.locator("#confirm-yes").click();
  await page.locator("#people-message.ok").waitFor();
  assert.match(await page.locator("#people-message").textContent(),
    new RegExp("^" + msg(lang, "admin.revoked", names).replace(/[()*.]/g, "\\$&")));
  await chip(page, nrn, "moduleerder", MOLENBERG).waitFor({ state: "detached" });
  assert.equal(await page.evaluate(() => document.activeElement.id), "undo");
  await shot(ctx, page, "admin-revoked-" + lang);
  await page.keyboard.press("Enter");
  await page.locator("#people-message").filter({ hasText: msg(lang, "admin.undone", names) }).waitFor();
  await chip(page, nrn, "moduleerder", MOLENBERG).waitFor();
}

// The administrator's page in English, by keyboard: a grant typed and submitted with
// Tab and Enter, its message, and the revocation's confirmation.
async function english(ctx, browser, nrn, name) {
  const lb = await openAdmin(browser, ctx, "norole", "Benedikte Vanden Bruel", "en");
  const { page } = lb;
  assert.equal(await page.locator("#admin-h").textContent(), "Rights management");
  await page.locator("#scope").selectOption(MOLENBERG);
  await tabTo(page, "#grant-nrn");
  await page.keyboard.type(nrn.slice(0, 2) + "." + nrn.slice(2, 4) + "." + nrn.slice(4));
  await page.keyboard.press("Tab");                          // the name is not needed
  await page.keyboard.press("Enter");                        // the first role: member
  await page.locator("#grant-message.ok").waitFor();
  assert.equal(await page.locator("#grant-message").textContent(), msg("en", "admin.already", {
    person: name + " (" + masked(nrn) + ")", role: msg("en", "role.member"), scope: "CKG Molenberg" }));
  await checkA11y(page, "admin en");
  await shot(ctx, page, "admin-en");
  await revokeWithConfirmation(ctx, page, "en", nrn, name);
  assert.deepEqual(lb.problems, []);
  await lb.context.close();
}

export async function run(ctx) {
  const browser = await ctx.launch();
  const admin = nrnOf(ctx, "norole");
  const worker = nrnOf(ctx, "foreigner-molenberg");
  const fresh = freshNrn();
  const extra = Array.from({ length: 12 }, (_, i) => freshNrn(800 + i));
  let vte, lb;
  try {
    // 1. the VTE appoints the facility's local administrator
    vte = await openAdmin(browser, ctx, "vte-a", "Lotte Vermeulen");
    await checkA11y(vte.page, "admin vte nl");
    await appoint(vte, admin);
    await shot(ctx, vte.page, "admin-vte");

    // 2. the administrator sees only that facility and adds people there
    lb = await openAdmin(browser, ctx, "norole", "Benedikte Vanden Bruel");
    const offered = await lb.page.locator("#grant-scope option").evaluateAll((os) => os.map((o) => o.value));
    assert.ok(offered.includes(MOLENBERG), "the facility is offered");
    assert.ok(!offered.includes("facility:ckg-betlehem"), "another facility is not");
    assert.ok(!offered.includes("organisation:0412345614"), "the organisation is not");
    const roles = await lb.page.locator("#grant-role option").evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(roles, ["member", "moduleerder", "insisto-aanmelder", "insisto-raadpleger"]);
    await lb.page.locator("#scope").selectOption(MOLENBERG);
    await grantInPage(lb.page, fresh, XSS, MOLENBERG, "moduleerder");
    const row = lb.page.locator(`#people tr[data-nrn="${fresh}"]`);
    await row.waitFor();
    assert.equal(await row.locator("th").first().textContent(), XSS, "the name is shown as text");
    assert.equal(await lb.page.locator("#people img").count(), 0, "no element was made from it");
    await grantInPage(lb.page, worker, "", MOLENBERG, "moduleerder");
    await chip(lb.page, worker, "moduleerder", MOLENBERG).waitFor();
    // nobody gets a button to change their own roles
    assert.equal(await lb.page.locator(`#people tr[data-nrn="${admin}"] button`).count(), 0);
    await searchByNumber(lb.page, worker, "Ahmet Yilmaz");
    await checkA11y(lb.page, "admin lb nl");
    await shot(ctx, lb.page, "admin-lb");

    // 3. the new moduleerder reaches their facility's modules for writing, not another's
    const w = await open(browser, ctx, "foreigner-molenberg", "nl");
    await w.page.goto(ctx.baseURL + "/eidgate/");
    const write = async (fac) => w.page.evaluate(async (f) => (await fetch(
      "/modules/facilities/" + f + "/modules", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: "Gezinsondersteuning", type: "tm-ambulant" }) })).status, fac);
    assert.equal(await write("ckg-molenberg"), 201, "moduleerder writes at once");
    assert.equal(await write("ckg-betlehem"), 403, "and not for another facility");
    await w.context.close();

    // 4. outside the administrator's scope: refused, in the user's language, and logged
    const refused = await apiInPage(lb.page, "POST", "/eidgate/admin/api/grants",
      { nrn: worker, role: "moduleerder", scope: "facility:ckg-betlehem" }, "en");
    assert.equal(refused.status, 403, refused.text);
    const answer = JSON.parse(refused.text);
    assert.equal(answer.reason, "outside-rights");
    assert.equal(answer.message, msg("en", "reason.outside-rights"));
    const found = await eventually(() => audit(ctx, "--kind", "rights").filter(
      (r) => r.request_id === answer.request_id), "the refusal in the access log");
    assert.equal(found.length, 1, "the refusal is in the access log");
    assert.equal(found[0].decision, "deny");
    assert.equal(found[0].actor, admin);
    assert.equal(found[0].scope, "facility:ckg-betlehem");

    // 5. revocation with confirmation and undo; paging; the same in English
    await revokeWithConfirmation(ctx, lb.page, "nl", worker, "Ahmet Yilmaz");
    await paging(ctx, vte, extra);
    await english(ctx, browser, worker, "Ahmet Yilmaz");
    assert.deepEqual(vte.problems, []);
    assert.deepEqual(lb.problems, []);
  } finally {
    // 6. leave the shared directory as it was
    if (lb) {
      for (const nrn of [fresh, worker]) {
        await apiInPage(lb.page, "POST", "/eidgate/admin/api/revocations",
          { nrn, role: "moduleerder", scope: MOLENBERG }).catch(() => {});
      }
    }
    if (vte) {
      for (const nrn of extra) {
        await apiInPage(vte.page, "POST", "/eidgate/admin/api/revocations",
          { nrn, role: "member", scope: MOLENBERG }).catch(() => {});
      }
      await apiInPage(vte.page, "POST", "/eidgate/admin/api/revocations",
        { nrn: admin, role: "lb", scope: MOLENBERG }).catch(() => {});
    }
    await browser.close();
  }
}
