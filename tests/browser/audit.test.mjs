// Issue 6 §5, issue 11 and issue 15: a security officer reads their organisation's
// access log, in Dutch and in English: people by name with the national number masked,
// times in Brussels time as Flemish users write them, a search by name or by number (in
// POST bodies, never in a URL), pages with the total, each record's details in an
// expandable row (by keyboard), rights records that say who granted what to whom where,
// a login made with eidgate-login, the browser's own requests marked as such, and a chart
// with axes, dates, counts, a legend and patterns that follows the filters. Hostile paths
// stay text. Every state is checked with axe-core and photographed.
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import { LANGS, apiInPage, audit, brussels, cardLogin, checkA11y, eventually, msg, nrnOf, open,
  shot, tabTo } from "./lib.mjs";

const RUDI = "Rudi Gerrits (72*******24)";

// Traffic in the organisation first: refusals (one with markup in its path), a browser's
// automatic request, a rights change, and a PKCS#11 login that chooses no facility.
async function traffic(browser, ctx) {
  const w = await open(browser, ctx, "mod-molenberg", "nl");
  await w.page.goto(ctx.baseURL + "/modules/facilities/%3Cimg%20src=x%20onerror=alert(1)%3E/modules");
  await w.page.goto(ctx.baseURL + "/modules/facilities/ckg-betlehem/modules");  // another facility
  await w.page.goto(ctx.baseURL + "/apple-touch-icon.png");
  assert.equal(await w.page.evaluate(async () => (await fetch("/favicon.ico")).status), 200);
  await w.page.evaluate(async () => {          // enough records for more than one page
    for (let i = 0; i < 30; i++) {
      await fetch("/modules/catalog/modules");
    }
  });
  await w.context.close();
  const vte = await open(browser, ctx, "vte-a", "nl");
  await vte.page.goto(ctx.baseURL + "/eidgate/");
  const nrn = nrnOf(ctx, "member-schommel");
  for (const path of ["/eidgate/admin/api/grants", "/eidgate/admin/api/revocations"]) {
    const r = await apiInPage(vte.page, "POST", path, { nrn, role: "member",
      scope: "facility:ckg-betlehem" });
    assert.ok(r.status < 300, r.text);
  }
  await vte.context.close();
  const token = cardLogin(ctx, "lb-a");
  assert.ok(token.length > 20);
  await eventually(() => audit(ctx, "--kind", "login", "--nrn", nrnOf(ctx, "lb-a")).length, "login");
  assert.equal(audit(ctx).filter((r) => r.path === "/favicon.ico").length, 0, "the icon is no denial");
}

// Runs change() and waits for the search it starts to be shown (body[data-ready] counts
// the searches done).
async function submitted(page, change) {
  const before = Number(await page.locator("body").getAttribute("data-ready"));
  await change();
  await page.locator(`body[data-ready="${before + 1}"]`).waitFor();
}

async function search(page, fields) {
  await submitted(page, async () => {
    for (const [name, value] of Object.entries(fields)) {
      const el = page.locator(`#filters [name=${name}]`);
      if (await el.evaluate((e) => e.tagName) === "SELECT") {
        await el.selectOption(value);
      } else {
        await el.fill(value);
      }
    }
    await page.locator("#filters button[type=submit]").click();
  });
}

function rows(page) {
  return page.locator("#records tr[data-seq]");
}

async function chartState(page) {
  return page.evaluate(() => {
    const c = window.eidgateChart;
    return {
      labels: c.data.labels,
      series: c.data.datasets.map((d) => ({ label: d.label, sum: d.data.reduce((a, b) => a + b, 0),
        pattern: d.backgroundColor instanceof CanvasPattern })),
      x: c.options.scales.x.title.text, y: c.options.scales.y.title.text,
      legend: c.options.plugins.legend.display,
    };
  });
}

