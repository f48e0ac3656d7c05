// eidgate portal: who am I, and the facility to act for. Names come from certificates
// and the directory: they are only ever inserted as text, never as HTML.
"use strict";

let csrf = "";

function text(id, value) {
  document.getElementById(id).textContent = value;
}

function cell(row, value) {
  const td = document.createElement("td");
  td.textContent = value;
  row.appendChild(td);
  return td;
}

async function api(method, path, body) {
  return (await eidgateApi(method, path, body, csrf)).data;
}

function showApps(me) {
  const apps = document.getElementById("apps");
  apps.replaceChildren();
  if (!me.facility) {
    return;
  }
  const links = [
    ["Modules van " + me.facility, "/modules/facilities/" + encodeURIComponent(me.facility) + "/modules"],
    ["Instroommogelijkheden", "/modules/facilities/" + encodeURIComponent(me.facility) + "/intake"],
    ["Catalogus typemodules", "/modules/catalog/modules"],
  ];
  for (const [label, href] of links) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = href;
    a.textContent = label;
    li.appendChild(a);
    apps.appendChild(li);
  }
}

function showFacilities(me) {
  const body = document.getElementById("facilities");
  body.replaceChildren();
  for (const f of me.facilities) {
    const row = document.createElement("tr");
    row.dataset.facility = f.id;
    cell(row, f.name + " (" + f.id + ")");
    cell(row, f.organisation_name + " (" + f.organisation + ")");
    cell(row, f.capacities.join(", "));
    const td = cell(row, "");
    if (f.id === me.facility) {
      td.textContent = "gekozen";
      row.classList.add("current");
    } else {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "Kies";
      b.addEventListener("click", () => choose(f.id));
      td.appendChild(b);
    }
    body.appendChild(row);
  }
}

function show(me) {
  csrf = me.csrf || "";
  text("name", me.name);
  text("nrn", me.nrn_masked);
  text("card", me.card);
  text("key", me.key);
  const chosen = me.facilities.find((f) => f.id === me.facility);
  text("acting", chosen ? "U treedt op voor " + chosen.name + " (" + (me.capacity || "-") + ")."
    : "Nog geen voorziening gekozen.");
  showFacilities(me);
  showApps(me);
}

async function load() {
  try {
    show(await api("GET", "/eidgate/whoami"));
  } catch (e) {
    text("message", e.message);
  }
}

async function choose(id) {
  try {
    await api("POST", "/eidgate/context", { facility: id });
    await load();
  } catch (e) {
    text("message", e.message);
  }
}

document.getElementById("logout").addEventListener("click", async () => {
  try {
    await api("POST", "/eidgate/logout", {});
    text("message", "U bent afgemeld.");
  } catch (e) {
    text("message", e.message);
  }
});

load();
