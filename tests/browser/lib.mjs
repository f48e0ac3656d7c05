// What the browser scenarios share: a browser context per person and language, the
// accessibility check (axe-core, WCAG 2.1 A and AA), screenshots, keyboard steps, the
// access log and the PKCS#11 login of eidgate-login.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const WEB = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..", "web");

export const LANGS = ["nl", "en"];
const LOCALES = { nl: "nl-BE", en: "en-GB" };
const CATALOGUES = Object.fromEntries(LANGS.map((l) => [l,
  JSON.parse(fs.readFileSync(path.join(WEB, "i18n", l + ".json"), "utf8"))]));

// The text of a message id in a language, as the pages show it ({name} filled in).
export function msg(lang, id, params) {
  let s = CATALOGUES[lang][id];
  assert.equal(typeof s, "string", "no message " + id + " in " + lang);
  for (const [k, v] of Object.entries(params || {})) {
    s = s.split("{" + k + "}").join(String(v));
  }
  return s;
}

// A time as the pages write it: Europe/Brussels, dd/mm/yyyy hh:mm:ss.
export function brussels(iso) {
  const p = {};
  for (const x of new Intl.DateTimeFormat("nl-BE", { timeZone: "Europe/Brussels",
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23" }).formatToParts(new Date(iso.replace(/(\.\d{3})\d+/, "$1")))) {
    p[x.type] = x.value;
  }
  return p.day + "/" + p.month + "/" + p.year + " " + p.hour + ":" + p.minute + ":" + p.second;
}

export function nrnOf(ctx, who) {
  return fs.readFileSync(path.join(ctx.pki, "people", who, "nrn"), "utf8").trim();
}

// A browser context in a language (its Accept-Language), logged in with who's card
// certificate, or without a card when who is null. Page errors, dialogs and CSP
// violations land in .problems.
export async function open(browser, ctx, who, lang) {
  const opts = { ignoreHTTPSErrors: true, locale: LOCALES[lang], timezoneId: "UTC" };
  if (who !== null) {
    opts.clientCertificates = [{
      origin: ctx.baseURL,
      certPath: path.join(ctx.pki, "people", who, "chain.pem"),
      keyPath: path.join(ctx.pki, "people", who, "auth.key"),
    }];
  }
  const context = await browser.newContext(opts);
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push("pageerror: " + e));
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 40[134]/.test(m.text())) {
      problems.push("console: " + m.text());
    }
  });
  page.on("dialog", async (d) => {
    problems.push("dialog: " + d.message());
    await d.dismiss();
  });
  return { context, page, problems };
}

// axe-core on the page as it is now: no serious or critical violation of WCAG 2.1 A/AA
// (contrast included). Run through the DevTools protocol, which the page's CSP does not
// restrict, so the pages keep their strict CSP under test.
export async function checkA11y(page, label) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: "tag",
      values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad, [], "accessibility (" + label + "): " + JSON.stringify(bad, null, 1));
  return result;
}

export async function shot(ctx, page, name) {
  await page.screenshot({ path: path.join(ctx.screenshotDir, name + ".png"), fullPage: true });
}

// Presses Tab until the element matching selector has the focus (at most max times):
// the element is reachable by keyboard.
export async function tabTo(page, selector, max = 60) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s),
      selector)) {
      return;
    }
  }
  throw new Error("not reachable by Tab: " + selector);
}

// Records of this run's access log (`eidgate audit query`), as objects.
export function audit(ctx, ...args) {
  const out = execFileSync(path.join(ctx.bin, "eidgate"), ["audit", "query", "--db", ctx.auditDir,
    "--format", "json", ...args], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

// A login with eidgate-login and who's SoftHSM2 card (PIN 1234): the session token.
export function cardLogin(ctx, who) {
  return execFileSync(path.join(ctx.bin, "eidgate-login"), ["--url", ctx.baseURL, "--module",
    "/usr/lib/softhsm/libsofthsm2.so", "--pin-stdin", "--cacert",
    path.join(ctx.pki, "server", "server-ca.pem")], {
    input: "1234\n", encoding: "utf8",
    env: Object.assign({}, process.env, { SOFTHSM2_CONF: path.join(ctx.tokens, who, "softhsm2.conf") }),
  }).trim();
}

// A JSON call from inside the page, with the session cookie and the CSRF token.
export async function apiInPage(page, method, url, body, lang) {
  return page.evaluate(async ([m, u, b, l]) => {
    const me = await (await fetch("/eidgate/whoami")).json();
    const headers = { "X-Eidgate-CSRF": me.csrf, "Content-Type": "application/json" };
    if (l) {
      headers["Accept-Language"] = l;
    }
    const opts = { method: m, headers };
    if (b !== null) {
      opts.body = JSON.stringify(b);
    }
    const r = await fetch(u, opts);
    return { status: r.status, text: await r.text() };
  }, [method, url, body, lang || null]);
}

// Waits until fn() holds (access-log records land within a few ms of group commit).
export async function eventually(fn, what) {
  for (let i = 0; i < 50; i++) {
    const v = await fn();
    if (v) {
      return v;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("never happened: " + what);
}
