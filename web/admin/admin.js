// eidgate rights management (PRODUCT.md §4, §8): the organisations and facilities the
// user administers, who holds which role there (a page at a time, searched by name or
// national number), forms to grant (optionally until a date) and revoke roles, and where
// each role came from (issue 16: who granted it, in which capacity, when, until when).
// Names come from people's input and the directory: they are only ever inserted with
// textContent, never as HTML. Every POST carries the session's CSRF token; national
// numbers only ever travel in POST bodies.
"use strict";

const PAGE = 20;
const ROLES = ["vte", "co-vte", "lb", "security-officer", "member", "moduleerder",
  "insisto-aanmelder", "insisto-raadpleger"];
let csrf = "";
let offset = 0;
const scopes = new Map();       // "facility:x" -> {label, short, grantable, revocable}
const known = new Map();        // national number -> name, of the people listed
const ends = new Map();         // "nrn role scope" -> end of the role (null: none), as listed

function $(id) {
  return document.getElementById(id);
}

function say(id, message, ok) {
  const m = $(id);
  m.replaceChildren(message);
  m.className = "message " + (ok ? "ok" : "error");
  return m;
}

function option(select, value, label) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = label;
  select.appendChild(o);
}

function roleLabel(role) {
  return tOr("role.", role);
}

function scopeName(scope) {
  const info = scopes.get(scope);
  return info ? info.short : scope;
}

function personName(nrn, name) {
  const n = name || known.get(nrn);
  return n ? n + " (" + maskNrn(nrn) + ")" : maskNrn(nrn);
}

// What a message names: the person, the role and where.
function named(nrn, name, role, scope) {
  return { person: personName(nrn, name), role: roleLabel(role), scope: scopeName(scope) };
}

function api(method, path, body) {
  return eidgateApi(method, path, body, csrf);
}

// Every scope the user administers, organisations first, each facility under its own.
function collectScopes(orgs) {
  scopes.clear();
  for (const org of orgs) {
    if (org.administer) {
      scopes.set(org.scope, { label: t("admin.scope-org", { name: org.name }),
        short: org.name, grantable: org.grantable, revocable: org.revocable });
    }
    for (const f of org.facilities) {
      scopes.set(f.scope, { label: t("admin.scope-facility", { name: f.name, org: org.name }),
        short: f.name, grantable: f.grantable, revocable: f.revocable });
    }
  }
}

function fillScopeSelects() {
  const view = $("scope");
  const target = $("grant-scope");
  view.replaceChildren();
  target.replaceChildren();
  for (const [scope, info] of scopes) {
    option(view, scope, info.label);
    if (info.grantable.length > 0) {
      option(target, scope, info.label);
    }
  }
  $("grant-section").hidden = target.options.length === 0;
  fillGrantRoles();
}

function showRoleHelp() {
  const role = $("grant-role").value;
  $("role-help").textContent = role ? tOr("role-help.", role) : "";
}

function fillGrantRoles() {
  const roles = $("grant-role");
  roles.replaceChildren();
  const info = scopes.get($("grant-scope").value);
  for (const role of info ? info.grantable : []) {
    option(roles, role, roleLabel(role));
  }
  showRoleHelp();
}

function fillRoleLists() {
  const sel = $("role-filter");
  const list = $("role-list");
  for (const role of ROLES) {
    option(sel, role, roleLabel(role));
    const dt = document.createElement("dt");
    dt.textContent = roleLabel(role);
    const dd = document.createElement("dd");
    dd.textContent = tOr("role-help.", role);
    list.append(dt, dd);
  }
}

// The end of a grant, in a sentence ("tot en met 30 juni 2027").
function untilText(iso) {
  const end = formatEnd(iso);
  return t(end.time ? "admin.until-time" : "admin.until", { date: end.text });
}

// "vte@organisation:0412345614": the role's label and the place's name when the user
// administers it, else what kind of place it is and its id.
function capacity(grantedAs) {
  const at = grantedAs.indexOf("@");
  const colon = grantedAs.indexOf(":", at);
  if (at <= 0 || colon < 0) {
    return "";
  }
  const scope = grantedAs.slice(at + 1);
  const kind = grantedAs.slice(at + 1, colon);
  const info = scopes.get(scope);
  const place = info ? info.short : (["organisation", "facility", "region"].includes(kind) ?
    tOr("admin.place-", kind) + " " + grantedAs.slice(colon + 1) : scope);
  return t("admin.origin-as", { role: roleLabel(grantedAs.slice(0, at)), place });
}

// Where a role came from, as one sentence: by whom, as what, when.
function originText(r) {
  const parts = [];
  switch (r.granted_by_kind) {
    case "person":
      parts.push(t("admin.origin-by", { name: r.granted_by || t("common.unknown-name") }));
      if (r.granted_as) {
        parts.push(capacity(r.granted_as));
      }
      break;
    case "operator":
      parts.push(t("admin.origin-operator"));
      break;
    case "migration":
      parts.push(t("admin.origin-migration"));
      break;
    default:
      return t("admin.origin-unknown");
  }
  if (r.granted_at) {
    parts.push(t("admin.origin-on", { date: formatLongDate(r.granted_at) }));
  }
  return parts.filter((x) => x !== "").join(" ");
}

