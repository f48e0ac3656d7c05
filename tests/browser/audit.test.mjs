// Issue 6 §5: a security officer opens the access-log page: sees their organisation,
// the chart, the records table and the verification status; a hostile path in the log
// is shown as text. Issue 11: the export and the search by national number go in POST
// bodies, never in a URL.
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
    // The export comes from a POST, the file handed to the browser.
    const [download] = await Promise.all([page.waitForEvent("download"),
      page.locator("#csv").click()]);
    const fs = await import("node:fs/promises");
    const csvPath = ctx.screenshotDir + "/audit-export.csv";
    await download.saveAs(csvPath);
    assert.match(await fs.readFile(csvPath, "utf8"), /^seq,time,kind,/);
    // Searching for a person never puts their national number into a URL.
    const nrn = "72093006924";
    const urls = [];
    page.on("request", (req) => urls.push(req.url()));
    await page.locator("input[name=nrn]").fill(nrn);
    await page.locator("#filters button[type=submit], #filters input[type=submit]").first().click();
    await page.waitForTimeout(500);
    assert.ok(urls.length > 0, "the search made requests");
    assert.deepEqual(urls.filter((u) => u.includes(nrn)), [], "a URL holds the number");
    assert.equal(await page.locator("#records img").count(), 0, "no markup from the log");
    assert.deepEqual(dialogs, []);
    await page.screenshot({ path: ctx.screenshotDir + "/audit.png", fullPage: true });
  } finally {
    await browser.close();
  }
}
