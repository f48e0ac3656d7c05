// Issue 16 item 5: pseudonym lookups on the security officers' page, in Dutch and in
// English, against a gateway whose modules backend receives pseudonyms
// (tests/e2e/test_browser.py starts it; ctx.pseudonyms holds the expected values): the
// pseudonym of a person of the organisation (the number in a POST body, never in a URL,
// shown masked), the person behind a pseudonym, "not found in your organisation" for a
// person of another one, each lookup recorded. Checked with axe-core and photographed.
import assert from "node:assert/strict";
import { LANGS, audit, checkA11y, eventually, msg, nrnOf, open, shot } from "./lib.mjs";

async function lookup(page, fields) {
  const form = page.locator("#pseudo-form");
  for (const name of ["nrn", "pseudonym", "key_id"]) {
    await form.locator("[name=" + name + "]").fill(fields[name] || "");
  }
  const summary = page.locator("#pseudo-summary");
  await summary.evaluate((e) => { e.textContent = ""; });
  await form.locator("button[type=submit]").click();
  return eventually(async () => {
    const s = await summary.textContent();
    return s && s !== msg(fields.lang, "review.busy") ? s : null;
  }, "an answer to the lookup");
}

async function officer(browser, ctx, lang) {
  const { context, page, problems } = await open(browser, ctx, "secoff-a", lang);
  const urls = [];
  page.on("request", (req) => urls.push(req.url()));
  await page.goto(ctx.baseURL + "/eidgate/audit/");
  await page.locator("body[data-ready]").waitFor();
  await page.getByRole("heading", { name: msg(lang, "pseudo.heading") }).waitFor();
  assert.equal(await page.locator("#pseudo-form [name=backend]").inputValue(), "modules");
  const rudi = nrnOf(ctx, "mod-molenberg");
  const before = audit(ctx, "--kind", "pseudonym").length;

  // national number -> pseudonym: the number stays in the field, the answer masks it
  let s = await lookup(page, { lang, nrn: rudi });
  assert.ok(s.includes(ctx.pseudonyms["mod-molenberg"]) && s.includes("Rudi Gerrits") &&
    s.includes("72*******24") && s.includes(ctx.pseudonymKid) && !s.includes(rudi), s);
  // pseudonym -> person
  s = await lookup(page, { lang, pseudonym: ctx.pseudonyms["mod-molenberg"] });
  assert.ok(s.includes("Rudi Gerrits") && !s.includes(rudi), s);
  // a person of another organisation: not found in yours
  s = await lookup(page, { lang, pseudonym: ctx.pseudonyms["member-schommel"] });
  assert.equal(s, msg(lang, "reason.pseudonym-not-found"));
  s = await lookup(page, { lang, nrn: nrnOf(ctx, "member-schommel") });
  assert.equal(s, msg(lang, "reason.not-in-organisation"));
  // neither or both: said before anything is sent
  s = await lookup(page, { lang, nrn: rudi, pseudonym: ctx.pseudonyms["mod-molenberg"] });
  assert.equal(s, msg(lang, "pseudo.one-of"));
  await page.locator("#pseudo-form [name=nrn]").fill(rudi);
  await page.locator("#pseudo-form [name=pseudonym]").fill("");
  await checkA11y(page, "pseudonym " + lang);
  await shot(ctx, page, "pseudonym-" + lang);

  const recs = await eventually(() => {
    const r = audit(ctx, "--kind", "pseudonym").slice(before);
    return r.length >= 4 ? r : null;
  }, "four lookups recorded");
  assert.deepEqual(recs.map((r) => [r.action, r.decision, r.actor]), [
    ["resolve", "allow", nrnOf(ctx, "secoff-a")], ["identify", "allow", nrnOf(ctx, "secoff-a")],
    ["identify", "deny", nrnOf(ctx, "secoff-a")], ["resolve", "deny", nrnOf(ctx, "secoff-a")]]);
  for (const u of urls) {
    for (const p of ["mod-molenberg", "member-schommel"]) {
      assert.ok(!u.includes(nrnOf(ctx, p)), "a national number in a URL: " + u);
    }
  }
  assert.deepEqual(problems, []);
  await context.close();
}

export async function run(ctx) {
  const browser = await ctx.launch();
  try {
    for (const lang of LANGS) {
      await officer(browser, ctx, lang);
    }
  } finally {
    await browser.close();
  }
}