async function officer(browser, ctx, lang) {
  const { context, page, problems } = await open(browser, ctx, "secoff-a", lang);
  await page.goto(ctx.baseURL + "/eidgate/audit/");
  await page.locator("body[data-ready]").waitFor();
  await page.locator("#org-name").filter({ hasText: "Kinderzorg" }).waitFor();
  await page.locator("#verify.ok").waitFor();
  assert.equal(await page.getAttribute("html", "lang"), lang);

  // the first page: names, masked numbers, Brussels times, a total
  const first = await page.evaluate(() => [...document.querySelectorAll("#records tr[data-seq]")]
    .map((tr) => [tr.dataset.seq, tr.querySelector(".time").textContent]));
  const recs = new Map(audit(ctx, "--org", "0412345614").map((r) => [String(r.seq), r]));
  assert.ok(first.length > 0);
  for (const [seq, shown] of first.slice(0, 5)) {
    assert.equal(shown, brussels(recs.get(seq).time), "time of record " + seq);
  }
  assert.match(await page.locator("#range").textContent(), /\d+–\d+ .* \d+$/);
  const text = await page.locator("#records").innerText();
  for (const who of ["mod-molenberg", "vte-a", "lb-a", "secoff-a"]) {
    assert.ok(!text.includes(nrnOf(ctx, who)), "a full national number is shown");
  }
  await checkA11y(page, "audit " + lang);

  // the chart: axes, legend, dates, patterns
  let chart = await chartState(page);
  assert.equal(chart.x, msg(lang, "audit.axis-day"));
  assert.equal(chart.y, msg(lang, "audit.axis-count"));
  assert.equal(chart.legend, true);
  assert.deepEqual(chart.series.map((s) => s.label), [msg(lang, "audit.series-allow"),
    msg(lang, "audit.series-deny"), msg(lang, "audit.series-noise")]);
  assert.ok(chart.series.every((s) => s.pattern), "fills are patterns, not colours alone");
  assert.equal(chart.labels.length, 30, "thirty days");
  assert.match(chart.labels.at(-1), /^\S+ \d\d\/\d\d$/);
  assert.ok(chart.series[0].sum > 0 && chart.series[1].sum > 0 && chart.series[2].sum > 0);
  await shot(ctx, page, "audit-" + lang);

  // search by name, then by number: the same records, the number never in a URL
  const urls = [];
  page.on("request", (req) => urls.push(req.url() + " " + (req.headers().referer || "")));
  await search(page, { person: "Gerrits" });
  const byName = await rows(page).count();
  assert.ok(byName > 0);
  for (const p of await page.locator("#records tr[data-seq] td.person").allTextContents()) {
    assert.equal(p, RUDI);
  }
  await search(page, { person: "72.09.30-069.24" });
  assert.equal(await rows(page).count(), byName);
  assert.deepEqual(urls.filter((u) => u.includes("72093006924") || u.includes("72.09.30")), []);
  // the chart follows: only Rudi's records are counted
  chart = await chartState(page);
  const total = Number((await page.locator("#range").textContent()).match(/(\d+)$/)[1]);
  assert.equal(chart.series.reduce((a, s) => a + s.sum, 0), total);
  // the browser's own request is marked, shown apart in the chart, and can be hidden
  const noise = page.locator("#records tr.noise-row");
  await search(page, { noise: "only" });
  assert.ok(await noise.count() >= 1, "the touch icon is marked");
  assert.equal(await noise.count(), await rows(page).count());
  assert.match(await noise.first().locator(".what").textContent(), /apple-touch-icon/);
  assert.match(await noise.first().locator(".what .tag").textContent(), new RegExp(msg(lang, "audit.noise-tag")));
  chart = await chartState(page);
  assert.deepEqual(chart.series.map((x) => x.sum > 0), [false, false, true]);
  await search(page, { noise: "hide" });
  assert.equal(await noise.count(), 0);
  assert.equal((await chartState(page)).series[2].sum, 0);
  await search(page, { decision: "deny", noise: "" });
  assert.equal((await chartState(page)).series[0].sum, 0, "only denials counted");
  assert.equal(await page.locator("#records img").count(), 0, "no markup from the log");
  await search(page, { person: "", decision: "" });

  // rights: who granted what to whom where
  await search(page, { kind: "rights" });
  const sentences = await page.locator("#records td.what").allTextContents();
  assert.ok(sentences.includes(msg(lang, "audit.rights-grant", { actor: "Lotte Vermeulen (78*******54)",
    role: msg(lang, "role.member"), scope: "CKG Betlehem", target: "Tina Herbiest (93*******48)" })),
  JSON.stringify(sentences.slice(0, 5)));
  // the PKCS#11 login of an administrator of the organisation
  await search(page, { kind: "login", person: "Maes" });
  assert.ok(await rows(page).count() >= 1, "the eidgate-login login is shown");
  assert.equal(await page.locator("#records td.person").first().textContent(), "Sofie Maes (85*******60)");

  // details by keyboard
  await search(page, { kind: "", person: "" });
  await tabTo(page, "#records button[aria-controls]");
  const button = page.locator(":focus");
  await page.keyboard.press("Enter");
  assert.equal(await button.getAttribute("aria-expanded"), "true");
  const details = page.locator("#" + await button.getAttribute("aria-controls"));
  assert.equal(await details.isVisible(), true);
  assert.match(await details.innerText(), new RegExp(msg(lang, "auditfield.request_id")));
  await checkA11y(page, "audit details " + lang);
  await shot(ctx, page, "audit-details-" + lang);

  // pages: the second one follows the first
  await submitted(page, () => page.locator("#page-size").selectOption("25"));
  const count = Number((await page.locator("#range").textContent()).match(/(\d+)$/)[1]);
  assert.ok(count > 25, "enough records for two pages: " + count);
  await submitted(page, () => page.locator("#next").click());
  assert.match(await page.locator("#range").textContent(), /26–/);

  // CSV export, from a POST
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#csv").click()]);
  const csvPath = ctx.screenshotDir + "/audit-export-" + lang + ".csv";
  await download.saveAs(csvPath);
  assert.match(await fs.readFile(csvPath, "utf8"), /^instance,seq,time,kind,/);
  assert.deepEqual(problems, []);
  await context.close();
}

export async function run(ctx) {
  const browser = await ctx.launch();
  try {
    await traffic(browser, ctx);
    for (const lang of LANGS) {
      await officer(browser, ctx, lang);
    }
  } finally {
    await browser.close();
  }
}
