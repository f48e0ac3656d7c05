// Runs one browser scenario: node tests/browser/run.mjs FILE.
// The scenario module exports `async function run(ctx)`; ctx comes from the environment
// variable EIDGATE_BROWSER_CTX (JSON, written by tests/e2e/test_browser.py) plus
// `chromium` (playwright-core's launcher) and `launch()` (Debian's chromium, headless,
// with the flags this closed network needs).
import { chromium } from "playwright-core";
import path from "node:path";
import { pathToFileURL } from "node:url";

const file = process.argv[2];
const ctx = JSON.parse(process.env.EIDGATE_BROWSER_CTX || "{}");
ctx.chromium = chromium;
ctx.launch = () => chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync"],
});
// A browser context that logs in over mTLS with a demo person's card certificate.
ctx.contextFor = (browser, who) => browser.newContext({
  ignoreHTTPSErrors: true,
  clientCertificates: [{
    origin: ctx.baseURL,
    certPath: path.join(ctx.pki, "people", who, "chain.pem"),
    keyPath: path.join(ctx.pki, "people", who, "auth.key"),
  }],
});

const mod = await import(pathToFileURL(path.resolve(file)).href);
try {
  await mod.run(ctx);
  console.log("browser scenario ok: " + path.basename(file));
} catch (e) {
  console.error("browser scenario failed: " + path.basename(file) + "\n" + (e.stack || e));
  process.exit(1);
}
