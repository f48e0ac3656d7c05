// Issue 11, finding 3: a page on another site cannot change anything in the card holder's
// name. The card's certificate goes with every request a page makes to the gateway,
// whichever site the page came from; chromium shows what a real browser sends. A page on
// another origin submits a form and calls fetch() to create a module: both are refused
// (403 cross-site), recorded, and the backend never creates the module.
import assert from "node:assert/strict";
import http from "node:http";
import { execFileSync } from "node:child_process";
import path from "node:path";

function evilPage(target) {
  // A form with enctype text/plain can send a JSON-looking body; fetch() in no-cors mode
  // can POST text/plain: both are what another site can do without CORS.
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Elsewhere</title></head>
<body>
<form id="f" method="POST" action="${target}" enctype="text/plain">
<input name='{"name":"Evil form","type":"tm-ambulant","x":"' value='"}'>
</form>
<script>
window.fetchDone = fetch(${JSON.stringify(target)}, {
  method: "POST", mode: "no-cors", credentials: "include",
  headers: { "Content-Type": "text/plain" },
  body: JSON.stringify({ name: "Evil fetch", type: "tm-ambulant" }),
}).then(() => "sent", (e) => "failed: " + e);
</script>
</body></html>`;
}

function crossSiteRecords(ctx) {
  const out = execFileSync(path.join(ctx.bin, "eidgate"), ["audit", "query", "--db",
    ctx.auditDir, "--format", "json"], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l))
    .filter((r) => r.reason === "cross-site" && r.path === "/modules/facilities/ckg-molenberg/modules");
}

export async function run(ctx) {
  const target = ctx.baseURL + "/modules/facilities/ckg-molenberg/modules";
  const page = evilPage(target);
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(page);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const evil = "http://127.0.0.1:" + server.address().port + "/";
  const before = crossSiteRecords(ctx).length;
  const browser = await ctx.launch();
  try {
    const context = await ctx.contextFor(browser, "mod-molenberg");
    const p = await context.newPage();
    const answers = [];
    p.on("response", (r) => { if (r.url() === target) answers.push(r.status()); });
    await p.goto(evil);
    assert.equal(await p.evaluate(() => window.fetchDone), "sent");
    const [nav] = await Promise.all([
      p.waitForNavigation(),
      p.evaluate(() => document.getElementById("f").submit()),
    ]);
    assert.equal(nav.status(), 403, "the form post was not refused");
    assert.match(await p.content(), /cross-site/);
    await p.screenshot({ path: ctx.screenshotDir + "/cross-site.png", fullPage: true });
    // Both attempts are on the record, with the card that was used.
    let recs = [];
    for (let i = 0; i < 50 && recs.length < before + 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      recs = crossSiteRecords(ctx);
    }
    assert.ok(recs.length >= before + 2, "records: " + JSON.stringify(recs.slice(-2)));
    for (const r of recs.slice(-2)) {
      assert.equal(r.decision, "deny");
      assert.ok(r.cert_sha256 && r.nrn, "the record names the card");
    }
    // And nothing was created: the module list, read from the gateway's own origin.
    const own = await context.newPage();
    const list = await own.goto(target);
    const body = await list.text();
    assert.ok(!body.includes("Evil"), "a module was created from another site");
    assert.ok(answers.every((s) => s === 403), "answers: " + answers);
  } finally {
    await browser.close();
    server.close();
  }
}