function originLine(r) {
  const line = document.createElement("span");
  line.className = "origin";
  const origin = document.createElement("span");
  origin.className = "granted";
  origin.textContent = originText(r);
  const until = document.createElement("span");
  until.className = "until";
  until.textContent = r.until ? untilText(r.until) : t("admin.until-none");
  line.append(origin, " · ", until);
  return line;
}

function roleChip(person, r) {
  const chip = document.createElement("span");
  chip.className = r.expired ? "role expired" : "role";
  chip.dataset.role = r.role;
  chip.dataset.scope = r.scope;
  const head = document.createElement("span");
  head.className = "role-head";
  head.textContent = roleLabel(r.role) + " · " + scopeName(r.scope);
  chip.appendChild(head);
  if (r.expired) {
    const badge = document.createElement("strong");
    badge.className = "badge";
    badge.textContent = t("admin.expired");
    chip.appendChild(badge);
  }
  const info = scopes.get(r.scope);
  if (!person.self && info && info.revocable.includes(r.role)) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary revoke";
    b.textContent = t("admin.revoke");
    b.setAttribute("aria-label", t("admin.revoke-label", named(person.nrn, person.name,
      r.role, r.scope)));
    b.addEventListener("click", () => confirmRevoke(person, r));
    chip.appendChild(b);
  }
  chip.appendChild(originLine(r));
  return chip;
}

function personRow(p) {
  const row = document.createElement("tr");
  row.dataset.nrn = p.nrn;
  const name = document.createElement("th");
  name.scope = "row";
  name.textContent = p.name || t("common.unknown-name");
  if (p.self) {
    name.classList.add("self");
    name.append(" " + t("admin.self"));
  }
  const nrn = document.createElement("td");
  nrn.textContent = maskNrn(p.nrn);
  const roles = document.createElement("td");
  for (const r of p.roles) {
    roles.appendChild(roleChip(p, r));
  }
  row.append(name, nrn, roles);
  return row;
}

function showPage(data) {
  for (const p of data.people) {
    known.set(p.nrn, p.name);
    for (const r of p.roles) {
      ends.set(p.nrn + " " + r.role + " " + r.scope, r.until || null);
    }
  }
  $("people").replaceChildren(...data.people.map(personRow));
  const from = data.total === 0 ? 0 : data.offset + 1;
  const to = data.offset + data.people.length;
  $("range").textContent = data.total === 0 ? t("page.empty") :
    t("page.range", { from, to, total: data.total });
  $("people-count").textContent = t("admin.count", { total: data.total });
  $("prev").disabled = data.offset === 0;
  $("next").disabled = to >= data.total;
  $("truncated").hidden = !data.truncated;
}

// The listing goes by POST: the search may be a national number.
async function loadPeople() {
  const body = { scope: $("scope").value, offset, limit: PAGE };
  const q = $("q").value.trim();
  if (q !== "") {
    body.q = q;
  }
  if ($("role-filter").value !== "") {
    body.role = $("role-filter").value;
  }
  showPage((await api("POST", "/eidgate/admin/api/people", body)).data);
}

async function grantRole(nrn, role, scope, name, until) {
  const body = { nrn, role, scope };
  if (name) {
    body.name = name;
  }
  if (until) {
    body.until = until;
  }
  return api("POST", "/eidgate/admin/api/grants", body);
}

// Undo grants the role again with the end it had; not offered for a grant that had
// already ended (that would be a new grant, which the form makes with a new end).
function undoButton(person, r, names) {
  const undo = document.createElement("button");
  undo.type = "button";
  undo.className = "secondary";
  undo.id = "undo";
  undo.textContent = t("admin.undo");
  undo.addEventListener("click", guarded("people-message", async () => {
    await grantRole(person.nrn, r.role, r.scope, "", r.until || "");
    say("people-message", t("admin.undone", names), true);
    await loadPeople();
  }));
  return undo;
}

async function revoke(person, r) {
  const names = named(person.nrn, person.name, r.role, r.scope);
  try {
    await api("POST", "/eidgate/admin/api/revocations", { nrn: person.nrn, role: r.role,
      scope: r.scope });
  } catch (e) {
    say("people-message", t("admin.failed", Object.assign({ message: e.message }, names)), false);
    return;
  }
  const m = say("people-message", t("admin.revoked", names), true);
  const undo = r.expired ? null : undoButton(person, r, names);
  if (undo) {
    m.appendChild(undo);
  }
  await loadPeople().catch((e) => say("people-message", e.message, false));
  if (undo) {
    undo.focus();
  }
}

