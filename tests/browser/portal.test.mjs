// Issue 3 §7 and issue 15 (portal), in Dutch and in English: log in over mTLS with a test
// card, see who I am, my roles per organisation and facility with what each allows, only
// the menus and application links I can use (each link is followed: none ends in a 403),
// choose a facility by keyboard, and reach its modules with an assertion. Every state is
// checked with axe-core and photographed.
import assert from "node:assert/strict";
import { LANGS, checkA11y, msg, open, shot, tabTo } from "./lib.mjs";

// Every application link of the portal, followed from the page: the statuses.
async function followApps(page) {
  return page.evaluate(async () => Promise.all([...document.querySelectorAll("#apps a")].map(
    async (a) => [a.textContent, (await fetch(a.href)).status])));
}

async function portal(browser, ctx, who, lang) {
  const s = await open(browser, ctx, who, lang);
  await s.page.goto(ctx.baseURL + "/eidgate/");
  await s.page.locator("body[data-ready]").waitFor();
  assert.equal(await s.page.getAttribute("html", "lang"), lang);
  return s;
}

// A care worker with roles in two facilities: roles explained, no management menus,
// a facility chosen by keyboard, then only that facility's applications.
async function careWorker(browser, ctx, lang) {
  const { context, page, problems } = await portal(browser, ctx, "mod-betlehem", lang);
  await page.locator("#name").filter({ hasText: "Johan Feskens" }).waitFor();
  assert.equal(await page.locator("#nrn").textContent(), "88*******24");
  assert.equal(await page.locator("#card").textContent(), msg(lang, "card.citizen"));
  const roles = page.locator("#roles tr[data-role]");
  assert.equal(await roles.count(), 2);
  const mod = page.locator('#roles tr[data-role="moduleerder"]');
  assert.equal(await mod.locator("th").textContent(), msg(lang, "role.moduleerder"));
  assert.equal(await mod.locator("td").nth(0).textContent(), "CKG Betlehem");
  assert.equal(await mod.locator("td").nth(1).textContent(), msg(lang, "role-help.moduleerder"));
  // issue 16 item 6: each role says until when it holds (these have no end)
  assert.equal(await mod.locator("td").nth(2).textContent(), msg(lang, "portal.until-none"));
  assert.ok(await page.locator("#roles h3").filter({ hasText: "vzw Kinderzorg Limburg-Antwerpen" }).count());
  assert.equal(await page.locator("#nav-admin").isVisible(), false, "no rights menu");
  assert.equal(await page.locator("#nav-audit").isVisible(), false, "no access-log menu");
  assert.equal(await page.locator("#facilities tr").count(), 2);
  await checkA11y(page, "portal " + lang);
  await shot(ctx, page, "portal-" + lang + "-choose");

  // choose CKG Molenberg with the keyboard alone
  await tabTo(page, 'tr[data-facility="ckg-molenberg"] button');
  await page.keyboard.press("Enter");
  await page.locator("#acting").filter({ hasText: "CKG Molenberg" }).waitFor();
  assert.match(await page.locator("#acting").textContent(), new RegExp(msg(lang, "capacity.gezinsondersteuning")));
  const apps = await followApps(page);
  assert.ok(apps.length >= 2, JSON.stringify(apps));
  assert.ok(apps.every(([, st]) => st === 200), "every link offered works: " + JSON.stringify(apps));
  assert.ok(apps.some(([label]) => label === msg(lang, "app.modules", { place: "CKG Molenberg" })));
  assert.ok(apps.every(([label]) => !label.includes("ckg-")), "no internal ids: " + JSON.stringify(apps));
  await checkA11y(page, "portal chosen " + lang);
  await shot(ctx, page, "portal-" + lang);
  assert.deepEqual(problems, []);
  return { context, page };
}

// A VTE: the rights menu, no access log, and no application that would answer 403.
async function vte(browser, ctx, lang) {
  const { context, page, problems } = await portal(browser, ctx, "vte-a", lang);
  await page.locator("#name").filter({ hasText: "Lotte Vermeulen" }).waitFor();
  assert.equal(await page.locator("#nav-admin").isVisible(), true);
  assert.equal(await page.locator("#nav-audit").isVisible(), false);
  assert.equal(await page.locator('#roles tr[data-role="vte"] td').first().textContent(),
    msg(lang, "portal.whole-organisation"));
  const apps = await followApps(page);
  assert.ok(apps.every(([, st]) => st === 200), "a VTE is offered only what works: " + JSON.stringify(apps));
  await checkA11y(page, "portal vte " + lang);
  await shot(ctx, page, "portal-vte-" + lang);
  assert.deepEqual(problems, []);
  await context.close();
}

export async function run(ctx) {
  const browser = await ctx.launch();
  try {
    for (const lang of LANGS) {
      const { context, page } = await careWorker(browser, ctx, lang);
      if (lang === "nl") {
        // the modules of the facility acted for, with an assertion naming it
        await page.locator("#apps a").first().click();
        await page.waitForURL(/\/modules\/facilities\/ckg-molenberg\/modules$/);
        const body = JSON.parse(await page.locator("body").innerText());
        assert.equal(body.facility.id, "ckg-molenberg");
        assert.ok(body.received.assertion, "the backend got an assertion");
        const claims = JSON.parse(Buffer.from(body.received.assertion.split(".")[1], "base64url"));
        assert.equal(claims.facility, "ckg-molenberg");
        await shot(ctx, page, "portal-modules");
      }
      await context.close();
      await vte(browser, ctx, lang);
      const officer = await portal(browser, ctx, "secoff-a", lang);
      await officer.page.locator("#nav-audit").waitFor();
      assert.equal(await officer.page.locator("#nav-admin").isVisible(), false);
      await officer.context.close();
    }
  } finally {
    await browser.close();
  }
}
