// Issue 15: the gateway's own answers in the user's language (Accept-Language, Dutch by
// default): error pages for browsers (with what to do), JSON for API clients with a
// stable reason and a translated message; the gateway's icon at /favicon.ico (never a
// denial) and linked by its pages under /eidgate/. Checked with axe-core, photographed.
import assert from "node:assert/strict";
import { LANGS, audit, checkA11y, msg, open, shot } from "./lib.mjs";

async function errorPage(browser, ctx, lang) {
  const { context, page, problems } = await open(browser, ctx, "mod-molenberg", lang);
  const r = await page.goto(ctx.baseURL + "/modules/facilities/ckg-betlehem/modules");
  assert.equal(r.status(), 403);
  assert.equal(await page.getAttribute("html", "lang"), lang);
  assert.equal(await page.locator("h1").textContent(), msg(lang, "reason.no-rule"));
  assert.equal(await page.locator(".guide").textContent(), msg(lang, "guide.no-rule"));
  assert.equal(await page.locator("#reason").textContent(), "no-rule");
  assert.equal(await page.locator("main a[href='/eidgate/']").textContent(), msg(lang, "error.back"));
  await checkA11y(page, "error page " + lang);
  await shot(ctx, page, "error-" + lang);

  // the same refusal for an API client: JSON with the reason and the message
  const api = await page.evaluate(async (l) => {
    const res = await fetch("/modules/facilities/ckg-betlehem/modules",
      { headers: { "Accept": "application/json", "Accept-Language": l } });
    return [res.status, await res.json(), res.headers.get("content-language")];
  }, lang === "nl" ? "nl-BE,nl;q=0.9,en;q=0.5" : "en-GB,en;q=0.9,nl;q=0.3");
  assert.equal(api[0], 403);
  assert.equal(api[1].reason, "no-rule");
  assert.equal(api[1].message, msg(lang, "reason.no-rule"));
  assert.equal(api[2], lang);

  // the pages link their icon under /eidgate/, and /favicon.ico is the gateway's own
  await page.goto(ctx.baseURL + "/eidgate/");
  const icons = await page.locator("link[rel=icon]").evaluateAll((ls) => ls.map((l) =>
    new URL(l.href).pathname));
  assert.ok(icons.length > 0 && icons.every((p) => p.startsWith("/eidgate/")), String(icons));
  // (fetched, not opened: chromium's own image viewer styles itself inline, which the
  // gateway's CSP refuses, and says so on the console)
  const fav = await page.evaluate(async () => {
    const res = await fetch("/favicon.ico");
    return [res.status, res.headers.get("content-type"), (await res.arrayBuffer()).byteLength];
  });
  assert.equal(fav[0], 200);
  assert.equal(fav[1], "image/x-icon");
  assert.ok(fav[2] > 0);
  await page.waitForTimeout(200);
  assert.equal(audit(ctx).filter((x) => x.path === "/favicon.ico").length, 0,
    "no denial for the icon");
  assert.deepEqual(problems, []);
  await context.close();
}

// Without a card: the 401 page says how to log in.
async function noCard(browser, ctx, lang) {
  const { context, page } = await open(browser, ctx, null, lang);
  const r = await page.goto(ctx.baseURL + "/modules/catalog/modules");
  assert.equal(r.status(), 401);
  assert.equal(await page.locator("h1").textContent(), msg(lang, "reason.no-certificate"));
  assert.equal(await page.locator(".guide").textContent(), msg(lang, "guide.no-certificate"));
  await checkA11y(page, "401 page " + lang);
  await shot(ctx, page, "error-nocard-" + lang);
  await context.close();
}

export async function run(ctx) {
  const browser = await ctx.launch();
  try {
    for (const lang of LANGS) {
      await errorPage(browser, ctx, lang);
      await noCard(browser, ctx, lang);
    }
  } finally {
    await browser.close();
  }
}
