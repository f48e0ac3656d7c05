// Issue 6 §5: a security officer opens the access-log page: sees their organisation,
// the chart, the records table and the verification status; a hostile path in the log
// is shown as text.
import assert from "node:assert/strict";

export async function run(ctx) {
  const browser = await ctx.launch();
  try {
    // Put a path with markup into the log first (it is refused, and logged).
    const other = await ctx.contextFor(browser, "mod-molenberg");
    const p0 = await other.newPage();
    await p0.goto(ctx.baseURL + "/modules/facilities/%3Cimg%20src=x%20onerror=alert(1)%3E/modules");
    await other.close();

    const context = await ctx.contextFor(browser, "secoff-a");
    const page = await context.newPage();
    const dialogs = [];
    page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
    await page.goto(ctx.baseURL + "/eidgate/audit/");
    await page.locator("#org-name").filter({ hasText: "Kinderzorg" }).waitFor();
    await page.locator("#records tr").first().waitFor();
    await page.locator("#verify").filter({ hasText: "in orde" }).waitFor();
    assert.ok(await page.locator("#chart rect").count() > 0, "chart bars");
    const orgs = await page.locator("#records td:nth-child(5)").allTextContents();
    assert.ok(orgs.length > 0);
    const href = await page.locator("#csv").getAttribute("href");
    assert.match(href, /format=csv/);
    assert.equal(await page.locator("#records img").count(), 0, "no markup from the log");
    assert.deepEqual(dialogs, []);
    await page.screenshot({ path: ctx.screenshotDir + "/audit.png", fullPage: true });
  } finally {
    await browser.close();
  }
}
