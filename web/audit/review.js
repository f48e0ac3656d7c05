// eidgate security officers' page, the access review of their organisation: who could
// make a request now, what one person reaches, and the periodic review of every right
// (confirm or mark to be removed; rights not confirmed within the period are overdue).
// National numbers go in POST bodies only; names come from the directory and are only
// ever inserted with textContent.
"use strict";

const review = { org: "", csrf: "" };

function rv(id) {
  return document.getElementById(id);
}

async function reviewPost(path, body) {
  return (await eidgateApi("POST", "/eidgate/audit/api/" + path,
    Object.assign({ org: review.org }, body), review.csrf)).data;
}

function roleLabel(role) {
  return role ? tOr("role.", role) : "–";
}

// A route of a `signed` rule: only reached with a signature by the person's card.
function signedTag(c) {
  const tag = document.createElement("span");
  tag.className = "signed-tag";
  tag.textContent = t("review.signed");
  tag.title = t("review.signed-note");
  c.appendChild(document.createTextNode(" "));
  c.appendChild(tag);
}

// ---- who can ----------------------------------------------------------------------

async function whoCan(form) {
  const tbody = rv("who-table").tBodies[0];
  tbody.replaceChildren();
  rv("who-table").hidden = true;
  rv("who-summary").textContent = t("review.busy");
  const res = await reviewPost("who-can", { method: form.method.value,
    path: form.path.value.trim() });
  if (res.kind !== "people") {
    rv("who-summary").textContent = t("review.who-" + res.kind, { rule: res.rule }) +
      (res.signed ? " " + t("review.signed-note") : "");
    return;
  }
  for (const p of res.people) {
    const row = document.createElement("tr");
    tableCell(row, p.name);
    tableCell(row, p.nrn_masked);
    tableCell(row, roleLabel(p.role));
    tableCell(row, p.scope);
    const rule = tableCell(row, p.rule);
    if (p.signed) {
      signedTag(rule);
    }
    tbody.appendChild(row);
  }
  rv("who-table").hidden = res.people.length === 0;
  rv("who-summary").textContent = t("review.who-count", { count: res.count,
    method: res.method, path: res.path });
}

// ---- what can ---------------------------------------------------------------------

async function whatCan(form) {
  const tbody = rv("what-table").tBodies[0];
  tbody.replaceChildren();
  rv("what-table").hidden = true;
  rv("what-summary").textContent = t("review.busy");
  const res = await reviewPost("what-can", { nrn: form.nrn.value.trim() });
  for (const be of res.backends) {
    for (const r of be.routes) {
      const row = document.createElement("tr");
      tableCell(row, be.name);
      tableCell(row, r.rule);
      const route = tableCell(row, r.methods + " " + r.pattern);
      if (r.signed) {
        signedTag(route);
      }
      tableCell(row, !r.reaches ? t("review.reaches-nothing") :
        r.values.length ? r.values.join(", ") : t("review.reaches-yes"),
        r.reaches ? "allow" : "muted");
      tbody.appendChild(row);
    }
  }
  rv("what-table").hidden = false;
  rv("what-summary").textContent = t("review.what-of", {
    person: personLabel(res.person),
    grants: res.person.grants.map((g) => roleLabel(g.role) + " (" + g.scope + ")").join(", "),
  });
}

// ---- the periodic review ----------------------------------------------------------

async function verdict(right, value) {
  await reviewPost("review", { nrn: right.nrn, role: right.role, scope: right.scope,
    verdict: value });
  await loadReview();
}

function verdictButton(right, value, cls) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = cls;
  b.textContent = t("review.do-" + value);
  b.setAttribute("aria-label", t("review.do-" + value + "-of", { person: right.name ||
    right.nrn_masked, role: roleLabel(right.role), scope: right.scope }));
  b.addEventListener("click", () => {
    verdict(right, value).catch((e) => {
      rv("review-summary").textContent = e.message;
    });
  });
  return b;
}

function reviewRow(right) {
  const row = document.createElement("tr");
  if (right.overdue) {
    row.className = "overdue";
  }
  tableCell(row, right.name ? right.name + " (" + right.nrn_masked + ")" : right.nrn_masked);
  tableCell(row, roleLabel(right.role));
  tableCell(row, right.scope);
  const when = tableCell(row, right.last_confirmed ? formatDateTime(right.last_confirmed) :
    t("review.never"));
  if (right.overdue) {
    const tag = document.createElement("span");
    tag.className = "overdue-tag";
    tag.textContent = " " + t("review.overdue");
    when.appendChild(tag);
  }
  tableCell(row, right.last_verdict ? t("review.verdict-" + right.last_verdict) : "–");
  const actions = tableCell(row, "");
  actions.textContent = "";
  const box = document.createElement("div");
  box.className = "buttons";
  box.appendChild(verdictButton(right, "confirmed", ""));
  box.appendChild(verdictButton(right, "to-remove", "secondary"));
  actions.appendChild(box);
  return row;
}

async function loadReview() {
  const tbody = rv("review-table").tBodies[0];
  rv("review-summary").textContent = t("review.busy");
  const only = rv("review-overdue-only").checked ? "&overdue=1" : "";
  const res = (await eidgateApi("GET", "/eidgate/audit/api/review?org=" +
    encodeURIComponent(review.org) + only)).data;
  // Overdue first, then by name.
  res.rights.sort((a, b) => (b.overdue - a.overdue) || a.name.localeCompare(b.name));
  tbody.replaceChildren(...res.rights.map(reviewRow));
  rv("review-summary").textContent = t(only ? "review.summary-overdue" : "review.summary",
    { count: res.rights.length, overdue: res.overdue, days: res.period_days });
}

function guarded(fn, summary) {
  return (ev) => {
    if (ev) {
      ev.preventDefault();
    }
    Promise.resolve().then(fn).catch((e) => {
      rv(summary).textContent = e.message;
    });
  };
}

document.addEventListener("eidgate-org", (ev) => {
  review.org = ev.detail.org;
  review.csrf = ev.detail.csrf;
  guarded(loadReview, "review-summary")();
});
rv("review-overdue-only").addEventListener("change", guarded(loadReview, "review-summary"));
rv("who-form").addEventListener("submit", guarded(() => whoCan(rv("who-form")), "who-summary"));
rv("what-form").addEventListener("submit",
  guarded(() => whatCan(rv("what-form")), "what-summary"));
