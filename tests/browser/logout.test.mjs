// Issue 15 (portal): "Afmelden" ends the session at the gateway and says, in words, to
// remove the card or close the browser; a reload or another page does not log the card
// in again until the user chooses "Aanmelden". Without a card the portal explains how to
// log in. By keyboard, in Dutch and in English, checked with axe-core.
import assert from "node:assert/strict";
import { LANGS, audit, checkA11y, eventually, msg, nrnOf, open, shot, tabTo } from "./lib.mjs";

async function ready(page) {
  await page.locator("body[data-ready]").waitFor();
}

async function loggedOut(ctx, lang) {
  const browser = await ctx.launch();
  const nrn = nrnOf(ctx, "mod-molenberg");
  try {
    const { page, problems } = await open(browser, ctx, "mod-molenberg", lang);
    await page.goto(ctx.baseURL + "/eidgate/");
    await ready(page);
    await page.locator("#name").filter({ hasText: "Rudi Gerrits" }).waitFor();

    await tabTo(page, "#logout");
    await page.keyboard.press("Enter");
    await page.locator("#signedout").waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), "signedout-h");
    assert.equal(await page.locator("#signedout strong").textContent(), msg(lang, "portal.signedout-card"));
    assert.equal(await page.locator("#account").isVisible(), false, "the name is gone");
    const logouts = await eventually(() => audit(ctx, "--kind", "logout", "--nrn", nrn).length, "logout record");
    await checkA11y(page, "logged out " + lang);
    await shot(ctx, page, "logout-" + lang);

    // No automatic login: the portal again, the module database, whoami.
    const loginsBefore = audit(ctx, "--kind", "login", "--nrn", nrn).length;
    await page.reload();
    await ready(page);
    assert.equal(await page.locator("#signedout").isVisible(), true);
    assert.equal(await page.locator("#account").isVisible(), false);
    const who = await page.evaluate(async () => {
      const r = await fetch("/eidgate/whoami");
      return [r.status, (await r.json()).reason];
    });
    assert.deepEqual(who, [401, "signed-out"]);
    const backend = await page.goto(ctx.baseURL + "/modules/facilities/ckg-molenberg/modules");
    assert.equal(backend.status(), 401);
    assert.equal(await page.locator("h1").textContent(), msg(lang, "reason.signed-out"));
    await checkA11y(page, "backend while logged out " + lang);
    assert.equal(audit(ctx, "--kind", "login", "--nrn", nrn).length, loginsBefore, "no login meanwhile");

    // "Aanmelden": the card logs in again.
    await page.goto(ctx.baseURL + "/eidgate/");
    await ready(page);
    await tabTo(page, "#login");
    await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
    await ready(page);
    await page.locator("#name").filter({ hasText: "Rudi Gerrits" }).waitFor();
    await eventually(() => audit(ctx, "--kind", "login", "--nrn", nrn).length > loginsBefore, "login record");
    assert.ok(logouts > 0);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
}

// No card in the reader: what to do, step by step.
async function noCard(ctx, lang) {
  const browser = await ctx.launch();
  try {
    const { page, problems } = await open(browser, ctx, null, lang);
    await page.goto(ctx.baseURL + "/eidgate/");
    await ready(page);
    await page.locator("#nocard").waitFor();
    assert.equal(await page.locator("#nocard-h").textContent(), msg(lang, "portal.nocard-title"));
    assert.equal(await page.locator("#nocard li").count(), 4);
    assert.equal(await page.locator("#nav-admin").isVisible(), false);
    await checkA11y(page, "no card " + lang);
    await shot(ctx, page, "nocard-" + lang);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
}

export async function run(ctx) {
  for (const lang of LANGS) {
    await loggedOut(ctx, lang);
    await noCard(ctx, lang);
  }
}
