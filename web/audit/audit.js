// eidgate security officers' page: the access log of the officer's own organisation.
// Everything shown comes from the log, which holds attacker-influenced text (paths,
// names): it is only ever inserted with textContent.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
let org = "";
let csrf = "";

function text(id, value) {
  document.getElementById(id).textContent = value;
}

async function getJSON(path) {
  return (await eidgateApi("GET", path)).data;
}

// The filters go in a POST body, never in a URL: the person searched for is a national
// number (PRODUCT.md §3), which URLs would leave in histories and proxy logs.
function filters() {
  const f = { org };
  const form = document.getElementById("filters");
  for (const el of form.elements) {
    if (el.name && el.value) {
      f[el.name] = el.value;
    }
  }
  return f;
}

async function postJSON(path, body) {
  return (await eidgateApi("POST", path, body, csrf)).data;
}

// The CSV export is fetched like the table and handed to the browser as a file.
async function downloadCSV() {
  const body = Object.assign(filters(), { format: "csv" });
  const resp = await fetch("/eidgate/audit/api/records", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Eidgate-CSRF": csrf },
    body: JSON.stringify(body),
  });
  if (!resp.ok) {
    throw new Error("HTTP " + resp.status);
  }
  const url = URL.createObjectURL(await resp.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = "toegangslog-" + org + ".csv";
  document.body.appendChild(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

function renderRecords(records) {
  const body = document.getElementById("records");
  body.replaceChildren();
  for (const r of records) {
    const tr = document.createElement("tr");
    if (r.decision === "deny") {
      tr.className = "deny-row";
    }
    for (const v of [r.seq, r.time, r.kind, r.nrn, r.facility, r.method, r.path, r.rule,
      r.decision, r.reason]) {
      const td = document.createElement("td");
      td.textContent = v === undefined || v === null ? "–" : String(v);
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

function bar(svg, cls, x, y, w, h, title) {
  const rect = document.createElementNS(SVG, "rect");
  rect.setAttribute("class", cls);
  rect.setAttribute("x", x);
  rect.setAttribute("y", y);
  rect.setAttribute("width", w);
  rect.setAttribute("height", h);
  const t = document.createElementNS(SVG, "title");
  t.textContent = title;
  rect.appendChild(t);
  svg.appendChild(rect);
}

function renderChart(days) {
  const chart = document.getElementById("chart");
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 600 160");
  const max = Math.max(1, ...days.map((d) => d.allow + d.deny));
  const w = Math.min(60, 600 / Math.max(days.length, 1));
  days.forEach((d, i) => {
    const ha = 140 * d.allow / max;
    const hd = 140 * d.deny / max;
    bar(svg, "allow", i * w + 2, 150 - ha, w - 4, ha, d.day + ": " + d.allow + " toegestaan");
    bar(svg, "deny", i * w + 2, 150 - ha - hd, w - 4, hd, d.day + ": " + d.deny + " geweigerd");
  });
  chart.replaceChildren(svg);
}

async function search() {
  try {
    const data = await postJSON("/eidgate/audit/api/records", filters());
    renderRecords(data.records);
    const stats = await postJSON("/eidgate/audit/api/stats", { org });
    renderChart(stats.days);
    text("message", "");
  } catch (e) {
    text("message", e.message);
  }
}

async function verify() {
  try {
    const v = await getJSON("/eidgate/audit/api/verify?org=" + encodeURIComponent(org));
    text("verify", v.ok ? "in orde: " + v.records + " records van uw organisatie" :
      "FOUT: " + v.error);
  } catch (e) {
    text("verify", e.message);
  }
}

async function start() {
  try {
    csrf = (await getJSON("/eidgate/whoami")).csrf || "";
    const scope = await getJSON("/eidgate/audit/api/scope");
    text("me", scope.name);
    const select = document.getElementById("org");
    for (const o of scope.organisations) {
      const opt = document.createElement("option");
      opt.value = o.id;
      opt.textContent = o.name + " (" + o.id + ")";
      select.appendChild(opt);
    }
    org = scope.organisations.length ? scope.organisations[0].id : "";
    text("org-name", scope.organisations.length ? scope.organisations[0].name : "–");
    select.addEventListener("change", () => {
      org = select.value;
      text("org-name", select.options[select.selectedIndex].textContent);
      search();
    });
    document.getElementById("filters").addEventListener("submit", (ev) => {
      ev.preventDefault();
      search();
    });
    document.getElementById("csv").addEventListener("click", (ev) => {
      ev.preventDefault();
      downloadCSV().catch((e) => text("message", e.message));
    });
    await search();
    verify();
  } catch (e) {
    text("message", e.message);
  }
}

start();
