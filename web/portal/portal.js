// eidgate portal: who am I, my roles and what each allows, the facility to act for, the
// applications I can open, logout. Names come from certificates and the directory:
// they are only ever inserted as text, never as HTML.
"use strict";

let csrf = "";

function $(id) {
  return document.getElementById(id);
}

function text(id, value) {
  $(id).textContent = value;
}

function cell(row, value, tag) {
  const td = document.createElement(tag || "td");
  if (tag === "th") {
    td.scope = "row";
  }
  td.textContent = value;
  row.appendChild(td);
  return td;
}

async function api(method, path, body) {
  return (await eidgateApi(method, path, body, csrf)).data;
}

// Where a role holds: the whole organisation, one facility, or a region's access gate.
function placeOf(r) {
  if (r.scope_kind === "organisation") {
    return t("portal.whole-organisation");
  }
  if (r.scope_kind === "region") {
    return t("portal.region", { region: tOr("region.", r.scope) });
  }
  return r.scope_name || r.scope;
}

// The roles, one table per organisation (or region), each role explained.
function showRoles(me) {
  const groups = new Map();
  for (const r of me.roles) {
    const key = r.scope_kind === "region" ? "region" : "org:" + r.organisation;
    if (!groups.has(key)) {
      groups.set(key, { title: r.scope_kind === "region" ? t("portal.regions") :
        (r.organisation_name || r.organisation), rows: [] });
    }
    groups.get(key).rows.push(r);
  }
  const box = $("roles");
  box.replaceChildren();
  for (const g of groups.values()) {
    const h = document.createElement("h3");
    h.textContent = g.title;
    const table = document.createElement("table");
    table.className = "roles";
    const head = table.createTHead().insertRow();
    for (const id of ["portal.role", "portal.where", "portal.what", "portal.until"]) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = t(id);
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const r of g.rows) {
      const row = body.insertRow();
      row.dataset.role = r.role;
      row.dataset.scope = r.scope;
      cell(row, tOr("role.", r.role), "th");
      cell(row, placeOf(r));
      cell(row, tOr("role-help.", r.role));
      cell(row, r.until ? formatEnd(r.until).text : t("portal.until-none"));
    }
    box.append(h, table);
  }
  $("roles-none").hidden = me.roles.length > 0;
}

function capacities(list) {
  return list.map((c) => tOr("capacity.", c)).join(", ") || "–";
}

function showFacilities(me) {
  const body = $("facilities");
  body.replaceChildren();
  for (const f of me.facilities) {
    const row = document.createElement("tr");
    row.dataset.facility = f.id;
    cell(row, f.name, "th");
    cell(row, f.organisation_name || f.organisation);
    cell(row, capacities(f.capacities));
    const td = cell(row, "");
    if (f.id === me.facility) {
      td.textContent = t("portal.chosen");
      row.classList.add("current");
    } else {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = t("portal.choose");
      b.setAttribute("aria-label", t("portal.choose-label", { facility: f.name }));
      b.addEventListener("click", () => choose(f.id));
      td.appendChild(b);
    }
    body.appendChild(row);
  }
  const chosen = me.facilities.find((f) => f.id === me.facility);
  text("acting", chosen ? t("portal.acting-now", { facility: chosen.name,
    organisation: chosen.organisation_name, capacity: capacities(chosen.capacities) })
    : t("portal.acting-none"));
  $("acting-section").hidden = me.facilities.length === 0;
}

// Only the applications the gateway would let the user open (whoami's "apps").
function showApps(me) {
  const apps = $("apps");
  apps.replaceChildren();
  for (const app of me.apps) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = app.href;
    a.textContent = t(app.id, { place: app.id.startsWith("app.region") ?
      tOr("region.", app.place) : app.place });
    li.appendChild(a);
    apps.appendChild(li);
  }
  $("apps-none").hidden = me.apps.length > 0;
}

function show(me) {
  csrf = me.csrf || "";
  text("name", me.name);
  text("nrn", me.nrn_masked);
  text("card", t("card." + me.card));
  showRoles(me);
  showFacilities(me);
  showApps(me);
  eidgateMenus(me);
  $("account").hidden = false;
}

// Not logged in: a browser that logged out is told how to end the card's session and
// offered "Aanmelden"; one without a card is told how to log in.
function showLoggedOut(reason, focus) {
  $("account").hidden = true;
  $("signedout").hidden = reason !== "signed-out";
  $("nocard").hidden = reason === "signed-out";
  eidgateMenus({});
  if (focus) {
    $(reason === "signed-out" ? "signedout-h" : "nocard-h").focus();
  }
}

async function load() {
  await eidgateReady;
  try {
    show(await api("GET", "/eidgate/whoami"));
  } catch (e) {
    if (e.status === 401) {
      showLoggedOut(e.reason, false);
    } else {
      text("message", e.message);
    }
  }
  document.body.dataset.ready = "1";    // for scripts and tests: the first load is done
}

async function choose(id) {
  try {
    await api("POST", "/eidgate/context", { facility: id });
    await load();
    const row = document.querySelector('tr[data-facility="' + CSS.escape(id) + '"] th');
    if (row) {
      row.setAttribute("tabindex", "-1");
      row.focus();
    }
  } catch (e) {
    text("message", e.message);
  }
}

$("logout").addEventListener("click", async () => {
  try {
    await api("POST", "/eidgate/logout", {});
    showLoggedOut("signed-out", true);
  } catch (e) {
    text("message", e.message);
  }
});

load();
