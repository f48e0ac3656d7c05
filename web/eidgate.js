// eidgate.js - what the gateway's pages share: one way to call the gateway's JSON APIs.
// Loaded before each page's own script (plain script, no modules: the pages stay usable
// without a build step).
"use strict";

// Calls the gateway: JSON in and out, the session cookie, and on state-changing calls the
// CSRF token from /eidgate/whoami. Resolves to {status, data}; a refusal throws an Error
// whose message is the gateway's (never internal details) plus the field at fault.
async function eidgateApi(method, path, body, csrf) {
  const opts = { method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.headers["X-Eidgate-CSRF"] = csrf || "";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(path, opts);
  const data = resp.status === 204 ? {} : await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const field = data.field ? " (" + data.field + ")" : "";
    throw new Error((data.error || ("HTTP " + resp.status)) + field);
  }
  return { status: resp.status, data };
}
