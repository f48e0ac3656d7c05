// eidgate security officers' page: the access log of the officer's own organisation, a
// page at a time, people named (national numbers masked), each record's details in an
// expandable row, and a chart per day (Debian's Chart.js) that follows the filters.
// Everything shown comes from the log, which holds attacker-influenced text (paths,
// names): it is only ever inserted with textContent.
"use strict";

let org = "";
let csrf = "";
let offset = 0;
let chart = null;
let pseudonymBackends = [];    // the backends that receive pseudonyms (pseudonym.js)

function $(id) {
  return document.getElementById(id);
}

function text(id, value) {
  $(id).textContent = value;
}

async function getJSON(path) {
  return (await eidgateApi("GET", path)).data;
}

async function postJSON(path, body) {
  return (await eidgateApi("POST", path, body, csrf)).data;
}

// A date as Flemish users write it (2/12/2025, 02-12-2025, 2.12.2025) as the API's
// "2025-12-02"; an Error naming the field when it is no date.
function isoDate(el) {
  const m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(el.value.trim());
  const d = m ? new Date(Date.UTC(Number(m[3]), Number(m[2]) - 1, Number(m[1]))) : null;
  if (!d || d.getUTCDate() !== Number(m[1]) || d.getUTCMonth() !== Number(m[2]) - 1) {
    el.setAttribute("aria-invalid", "true");
    el.focus();
    throw new Error(t("audit.date-invalid", { value: el.value }));
  }
  el.removeAttribute("aria-invalid");
  return d.toISOString().slice(0, 10);
}

// The filters go in a POST body, never in a URL: the person searched for may be a
// national number (PRODUCT.md §3), which URLs would leave in histories and proxy logs.
function filters() {
  const f = { org };
  for (const el of $("filters").elements) {
    if (el.name && el.value.trim()) {
      f[el.name] = el.classList.contains("date") ? isoDate(el) : el.value.trim();
    } else if (el.name) {
      el.removeAttribute("aria-invalid");
    }
  }
  return f;
}

function pageSize() {
  return Number($("page-size").value);
}