// Nothing is revoked before the user has read whom, what and where, and said yes.
function confirmRevoke(person, r) {
  const dialog = $("confirm");
  $("confirm-text").textContent = t("admin.confirm-text", named(person.nrn, person.name,
    r.role, r.scope));
  dialog.returnValue = "";
  dialog.onclose = () => {
    if (dialog.returnValue === "revoke") {
      revoke(person, r);
    }
  };
  dialog.showModal();
  $("confirm-no").focus();
}

// 11 digits, written as people write them (dots, dashes, spaces); "" when not.
function nrnOf(text) {
  const digits = text.replace(/[.\- ]/g, "");
  return /^[0-9]{11}$/.test(digits) ? digits : "";
}

// Marks the field the gateway refused (none: clears the marks); its message goes next to
// the field too when the field has a place for it.
function markField(field, message) {
  for (const id of ["grant-nrn", "grant-name", "grant-scope", "grant-role", "grant-until"]) {
    $(id).removeAttribute("aria-invalid");
  }
  $("grant-until-error").textContent = "";
  const el = field ? $("grant-" + field) : null;
  if (el) {
    const next = $("grant-" + field + "-error");
    if (next) {
      next.textContent = message;
    }
    el.setAttribute("aria-invalid", "true");
    el.focus();
  }
}

// The message after a grant: granted, already held or renewed, naming the end if any.
// A role held without an end and granted again without one is "renewed" by the gateway
// when it only now gets its grant entry (who, when): for the user it was already held.
function grantedText(data, names) {
  const until = data.until ? untilText(data.until) : "";
  const withUntil = Object.assign({ until }, names);
  const before = ends.get(data.nrn + " " + data.role + " " + data.scope);
  switch (data.status) {
    case "renewed":
      if (until) {
        return t("admin.renewed", withUntil);
      }
      return before ? t("admin.renewed-open", names) : t("admin.already", names);
    case "already-held":
      return until ? t("admin.already-until", withUntil) : t("admin.already", names);
    default:
      return until ? t("admin.granted-until", withUntil) : t("admin.granted", names);
  }
}

// Today and ten years ahead in Brussels, as the date field writes them: the range the
// gateway accepts (it checks again; this only guides the date picker).
function limitUntil() {
  const p = brusselsParts(new Date());
  const field = $("grant-until");
  field.min = p.year + "-" + p.month + "-" + p.day;
  field.max = (Number(p.year) + 10) + "-" + p.month + "-" + p.day;
}

async function grant(event) {
  event.preventDefault();
  const nrn = nrnOf($("grant-nrn").value);
  const role = $("grant-role").value;
  const scope = $("grant-scope").value;
  const name = $("grant-name").value.trim();
  const names = named(nrn || $("grant-nrn").value, name, role, scope);
  if (!nrn) {
    markField("nrn");
    say("grant-message", t("admin.nrn-invalid"), false);
    return;
  }
  try {
    const { status, data } = await grantRole(nrn, role, scope, name, $("grant-until").value);
    markField(null);
    if (!data.status) {
      data.status = status === 201 ? "granted" : "already-held";
    }
    say("grant-message", grantedText(data, names), true);
    $("grant-form").reset();
    fillGrantRoles();
    await loadPeople();
  } catch (e) {
    markField(e.field, e.message);
    say("grant-message", t("admin.failed", Object.assign({ message: e.message }, names)), false);
  }
}

function guarded(where, fn) {
  return async (event) => {
    if (event) {
      event.preventDefault();
    }
    try {
      await fn();
    } catch (e) {
      say(where, e.message, false);
    }
  };
}

async function load() {
  await eidgateReady;
  fillRoleLists();
  limitUntil();
  try {
    const me = (await api("GET", "/eidgate/whoami")).data;
    csrf = me.csrf || "";
    $("me").textContent = me.name;
    eidgateMenus(me);
    const sc = (await api("GET", "/eidgate/admin/api/scope")).data;
    collectScopes(sc.organisations);
    fillScopeSelects();
    const none = scopes.size === 0;
    $("none").hidden = !none;
    $("scope-row").hidden = none;
    $("people-section").hidden = none;
    if (!none) {
      await loadPeople();
    }
  } catch (e) {
    say("message", e.message, false);
  }
  document.body.dataset.ready = "1";   // for scripts and tests: the first load is done
}

$("scope").addEventListener("change", guarded("people-message", () => {
  offset = 0;
  return loadPeople();
}));
$("filter").addEventListener("submit", guarded("people-message", () => {
  offset = 0;
  return loadPeople();
}));
$("role-filter").addEventListener("change", guarded("people-message", () => {
  offset = 0;
  return loadPeople();
}));
$("prev").addEventListener("click", guarded("people-message", () => {
  offset = Math.max(0, offset - PAGE);
  return loadPeople();
}));
$("next").addEventListener("click", guarded("people-message", () => {
  offset += PAGE;
  return loadPeople();
}));
$("grant-scope").addEventListener("change", fillGrantRoles);
$("grant-role").addEventListener("change", showRoleHelp);
$("grant-form").addEventListener("submit", grant);
load();
