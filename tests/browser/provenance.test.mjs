// Issue 16, delegation provenance, on the rights page: the VTE of an organisation (vte-a)
// grants a role with an end date a few days ahead; the role's chip says who granted it,
// in which capacity (role and place), on which day, and through which day, in Dutch and in
// English, dates in the page's language and Belgian time; the message after the grant
// names the end; granting the same role again with another end renews it; today is a valid
// end; an end in the past is refused with the gateway's message next to the date field
// (and the field marked invalid); a grant whose end has passed is marked "verlopen" /
// "expired" in words; a membership without grant entry (the demo directory's) says its
// origin is unknown; a local administrator whose own role ends cannot grant beyond that
// end, and a grant without an end inherits it. The national number never goes into a
// URL; names are text, never markup; axe-core clean. Everything granted here is revoked
// at the end.
import assert from "node:assert/strict";
import { apiInPage, checkA11y, msg, nrnOf, open, shot } from "./lib.mjs";

const MOLENBERG = "facility:ckg-molenberg";
const ORG = "organisation:0412345614";
const ORG_NAME = "vzw Kinderzorg Limburg-Antwerpen";
const VTE_NAME = "Lotte Vermeulen";
const LOCALES = { nl: "nl-BE", en: "en-GB" };
const NAME = "Provenance <b>Test</b>";
const NAME2 = "Provenance Tweede";
const LB_NAME = "Benedikte Vanden Bruel";

// A valid national number no demo person and no other scenario uses.
function freshNrn(n) {
  const body = "840506" + String(n).padStart(3, "0");
  const check = 97 - Number(BigInt(body) % 97n);
  return body + String(check).padStart(2, "0");
}

// The Brussels calendar day `days` from now, as a date field writes it (YYYY-MM-DD).
function brusselsDay(days) {
  const p = {};
  const when = new Date(Date.now() + days * 86400000);
  for (const x of new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Brussels",
    year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(when)) {
    p[x.type] = x.value;
  }
  return p.year + "-" + p.month + "-" + p.day;
}

// A day as the page writes it in a sentence: "30 juni 2027", "30 June 2027".
function longDay(lang, day) {
  const [y, m, d] = day.split("-").map(Number);
  return new Intl.DateTimeFormat(LOCALES[lang], { timeZone: "Europe/Brussels", day: "numeric",
    month: "long", year: "numeric" }).format(new Date(Date.UTC(y, m - 1, d, 12)));
}

function masked(nrn) {
  return nrn.slice(0, 2) + "*******" + nrn.slice(9);
}

function chip(page, nrn, role, scope) {
  return page.locator(`#people tr[data-nrn="${nrn}"] .role[data-role="${role}"][data-scope="${scope}"]`);
}

// The people of a scope matching a search: one listing (changing the scope lists at once,
// with the search as it is), so no earlier answer can overtake it.
async function listed(page, scope, q) {
  await page.locator("#q").fill(q);
  await page.locator("#scope").selectOption(scope);
  await page.waitForTimeout(300);
}

async function openAdmin(browser, ctx, lang, who = "vte-a", name = VTE_NAME) {
  const s = await open(browser, ctx, who, lang);
  s.urls = [];
  s.page.on("request", (req) => s.urls.push(req.url()));
  await s.page.goto(ctx.baseURL + "/eidgate/admin/");
  await s.page.locator("#me").filter({ hasText: name }).waitFor();
  await s.page.locator("body[data-ready]").waitFor();
  await listed(s.page, MOLENBERG, "Provenance");      // only this scenario's person
  return s;
}

async function submitGrant(page, nrn, name, role, until) {
  await page.locator("#grant-scope").selectOption(MOLENBERG);
  await page.locator("#grant-role").selectOption(role);
  await page.locator("#grant-nrn").fill(nrn);
  await page.locator("#grant-name").fill(name);
  await page.locator("#grant-until").fill(until);
  await page.locator("#grant-message").evaluate((m) => { m.textContent = ""; m.className = "message"; });
  await page.locator("#grant-form button[type=submit]").click();
  await page.locator("#grant-message.ok, #grant-message.error").waitFor();
}

// The role's origin and end as the chip must say them, in a language.
function expectedOrigin(lang, today) {
  return msg(lang, "admin.origin-by", { name: VTE_NAME }) + " " +
    msg(lang, "admin.origin-as", { role: msg(lang, "role.vte"), place: ORG_NAME }) + " " +
    msg(lang, "admin.origin-on", { date: longDay(lang, today) });
}