// The CSV export is fetched like the table and handed to the browser as a file.
async function downloadCSV() {
  const body = Object.assign(filters(), { format: "csv" });
  const resp = await fetch("/eidgate/audit/api/records", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Eidgate-CSRF": csrf,
      "Accept-Language": eidgateLang },
    body: JSON.stringify(body),
  });
  if (!resp.ok) {
    throw new Error((await resp.json().catch(() => ({}))).message || "HTTP " + resp.status);
  }
  const url = URL.createObjectURL(await resp.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = t("audit.csv-file", { org });
  document.body.appendChild(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

function isoTime(iso) {
  return formatDateTime(String(iso).replace(/(\.\d{3})\d+/, "$1"));
}

// Who acted in a rights record: a person, or the platform operator's command.
function actorLabel(r) {
  if (r.actor && r.actor.startsWith("operator:")) {
    return t("audit.operator", { user: r.actor.slice(9) });
  }
  return personLabel(r.actor_person || r.person);
}

// What happened, in one line: who granted what to whom where, or the request.
function whatOf(r) {
  if (r.kind === "rights" || (r.kind === "outcome" && r.action)) {
    return t("audit.rights-" + (r.action || "list"), { actor: actorLabel(r),
      role: r.role ? tOr("role.", r.role) : t("audit.all-roles"),
      scope: r.scope_name || r.scope || "–", target: personLabel(r.target_person) });
  }
  if (r.kind === "review") {
    return t("audit.review-" + r.action, { actor: actorLabel(r), role: tOr("role.", r.role),
      scope: r.scope_name || r.scope || "–", target: personLabel(r.target_person) });
  }
  const kind = r.kind === "request" ? "" : tOr("kind.", r.kind) + ": ";
  return kind + (r.method || "") + " " + (r.path || "");
}

// The details of one record: every field it has, labelled in the page's language.
function detailsRow(r, id) {
  const row = document.createElement("tr");
  row.className = "details";
  row.id = id;
  row.hidden = true;
  const cell = document.createElement("td");
  cell.colSpan = 7;
  const dl = document.createElement("dl");
  dl.className = "facts";
  for (const [k, v] of Object.entries(r)) {
    if (v === null || typeof v === "object" || k === "noise") {
      continue;
    }
    const dt = document.createElement("dt");
    dt.textContent = tOr("auditfield.", k);
    const dd = document.createElement("dd");
    const code = document.createElement("code");
    code.textContent = k === "time" ? isoTime(v) + " (" + v + ")" :
      (k === "nrn" || k === "target" || k === "actor") ? maskNrn(v) : String(v);
    dd.appendChild(code);
    dl.append(dt, dd);
  }
  cell.appendChild(dl);
  row.appendChild(cell);
  return row;
}

function recordRows(r) {
  const tr = document.createElement("tr");
  tr.dataset.seq = r.seq;
  tr.dataset.kind = r.kind;
  if (r.noise) {
    tr.className = "noise-row";
  }
  tableCell(tr, isoTime(r.time), "time");
  tableCell(tr, r.instance, "instance");
  tableCell(tr, r.kind === "rights" ? actorLabel(r) : personLabel(r.person), "person");
  const what = tableCell(tr, whatOf(r), "what");
  if (r.noise) {
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = t("audit.noise-tag");
    what.appendChild(tag);
  }
  tableCell(tr, tOr("decision.", r.decision), r.decision === "deny" ? "deny" : "allow");
  tableCell(tr, tOr("why.", r.reason), "reason");
  const b = document.createElement("button");
  b.type = "button";
  b.className = "secondary";
  b.textContent = t("audit.details");
  b.setAttribute("aria-expanded", "false");
  // Seqs repeat across instances in the merged view: the id names the instance too.
  const id = "details-" + (r.instance || "") + "-" + r.seq;
  b.setAttribute("aria-controls", id);
  b.setAttribute("aria-label", t("audit.details-of", { seq: r.seq }));
  const details = detailsRow(r, id);
  b.addEventListener("click", () => {
    const open = b.getAttribute("aria-expanded") !== "true";
    b.setAttribute("aria-expanded", String(open));
    details.hidden = !open;
  });
  tableCell(tr, "").replaceChildren(b);
  return [tr, details];
}

function renderRecords(data) {
  $("records").replaceChildren(...data.records.flatMap(recordRows));
  const to = data.offset + data.records.length;
  text("range", data.total === 0 ? t("page.empty") :
    t("audit.range", { from: data.offset + 1, to, total: data.total }));
  $("prev").disabled = data.offset === 0;
  $("next").disabled = to >= data.total;
}

// ---- the chart ---------------------------------------------------------------------

// A fill that is more than a colour, so the series differ for colour-blind readers
// and in print: solid, diagonal stripes, dots.
function pattern(color, kind) {
  const c = document.createElement("canvas");
  c.width = 10;
  c.height = 10;
  const g = c.getContext("2d");
  g.fillStyle = color;
  g.fillRect(0, 0, 10, 10);
  g.fillStyle = "#ffffff";
  g.strokeStyle = "#ffffff";
  g.lineWidth = 2;
  if (kind === "stripes") {
    g.beginPath();
    g.moveTo(-2, 12);
    g.lineTo(12, -2);
    g.moveTo(-2, 2);
    g.lineTo(2, -2);
    g.moveTo(8, 12);
    g.lineTo(12, 8);
    g.stroke();
  } else if (kind === "dots") {
    g.beginPath();
    g.arc(5, 5, 1.8, 0, 2 * Math.PI);
    g.fill();
  }
  return g.createPattern(c, "repeat");
}

// Every day of the period, with zeros where the log has nothing.
function everyDay(stats) {
  const byDay = new Map(stats.days.map((d) => [d.day, d]));
  const out = [];
  const d = new Date(stats.since + "T12:00:00Z");
  const end = new Date(stats.until + "T12:00:00Z");
  for (let i = 0; d <= end && i < 400; i++, d.setUTCDate(d.getUTCDate() + 1)) {
    const day = d.toISOString().slice(0, 10);
    out.push(byDay.get(day) || { day, allow: 0, deny: 0, noise: 0 });
  }
  return out;
}

function renderChartTable(days) {
  const body = $("chart-table").tBodies[0];
  body.replaceChildren(...days.map((d) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = formatDate(d.day);
    tr.appendChild(th);
    for (const v of [d.allow, d.deny, d.noise]) {
      tableCell(tr, v);
    }
    return tr;
  }));
}

function renderChart(stats) {
  const days = everyDay(stats);
  text("chart-period", t("audit.chart-period", { since: formatDate(stats.since),
    until: formatDate(stats.until) }));
  renderChartTable(days);
  const data = {
    labels: days.map((d) => formatDay(d.day)),
    datasets: [
      { label: t("audit.series-allow"), data: days.map((d) => d.allow),
        backgroundColor: pattern("#2e7d32", "solid"), borderColor: "#1b5e20", borderWidth: 1 },
      { label: t("audit.series-deny"), data: days.map((d) => d.deny),
        backgroundColor: pattern("#b71c1c", "stripes"), borderColor: "#7f1010", borderWidth: 1 },
      { label: t("audit.series-noise"), data: days.map((d) => d.noise),
        backgroundColor: pattern("#5f6b7a", "dots"), borderColor: "#3d4652", borderWidth: 1 },
    ],
  };
  if (typeof Chart === "undefined") {
    text("chart-period", t("audit.chart-missing"));
    return;
  }
  if (chart) {
    chart.data = data;
    chart.update();
    return;
  }
  chart = new Chart($("chart"), {
    type: "bar",
    data,
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      scales: {
        x: { stacked: true, title: { display: true, text: t("audit.axis-day"), color: "#1d2733" },
          ticks: { color: "#1d2733" } },
        y: { stacked: true, beginAtZero: true, title: { display: true, text: t("audit.axis-count"),
          color: "#1d2733" }, ticks: { precision: 0, color: "#1d2733" } },
      },
      plugins: {
        legend: { display: true, position: "top", labels: { color: "#1d2733" } },
        tooltip: { callbacks: { title: (items) => formatDate(days[items[0].dataIndex].day) } },
      },
    },
  });
  window.eidgateChart = chart;          // for tests: the chart as drawn
}

