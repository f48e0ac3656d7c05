// Issue 16 item 2: the access review on the security officers' page, in Dutch and in
// English: "who has access?" for a path, the access of one person (the number in a POST
// body, never in a URL), and the periodic review whose overdue rights are highlighted and
// whose confirmation is recorded and clears the highlight. Only the officer's own
// organisation shows. Every state is checked with axe-core and photographed.
import assert from "node:assert/strict";
import { LANGS, audit, checkA11y, eventually, msg, nrnOf, open, shot } from "./lib.mjs";

const MOLENBERG = "/modules/facilities/ckg-molenberg/modules";

function reviewRow(page, lang, name, role, scope) {
  return page.locator("#review-table tbody tr").filter({ hasText: name })
    .filter({ hasText: msg(lang, "role." + role) }).filter({ hasText: scope });
}

async function officer(browser, ctx, lang, who) {
  const { context, page, problems } = await open(browser, ctx, "secoff-a", lang);
  const urls = [];
  page.on("request", (req) => urls.push(req.url()));
  await page.goto(ctx.baseURL + "/eidgate/audit/");
  await page.locator("body[data-ready]").waitFor();
  for (const id of ["review.who-heading", "review.what-heading", "review.heading"]) {
    await page.getByRole("heading", { name: msg(lang, id) }).waitFor();
  }
  await page.locator("#review-table tbody tr").first().waitFor();

  // who has access: the people of the organisation, numbers masked
  await page.locator("#who-form [name=path]").fill(MOLENBERG);
  await page.getByRole("button", { name: msg(lang, "review.who-search") }).click();
  await page.locator("#who-table tbody tr").first().waitFor();
  const whoText = await page.locator("#who-table").innerText();
  assert.ok(whoText.includes("Rudi Gerrits") && whoText.includes("72*******24"), whoText);
  assert.ok(whoText.includes(msg(lang, "role.moduleerder")), whoText);
  assert.ok(!whoText.includes("Herbiest") && !whoText.includes(nrnOf(ctx, "mod-molenberg")));
  assert.match(await page.locator("#who-summary").textContent(), /\d/);

  // the access of one person: only the organisation's facilities
  await page.locator("#what-form [name=nrn]").fill(nrnOf(ctx, "multi-org"));
  await page.getByRole("button", { name: msg(lang, "review.what-search") }).click();
  await page.locator("#what-table tbody tr").first().waitFor();
  const whatText = await page.locator("#what-table").innerText();
  assert.ok(whatText.includes("ckg-molenberg") && !whatText.includes("ckg-de-schommel"), whatText);
  assert.ok((await page.locator("#what-summary").textContent()).includes("Wout Peeters"));
  await checkA11y(page, "review " + lang);
  await shot(ctx, page, "review-" + lang);

  // the periodic review: confirm an overdue right; the highlight goes, the log has it
  const row = reviewRow(page, lang, who.name, who.role, who.scope);
  await row.waitFor();
  assert.equal(await row.getAttribute("class"), "overdue", who.name + " is not overdue yet");
  // each button says which right it judges (its accessible name)
  const label = msg(lang, "review.do-confirmed-of", { person: who.name,
    role: msg(lang, "role." + who.role), scope: who.scope });
  const button = row.getByRole("button", { name: label, exact: true });
  assert.equal(await button.textContent(), msg(lang, "review.do-confirmed"));
  await button.click();
  await eventually(async () => (await reviewRow(page, lang, who.name, who.role, who.scope)
    .getAttribute("class")) !== "overdue", "the confirmation clears the highlight");
  const after = reviewRow(page, lang, who.name, who.role, who.scope);
  assert.ok((await after.innerText()).includes(msg(lang, "review.verdict-confirmed")));
  const recs = audit(ctx, "--kind", "review").filter((r) => r.target === nrnOf(ctx, who.key));
  assert.ok(recs.length > 0 && recs.at(-1).action === "confirmed" &&
    recs.at(-1).actor === nrnOf(ctx, "secoff-a"), JSON.stringify(recs));
  assert.ok(await page.locator("#review-table tr.overdue").count() > 0, "other rights stay overdue");
  // only the overdue ones
  await page.getByLabel(msg(lang, "review.overdue-only")).check();
  await eventually(async () => (await page.locator("#review-table tbody tr:not(.overdue)").count())
    === 0, "only overdue rights listed");
  assert.ok(await page.locator("#review-table tbody tr.overdue").count() > 0);
  await page.getByLabel(msg(lang, "review.overdue-only")).uncheck();
  await reviewRow(page, lang, who.name, who.role, who.scope).waitFor();
  await checkA11y(page, "review list " + lang);
  await shot(ctx, page, "review-list-" + lang);

  for (const u of urls) {
    for (const p of ["multi-org", "mod-molenberg", who.key]) {
      assert.ok(!u.includes(nrnOf(ctx, p)), "a national number in a URL: " + u);
    }
  }
  assert.deepEqual(problems, []);
  await context.close();
}

export async function run(ctx) {
  const browser = await ctx.launch();
  const people = {
    nl: { key: "covte-a", name: "Pieter Janssens", role: "co-vte", scope: "organisation:0412345614" },
    en: { key: "lb-a", name: "Sofie Maes", role: "lb", scope: "organisation:0412345614" },
  };
  try {
    for (const lang of LANGS) {
      await officer(browser, ctx, lang, people[lang]);
    }
  } finally {
    await browser.close();
  }
}