// The form with an end date: granted, the message names the end, the chip says where
// the role came from and until when.
async function grantWithEnd(ctx, s, lang, nrn, role, until) {
  const { page } = s;
  assert.equal((await page.locator("label[for=grant-until]").textContent()).trim(),
    msg(lang, "admin.grant-until"));
  await submitGrant(page, nrn, NAME, role, until);
  const names = { role: msg(lang, "role." + role), scope: "CKG Molenberg",
    person: NAME + " (" + masked(nrn) + ")" };
  const through = msg(lang, "admin.until", { date: longDay(lang, until) });
  assert.equal(await page.locator("#grant-message").textContent(),
    msg(lang, "admin.granted-until", Object.assign({ until: through }, names)));
  const c = chip(page, nrn, role, MOLENBERG);
  await c.waitFor();
  assert.equal(await c.locator(".origin .granted").textContent(), expectedOrigin(lang, brusselsDay(0)));
  assert.equal(await c.locator(".origin .until").textContent(), through);
  assert.equal(await c.locator(".badge").count(), 0, "not expired");
  assert.equal(await page.locator("#people b").count(), 0, "the name is text, not markup");
  await checkA11y(page, "provenance " + lang);
  await shot(ctx, page, "provenance-" + lang);
}

// The same role again with another end: renewed, and the chip follows.
async function renew(page, lang, nrn, role, until) {
  await submitGrant(page, nrn, "", role, until);
  const through = msg(lang, "admin.until", { date: longDay(lang, until) });
  assert.equal(await page.locator("#grant-message").textContent(), msg(lang, "admin.renewed", {
    role: msg(lang, "role." + role), scope: "CKG Molenberg", person: NAME + " (" + masked(nrn) + ")",
    until: through }));
  await chip(page, nrn, role, MOLENBERG).locator(".origin .until").filter({ hasText: through }).waitFor();
}

// Through today: the grant holds until midnight in Belgium, so today is a valid end.
async function throughToday(page, lang, nrn) {
  await submitGrant(page, nrn, "", "insisto-raadpleger", brusselsDay(0));
  assert.equal(await page.locator("#grant-message").getAttribute("class"), "message ok",
    await page.locator("#grant-message").textContent());
  await chip(page, nrn, "insisto-raadpleger", MOLENBERG).locator(".origin .until")
    .filter({ hasText: msg(lang, "admin.until", { date: longDay(lang, brusselsDay(0)) }) }).waitFor();
}

// The demo directory is written without grant entries: the VTE's own role has no known
// origin (or, once migrated, the migration's) and no end.
async function ownRole(ctx, page, lang) {
  await listed(page, ORG, "Vermeulen");
  const c = chip(page, nrnOf(ctx, "vte-a"), "vte", ORG);
  await c.waitFor();
  const origin = await c.locator(".origin .granted").textContent();
  assert.ok(origin === msg(lang, "admin.origin-unknown") ||
    origin.startsWith(msg(lang, "admin.origin-migration")), origin);
  assert.equal(await c.locator(".origin .until").textContent(), msg(lang, "admin.until-none"));
  await listed(page, MOLENBERG, "Provenance");
}

// An end in the past: refused by the gateway, its message next to the date field, the
// field marked and focused; nothing granted.
async function refusePast(ctx, page, lang, nrn) {
  await submitGrant(page, nrn, NAME, "lb", brusselsDay(-2));
  assert.equal(await page.locator("#grant-message").getAttribute("class"), "message error");
  assert.equal(await page.locator("#grant-until-error").textContent(), msg(lang, "field.until"));
  assert.equal(await page.locator("#grant-until").getAttribute("aria-invalid"), "true");
  assert.equal(await page.evaluate(() => document.activeElement.id), "grant-until");
  assert.equal(await chip(page, nrn, "lb", MOLENBERG).count(), 0);
  await checkA11y(page, "provenance refused " + lang);
  await shot(ctx, page, "provenance-refused-" + lang);
  // a good date clears the mark
  await page.locator("#grant-until").fill("");
}