// ---- loading -----------------------------------------------------------------------

async function search() {
  try {
    const f = filters();
    const data = await postJSON("/eidgate/audit/api/records",
      Object.assign({}, f, { offset, limit: pageSize() }));
    renderRecords(data);
    renderChart(await postJSON("/eidgate/audit/api/stats", f));
    text("message", "");
  } catch (e) {
    text("message", e.message);
  }
  document.body.dataset.ready = String(Number(document.body.dataset.ready || 0) + 1);
}

async function verify() {
  try {
    const v = await getJSON("/eidgate/audit/api/verify?org=" + encodeURIComponent(org));
    text("verify", v.ok ? t("audit.verify-ok", { count: v.records }) :
      t("audit.verify-bad", { message: v.error }));
    $("verify").className = v.ok ? "ok" : "error";
  } catch (e) {
    text("verify", e.message);
  }
}

function chooseOrg(o) {
  org = o.id;
  text("org-name", o.name);
  // The access review (review.js) follows the organisation chosen.
  document.dispatchEvent(new CustomEvent("eidgate-org", { detail: { org, csrf,
    pseudonymBackends } }));
  const sel = $("facility");
  sel.replaceChildren(sel.options[0]);
  for (const f of o.facilities) {
    const opt = document.createElement("option");
    opt.value = f.id;
    opt.textContent = f.name;
    sel.appendChild(opt);
  }
}

async function start() {
  await eidgateReady;
  try {
    const me = await getJSON("/eidgate/whoami");
    csrf = me.csrf || "";
    eidgateMenus(me);
    const scope = await getJSON("/eidgate/audit/api/scope");
    text("me", scope.name);
    pseudonymBackends = scope.pseudonym_backends || [];
    const select = $("org");
    for (const o of scope.organisations) {
      const opt = document.createElement("option");
      opt.value = o.id;
      opt.textContent = o.name;
      select.appendChild(opt);
    }
    $("org-row").hidden = scope.organisations.length < 2;
    chooseOrg(scope.organisations[0]);
    select.addEventListener("change", () => {
      chooseOrg(scope.organisations[select.selectedIndex]);
      offset = 0;
      search();
      verify();
    });
    await search();
    verify();
  } catch (e) {
    text("message", e.message);
    $("chart-section").hidden = true;
    document.body.dataset.ready = "1";
  }
}

$("filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  offset = 0;
  search();
});
$("csv").addEventListener("click", (ev) => {
  ev.preventDefault();
  Promise.resolve().then(downloadCSV).catch((e) => text("message", e.message));
});
$("prev").addEventListener("click", () => {
  offset = Math.max(0, offset - pageSize());
  search();
});
$("next").addEventListener("click", () => {
  offset += pageSize();
  search();
});
$("page-size").addEventListener("change", () => {
  offset = 0;
  search();
});
start();
