// eidgate rights management (PRODUCT.md §4, §8): the organisations and facilities the
// user administers, who holds which role there, and forms to grant and revoke roles.
// Names come from people's input and the directory: they are only ever inserted with
// textContent, never as HTML. Every POST carries the session's CSRF token.
"use strict";

let csrf = "";
const scopes = new Map();       // "facility:x" -> {label, grantable, revocable}
const ROLE_LABELS = {
  "vte": "VTE", "co-vte": "co-VTE", "lb": "lokale beheerder",
  "security-officer": "security officer", "member": "medewerker",
  "moduleerder": "moduleerder", "insisto-aanmelder": "INSISTO-aanmelder",
  "insisto-raadpleger": "INSISTO-raadpleger",
};

function $(id) {
  return document.getElementById(id);
}

function say(message, ok) {
  const m = $("message");
  m.textContent = message;
  m.className = ok ? "ok" : "error";
}

function option(select, value, label) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = label;
  select.appendChild(o);
}

function roleLabel(role) {
  return ROLE_LABELS[role] || role;
}

function masked(nrn) {
  return nrn.slice(0, 2) + "*******" + nrn.slice(9);
}

function api(method, path, body) {
  return eidgateApi(method, path, body, csrf);
}

// Every scope the user administers, organisations first, each facility under its own.
function collectScopes(orgs) {
  scopes.clear();
  for (const org of orgs) {
    if (org.administer) {
      scopes.set(org.scope, { label: org.name + " (organisatie)", short: org.name,
        grantable: org.grantable, revocable: org.revocable });
    }
    for (const f of org.facilities) {
      scopes.set(f.scope, { label: f.name + " – " + org.name, short: f.name,
        grantable: f.grantable, revocable: f.revocable });
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

function fillGrantRoles() {
  const roles = $("grant-role");
  roles.replaceChildren();
  const info = scopes.get($("grant-scope").value);
  for (const role of info ? info.grantable : []) {
    option(roles, role, roleLabel(role));
  }
}

function fillRoleFilter() {
  const sel = $("role-filter");
  for (const role of Object.keys(ROLE_LABELS)) {
    option(sel, role, roleLabel(role));
  }
}

function roleChip(person, r) {
  const chip = document.createElement("span");
  chip.className = "role";
  chip.dataset.role = r.role;
  chip.dataset.scope = r.scope;
  const info = scopes.get(r.scope);
  chip.textContent = roleLabel(r.role) + " · " + (info ? info.short : r.scope);
  if (!person.self && info && info.revocable.includes(r.role)) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary revoke";
    b.textContent = "Intrekken";
    b.addEventListener("click", () => revoke(person, r));
    chip.appendChild(b);
  }
  return chip;
}

function personRow(p) {
  const row = document.createElement("tr");
  row.dataset.nrn = p.nrn;
  const name = document.createElement("td");
  name.textContent = p.name || "(onbekend)";
  if (p.self) {
    name.classList.add("self");
  }
  const nrn = document.createElement("td");
  nrn.textContent = masked(p.nrn);
  const roles = document.createElement("td");
  for (const r of p.roles) {
    roles.appendChild(roleChip(p, r));
  }
  row.append(name, nrn, roles);
  return row;
}

async function loadPeople() {
  const params = new URLSearchParams({ scope: $("scope").value });
  const q = $("q").value.trim();
  if (q !== "") {
    params.set("q", q);
  }
  if ($("role-filter").value !== "") {
    params.set("role", $("role-filter").value);
  }
  const { data } = await api("GET", "/eidgate/admin/api/people?" + params.toString());
  const body = $("people");
  body.replaceChildren(...data.people.map(personRow));
  $("truncated").hidden = !data.truncated;
}

async function revoke(person, r) {
  try {
    await api("POST", "/eidgate/admin/api/revocations", { nrn: person.nrn, role: r.role,
      scope: r.scope });
    say("Rol " + roleLabel(r.role) + " ingetrokken voor " + (person.name || masked(person.nrn)) + ".", true);
    await loadPeople();
  } catch (e) {
    say(e.message, false);
  }
}

async function grant(event) {
  event.preventDefault();
  const body = { nrn: $("grant-nrn").value.trim(), role: $("grant-role").value,
    scope: $("grant-scope").value };
  const name = $("grant-name").value.trim();
  if (name !== "") {
    body.name = name;
  }
  try {
    const { status } = await api("POST", "/eidgate/admin/api/grants", body);
    say(status === 201 ? "Rol " + roleLabel(body.role) + " toegekend." :
      "Deze persoon had die rol al.", true);
    $("grant-form").reset();
    fillGrantRoles();
    await loadPeople();
  } catch (e) {
    say(e.message, false);
  }
}

async function load() {
  try {
    const me = (await api("GET", "/eidgate/whoami")).data;
    csrf = me.csrf || "";
    $("me").textContent = me.name;
    const sc = (await api("GET", "/eidgate/admin/api/scope")).data;
    collectScopes(sc.organisations);
    fillScopeSelects();
    const none = scopes.size === 0;
    $("none").hidden = !none;
    $("people-section").hidden = none;
    if (!none) {
      await loadPeople();
    }
  } catch (e) {
    say(e.message, false);
  }
  document.body.dataset.ready = "1";   // for scripts and tests: the first load is done
}

function guarded(fn) {
  return async (event) => {
    if (event) {
      event.preventDefault();
    }
    try {
      await fn();
    } catch (e) {
      say(e.message, false);
    }
  };
}

fillRoleFilter();
$("scope").addEventListener("change", guarded(loadPeople));
$("filter").addEventListener("submit", guarded(loadPeople));
$("role-filter").addEventListener("change", guarded(loadPeople));
$("grant-scope").addEventListener("change", fillGrantRoles);
$("grant-form").addEventListener("submit", grant);
load();
