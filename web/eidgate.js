// eidgate.js - what the gateway's pages share: the texts of the user's language, one way
// to call the gateway's JSON APIs, dates as Flemish users write them (and a grant's end),
// table cells, the menus the user can use. Loaded before each page's own script (plain script, no modules: the pages
// stay usable without a build step).
"use strict";

// The page was rendered in this language (the gateway chose it from the language
// switch or Accept-Language); its texts for scripts come from the same catalogue.
const eidgateLang = document.documentElement.lang === "en" ? "en" : "nl";
let eidgateMessages = {};
const eidgateReady = fetch("/eidgate/static/i18n/" + eidgateLang + ".json",
  { credentials: "same-origin" })
  .then((r) => r.json())
  .then((m) => { eidgateMessages = m; })
  .catch(() => {});

// The text of a message id with its {placeholders} filled in; the id itself when the
// catalogue lacks it (the catalogue test catches that).
function t(id, params) {
  let s = eidgateMessages[id];
  if (typeof s !== "string") {
    return id;
  }
  for (const [k, v] of Object.entries(params || {})) {
    s = s.split("{" + k + "}").join(String(v));
  }
  return s;
}

// A label from the catalogue (role.moduleerder, kind.login, ...), the raw value when
// there is none (a reason code added after the catalogue was written).
function tOr(prefix, value) {
  const id = prefix + value;
  return eidgateMessages[id] !== undefined ? t(id) : value;
}

// Calls the gateway: JSON in and out, the session cookie, the page's language, and on
// state-changing calls the CSRF token. Resolves to {status, data}; a refusal throws an
// Error whose message is the gateway's (in the page's language) with .field and .reason.
async function eidgateApi(method, path, body, csrf) {
  const opts = {
    method,
    headers: { "Accept": "application/json", "Accept-Language": eidgateLang },
    credentials: "same-origin",
  };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.headers["X-Eidgate-CSRF"] = csrf || "";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(path, opts);
  const data = resp.status === 204 ? {} : await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const e = new Error(data.message || data.error || ("HTTP " + resp.status));
    e.field = data.field;
    e.reason = data.reason;
    e.status = resp.status;
    throw e;
  }
  return { status: resp.status, data };
}

// Dates and times in Europe/Brussels, as Flemish users write them: 02/12/2025 14:05:09.
const eidgateParts = new Intl.DateTimeFormat("nl-BE", {
  timeZone: "Europe/Brussels", year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

function brusselsParts(date) {
  const p = {};
  for (const part of eidgateParts.formatToParts(date)) {
    p[part.type] = part.value;
  }
  return p;
}

function formatDateTime(iso) {
  const p = brusselsParts(new Date(iso));
  return p.day + "/" + p.month + "/" + p.year + " " + p.hour + ":" + p.minute + ":" + p.second;
}

// A Brussels day "2025-12-02" as "di 02/12" (the weekday in the page's language).
function formatDay(day) {
  const [y, m, d] = day.split("-");
  const noon = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d), 12));
  const wd = new Intl.DateTimeFormat(eidgateLang === "en" ? "en-GB" : "nl-BE",
    { weekday: "short", timeZone: "Europe/Brussels" }).format(noon);
  return wd + " " + d + "/" + m;
}

function formatDate(day) {
  const [y, m, d] = day.split("-");
  return d + "/" + m + "/" + y;
}

// Dates in sentences, in the page's language and Belgian time: "30 juni 2027".
const eidgateDayFormat = new Intl.DateTimeFormat(eidgateLang === "en" ? "en-GB" : "nl-BE",
  { timeZone: "Europe/Brussels", day: "numeric", month: "long", year: "numeric" });
const eidgateTimeFormat = new Intl.DateTimeFormat(eidgateLang === "en" ? "en-GB" : "nl-BE",
  { timeZone: "Europe/Brussels", day: "numeric", month: "long", year: "numeric",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

function formatLongDate(iso) {
  return eidgateDayFormat.format(new Date(iso));
}

// The end of a grant (the moment it stops holding) as the last day it holds: a date-only
// end is the midnight after that day in Brussels, so the day shown is the one before; an
// end at another moment is shown with its time ({text, time: true}).
function formatEnd(iso) {
  const end = new Date(iso);
  const p = brusselsParts(end);
  if (p.hour === "00" && p.minute === "00" && p.second === "00") {
    return { text: eidgateDayFormat.format(new Date(end.getTime() - 1000)), time: false };
  }
  if (p.hour === "23" && p.minute === "59") {
    return { text: eidgateDayFormat.format(end), time: false };
  }
  return { text: eidgateTimeFormat.format(end), time: true };
}

// A table cell with a value as text ("–" when there is none), of class cls.
function tableCell(row, value, cls) {
  const c = document.createElement("td");
  c.textContent = value === undefined || value === null || value === "" ? "–" : String(value);
  if (cls) {
    c.className = cls;
  }
  row.appendChild(c);
  return c;
}

function maskNrn(nrn) {
  return nrn && nrn.length === 11 ? nrn.slice(0, 2) + "*******" + nrn.slice(9) : (nrn || "");
}

// "Name (85*******61)", or the masked number alone when the directory has no name.
function personLabel(p) {
  if (!p) {
    return "–";
  }
  return p.name ? p.name + " (" + p.nrn_masked + ")" : p.nrn_masked;
}

// Only the menus the user can use (whoami's "menus"); the current page is marked.
function eidgateMenus(me) {
  const menus = (me && me.menus) || {};
  document.getElementById("nav-admin").hidden = !menus.admin;
  document.getElementById("nav-audit").hidden = !menus.audit;
  for (const a of document.querySelectorAll("header nav a")) {
    if (new URL(a.href).pathname === location.pathname) {
      a.setAttribute("aria-current", "page");
    }
  }
}

// The language switch: remembered for the gateway in a cookie, then the page again.
document.getElementById("lang-switch").addEventListener("click", (ev) => {
  const lang = ev.currentTarget.dataset.lang === "en" ? "en" : "nl";
  document.cookie = "eidgate-lang=" + lang + "; Path=/; Secure; SameSite=Strict; Max-Age=31536000";
  location.reload();
});