// A grant whose end passes while it is listed: the API takes an exact end time, so one
// a few seconds ahead ends during the test; the chip then says "verlopen" in words.
async function expires(ctx, page, lang, nrn) {
  const end = new Date(Date.now() + 4000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const r = await apiInPage(page, "POST", "/eidgate/admin/api/grants",
    { nrn, role: "insisto-aanmelder", scope: MOLENBERG, until: end });
  assert.equal(r.status, 201, r.text);
  await new Promise((res) => setTimeout(res, 5500));
  await page.locator("#filter button[type=submit]").click();
  const c = chip(page, nrn, "insisto-aanmelder", MOLENBERG);
  await c.locator(".badge").waitFor();
  assert.equal(await c.locator(".badge").textContent(), msg(lang, "admin.expired"));
  assert.match(await c.getAttribute("class"), /\bexpired\b/);
  await checkA11y(page, "provenance expired " + lang);
  await shot(ctx, page, "provenance-expired-" + lang);
}

// Nobody delegates longer than they hold: the VTE makes norole local administrator of the
// facility through a day three days ahead; norole's grant through a later day is refused
// next to the field; without an end, norole's grant inherits that day, and its chip names
// norole and their capacity.
async function delegateWithin(ctx, browser, vte, second, sessions) {
  const lbNrn = nrnOf(ctx, "norole");
  const r = await apiInPage(vte.page, "POST", "/eidgate/admin/api/grants",
    { nrn: lbNrn, role: "lb", scope: MOLENBERG, until: brusselsDay(3) });
  assert.equal(r.status, 201, r.text);
  const lb = await openAdmin(browser, ctx, "nl", "norole", LB_NAME);
  sessions.push(lb);
  const { page } = lb;
  await submitGrant(page, second, NAME2, "member", brusselsDay(6));
  assert.equal(await page.locator("#grant-until-error").textContent(),
    msg("nl", "field.until-beyond-own"));
  assert.equal(await page.locator("#grant-until").getAttribute("aria-invalid"), "true");
  await submitGrant(page, second, NAME2, "member", "");
  const through = msg("nl", "admin.until", { date: longDay("nl", brusselsDay(3)) });
  assert.equal(await page.locator("#grant-message").textContent(), msg("nl", "admin.granted-until", {
    role: msg("nl", "role.member"), scope: "CKG Molenberg", person: NAME2 + " (" + masked(second) + ")",
    until: through }));
  assert.equal(await page.locator("#grant-until-error").textContent(), "");
  const c = chip(page, second, "member", MOLENBERG);
  await c.waitFor();
  assert.equal(await c.locator(".origin .granted").textContent(),
    msg("nl", "admin.origin-by", { name: LB_NAME }) + " " +
    msg("nl", "admin.origin-as", { role: msg("nl", "role.lb"), place: "CKG Molenberg" }) + " " +
    msg("nl", "admin.origin-on", { date: longDay("nl", brusselsDay(0)) }));
  assert.equal(await c.locator(".origin .until").textContent(), through);
  await checkA11y(page, "provenance delegated nl");
  await shot(ctx, page, "provenance-delegated-nl");
}

export async function run(ctx) {
  const browser = await ctx.launch();
  const nrn = freshNrn(901);
  const second = freshNrn(902);
  const sessions = [];
  try {
    const nl = await openAdmin(browser, ctx, "nl");
    sessions.push(nl);
    await refusePast(ctx, nl.page, "nl", nrn);
    await grantWithEnd(ctx, nl, "nl", nrn, "member", brusselsDay(3));
    await renew(nl.page, "nl", nrn, "member", brusselsDay(5));
    await throughToday(nl.page, "nl", nrn);
    await ownRole(ctx, nl.page, "nl");
    await expires(ctx, nl.page, "nl", nrn);

    const en = await openAdmin(browser, ctx, "en");
    sessions.push(en);
    await refusePast(ctx, en.page, "en", nrn);
    await grantWithEnd(ctx, en, "en", nrn, "moduleerder", brusselsDay(4));
    await ownRole(ctx, en.page, "en");
    const c = chip(en.page, nrn, "member", MOLENBERG);
    assert.equal(await c.locator(".origin .until").textContent(),
      msg("en", "admin.until", { date: longDay("en", brusselsDay(5)) }));
    await en.page.locator("#filter button[type=submit]").click();
    await chip(en.page, nrn, "insisto-aanmelder", MOLENBERG).locator(".badge")
      .filter({ hasText: msg("en", "admin.expired") }).waitFor();

    await delegateWithin(ctx, browser, nl, second, sessions);

    for (const s of sessions) {
      assert.deepEqual(s.urls.filter((u) => [nrn, second].some((n) => u.includes(n) ||
        u.includes(masked(n)))), [],
        "no national number in a URL");
      // the refused grants are answered 400, which the browser logs; nothing else
      assert.deepEqual(s.problems.filter((m) => !/status of 400 /.test(m)), []);
    }
  } finally {
    if (sessions.length > 0) {
      for (const role of ["member", "moduleerder", "insisto-aanmelder", "insisto-raadpleger", "lb"]) {
        await apiInPage(sessions[0].page, "POST", "/eidgate/admin/api/revocations",
          { nrn, role, scope: MOLENBERG }).catch(() => {});
      }
      for (const [who, role] of [[second, "member"], [nrnOf(ctx, "norole"), "lb"]]) {
        await apiInPage(sessions[0].page, "POST", "/eidgate/admin/api/revocations",
          { nrn: who, role, scope: MOLENBERG }).catch(() => {});
      }
    }
    await browser.close();
  }
}
