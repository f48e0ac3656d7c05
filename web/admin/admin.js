// eidgate rights management (PRODUCT.md §4, §8): the organisations and facilities the
// user administers, who holds which role there (a page at a time, searched by name or
// national number), forms to grant and revoke roles. Names come from people's input and
// the directory: they are only ever inserted with textContent, never as HTML. Every POST
// carries the session's CSRF token; national numbers only ever travel in POST bodies.
"use strict";

const PAGE = 20;
const ROLES = ["vte", "co-vte", "lb", "security-officer", "member", "moduleerder",
  "insisto-aanmelder", "insisto-raadpleger"];
let csrf = "";
let offset = 0;
const scopes = new Map();       // "facility:x" -> {label, short, grantable, revocable}
const known = new Map();        // national number -> name, of the people listed

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

function roleChip(person, r) {
  const chip = document.createElement("span");
  chip.className = "role";
  chip.dataset.role = r.role;
  chip.dataset.scope = r.scope;
  chip.textContent = roleLabel(r.role) + " · " + scopeName(r.scope);
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

async function grantRole(nrn, role, scope, name) {
  const body = { nrn, role, scope };
  if (name) {
    body.name = name;
  }
  return api("POST", "/eidgate/admin/api/grants", body);
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
  const undo = document.createElement("button");
  undo.type = "button";
  undo.className = "secondary";
  undo.id = "undo";
  undo.textContent = t("admin.undo");
  undo.addEventListener("click", guarded("people-message", async () => {
    await grantRole(person.nrn, r.role, r.scope);
    say("people-message", t("admin.undone", names), true);
    await loadPeople();
  }));
  m.appendChild(undo);
  await loadPeople().catch((e) => say("people-message", e.message, false));
  undo.focus();
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

function markField(field) {
  for (const id of ["grant-nrn", "grant-name", "grant-scope", "grant-role"]) {
    $(id).removeAttribute("aria-invalid");
  }
  const el = field ? $("grant-" + field) : null;
  if (el) {
    el.setAttribute("aria-invalid", "true");
    el.focus();
  }
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
    const { status } = await grantRole(nrn, role, scope, name);
    markField(null);
    say("grant-message", t(status === 201 ? "admin.granted" : "admin.already", names), true);
    $("grant-form").reset();
    fillGrantRoles();
    await loadPeople();
  } catch (e) {
    markField(e.field);
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
