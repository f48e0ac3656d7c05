// Issue 3 §7: log in over mTLS with a test authentication certificate, see the portal,
// pick a facility, and reach that facility's modules on the module backend.
import assert from "node:assert/strict";

export async function run(ctx) {
  const browser = await ctx.launch();
  try {
    const context = await ctx.contextFor(browser, "mod-betlehem");
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(ctx.baseURL + "/eidgate/");
    await page.locator("#name").filter({ hasText: "Johan Feskens" }).waitFor();
    assert.equal(await page.locator("#nrn").textContent(), "88*******24");
    const rows = page.locator("#facilities tr");
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2, "two facilities to choose from");
    await page.locator('tr[data-facility="ckg-molenberg"] button').click();
    await page.locator("#acting").filter({ hasText: "CKG Molenberg" }).waitFor();
    await page.screenshot({ path: ctx.screenshotDir + "/portal.png" });
    await page.locator("#apps a").first().click();
    await page.waitForURL(/\/modules\/facilities\/ckg-molenberg\/modules$/);
    const body = JSON.parse(await page.locator("body").innerText());
    assert.equal(body.facility.id, "ckg-molenberg");
    assert.ok(body.modules.length > 0, "the facility's modules");
    assert.ok(body.received.assertion, "the backend got an assertion");
    const claims = JSON.parse(Buffer.from(body.received.assertion.split(".")[1], "base64url"));
    assert.equal(claims.facility, "ckg-molenberg");
    assert.deepEqual(errors, []);
    await page.screenshot({ path: ctx.screenshotDir + "/portal-modules.png" });
  } finally {
    await browser.close();
  }
}
