// eidgate security officers' page, pseudonym lookups: the pseudonym an application that
// receives pseudonyms (subject=pseudonym) knows one person of the organisation by, or
// which person of the organisation a pseudonym stands for. The national number goes in
// the POST body only; the answer shows it masked (the officer typed it, it stays in the
// field). Every lookup is recorded by the gateway before it answers.
"use strict";

const pseudo = { org: "", csrf: "" };

function ps(id) {
  return document.getElementById(id);
}

async function pseudonymLookup(form) {
  const nrn = form.nrn.value.trim();
  const pseudonym = form.pseudonym.value.trim();
  const summary = ps("pseudo-summary");
  if ((nrn === "") === (pseudonym === "")) {
    summary.textContent = t("pseudo.one-of");
    return;
  }
  summary.textContent = t("review.busy");
  const body = { org: pseudo.org, backend: form.backend.value };
  if (nrn !== "") {
    body.nrn = nrn;
  } else {
    body.pseudonym = pseudonym;
  }
  if (form.key_id.value.trim() !== "") {
    body.key_id = form.key_id.value.trim().toLowerCase();
  }
  const res = (await eidgateApi("POST", "/eidgate/audit/api/pseudonym", body,
    pseudo.csrf)).data;
  summary.textContent = t(nrn !== "" ? "pseudo.result-pseudonym" : "pseudo.result-person", {
    person: personLabel(res.person), pseudonym: res.pseudonym, backend: res.backend,
    key: res.key_id });
}

document.addEventListener("eidgate-org", (ev) => {
  pseudo.org = ev.detail.org;
  pseudo.csrf = ev.detail.csrf;
  const backends = ev.detail.pseudonymBackends || [];
  const sel = ps("pseudo-form").backend;
  sel.replaceChildren(...backends.map((b) => {
    const opt = document.createElement("option");
    opt.value = b;
    opt.textContent = b;
    return opt;
  }));
  ps("pseudo-section").hidden = backends.length === 0;
  ps("pseudo-summary").textContent = "";
});
ps("pseudo-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  pseudonymLookup(ps("pseudo-form")).catch((e) => {
    ps("pseudo-summary").textContent = e.message;
  });
});
