"""Issue 15: Dutch first, English second. One catalogue per language (web/i18n/*.json);
every message id the C code, the page templates and the scripts name is in both, with
the same placeholders; the gateway answers in the language Accept-Language asks for
(Dutch by default, the pages' language switch first), for API clients and browsers."""
import glob
import json
import os
import re

import harness

WEB = os.path.join(harness.REPO, "web")
STAGES = ("pages", "api", "request", "record")


def catalogue(lang):
    with open(os.path.join(WEB, "i18n", lang + ".json"), encoding="utf-8") as f:
        return json.load(f)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def c_sources(folders=None):
    for d in folders or [p for p in os.listdir(harness.REPO)
                         if os.path.isdir(os.path.join(harness.REPO, p))]:
        yield from glob.glob(os.path.join(harness.REPO, d, "*.c"))


def reason_codes():
    """Every reason code an answer can carry: the list of err.h, and the codes the C
    code passes to its answers as text."""
    codes = set(re.findall(r'X\(EG_[A-Z_]+, -?\d+, "([a-z-]+)"',
                           read(os.path.join(harness.REPO, "include", "eidgate", "err.h"))))
    call = re.compile(r'(?:respond_error|admin_error|admin_refuse)\(\s*r,\s*(?:&?op,\s*)?'
                      r'[^,]+,\s*([^,]+),', re.S)
    for path in c_sources():
        for arg in call.findall(read(path)):
            codes.update(re.findall(r'"([a-z-]+)"', arg))
    return codes


def used_ids():
    """Message ids named in C (string literals of the message namespaces), in the page
    templates ({{id}}), and in the scripts (t("id"))."""
    ids = {"reason." + c for c in reason_codes()}
    lit = re.compile(r'"((?:msg|field|reason|status|guide|app|role|role-help)\.[a-z0-9.-]+)"')
    for path in c_sources(STAGES):
        ids.update(lit.findall(read(path)))
    for path in glob.glob(os.path.join(WEB, "**", "*.html"), recursive=True):
        ids.update(i for i in re.findall(r"\{\{([a-z0-9._-]+)\}\}", read(path)))
    for path in glob.glob(os.path.join(WEB, "**", "*.js"), recursive=True):
        text = read(path)
        ids.update(re.findall(r'\bt\("([a-z0-9.-]+)"', text))
    return ids


def test_every_message_has_both_languages(stack):
    nl, en = catalogue("nl"), catalogue("en")
    assert sorted(set(nl) - set(en)) == [], "only in Dutch"
    assert sorted(set(en) - set(nl)) == [], "only in English"
    for k in nl:
        assert isinstance(nl[k], str) and nl[k].strip(), k
        assert isinstance(en[k], str) and en[k].strip(), k
        assert sorted(re.findall(r"\{(\w+)\}", nl[k])) == sorted(re.findall(r"\{(\w+)\}", en[k])), k


def test_every_message_id_used_is_in_the_catalogues(stack):
    nl = catalogue("nl")
    used = used_ids()
    assert len(used) > 150, len(used)
    # t("card." + kind): a prefix, whose messages must exist
    missing = sorted(i for i in used if i not in nl and not (
        i[-1] in ".-" and any(k.startswith(i) for k in nl)))
    assert missing == [], "message ids without a text: %s" % missing
    # the labels the scripts look up by prefix (tOr("role.", r)) exist for every value
    for role in ("vte", "co-vte", "lb", "security-officer", "member", "moduleerder",
                 "insisto-aanmelder", "insisto-raadpleger", "indicatiesteller",
                 "jeugdhulpregisseur"):
        assert "role." + role in nl and "role-help." + role in nl, role
    for kind in ("request", "login", "login-refused", "logout", "rights", "session-revoked",
                 "outcome"):
        assert "kind." + kind in nl, kind


def test_no_sentence_in_the_c_of_the_pages(stack):
    """The C code of what users read names messages by id only. (The metrics' HELP
    lines in pages/status.c are for operators' tools, which read English.)"""
    sentence = re.compile(r'"[A-Z][a-z]+ [a-z][^"]*[.!?]"')
    found = []
    for path in c_sources(STAGES):
        if path.endswith(os.path.join("pages", "status.c")):
            continue
        for n, line in enumerate(read(path).splitlines(), 1):
            s = line.strip()
            if s.startswith(("*", "/*", "//")) or "log_" in s:
                continue
            if sentence.search(s):
                found.append("%s:%d: %s" % (os.path.relpath(path, harness.REPO), n, s))
    assert found == [], "\n".join(found)


def answer(stack, path="/eidgate/whoami", **headers):
    return stack.request("GET", path, headers=headers)


def test_json_errors_follow_accept_language(stack):
    nl, en = catalogue("nl"), catalogue("en")
    cases = [({}, "nl"), ({"Accept-Language": "en"}, "en"),
             ({"Accept-Language": "nl-BE,nl;q=0.9,en;q=0.8"}, "nl"),
             ({"Accept-Language": "fr-BE,fr;q=0.9,en;q=0.5"}, "en"),
             ({"Accept-Language": "de"}, "nl"), ({"Accept-Language": "en;q=0"}, "nl"),
             ({"Accept-Language": "en-GB", "Cookie": "eidgate-lang=nl"}, "nl"),
             ({"Cookie": "eidgate-lang=en"}, "en")]
    for headers, lang in cases:
        r = answer(stack, **headers)
        assert r.status == 401, r
        j = r.json()
        assert j["reason"] == "no-certificate" and j["lang"] == lang, (headers, j)
        assert j["message"] == (nl if lang == "nl" else en)["reason.no-certificate"], (headers, j)
        assert r.headers["content-language"] == lang


def test_hostile_accept_language_is_read_within_bounds(stack):
    # Up to what a connection's buffer holds ([listen] connection_buffer, 16 KiB), the
    # header is read within bounds; a longer head is refused by libmicrohttpd (431).
    for value in ("en;q=0.1," * 1200 + "nl", "x" * 7000, "," * 7000, "en;q=9", "en;q=0.5;q=1",
                  "\xe9n", "e\x7fn, en-GB;q=0.2", ";;=,=;"):
        r = answer(stack, **{"Accept-Language": value})
        assert r.status == 401 and r.json()["lang"] in ("nl", "en"), (value[:40], r)
    assert answer(stack, **{"Accept-Language": "en;q=0.1," * 1200 + "nl"}).json()["lang"] == "en"
    assert answer(stack, **{"Accept-Language": "en;q=0.1," * 3000 + "nl"}).status == 431


def test_error_pages_for_browsers_in_both_languages(stack):
    nl, en = catalogue("nl"), catalogue("en")
    for lang, cat in (("nl", nl), ("en", en)):
        r = stack.request("GET", "/modules/facilities/ckg-betlehem/modules", who="mod-molenberg",
                          headers={"Accept": "text/html", "Accept-Language": lang})
        assert r.status == 403, r
        page = r.body.decode()
        assert '<html lang="%s">' % lang in page
        assert "<h1>%s</h1>" % cat["reason.no-rule"] in page
        assert cat["guide.no-rule"] in page
        assert "{{" not in page, "a placeholder was left"
        # the JSON of the same refusal
        r = stack.request("GET", "/modules/facilities/ckg-betlehem/modules", who="mod-molenberg",
                          headers={"Accept-Language": lang})
        assert r.json()["message"] == cat["reason.no-rule"] and r.json()["reason"] == "no-rule"


def test_pages_are_rendered_in_the_language_asked_for(stack):
    for lang in ("nl", "en"):
        cat = catalogue(lang)
        for path in ("/eidgate/", "/eidgate/admin/", "/eidgate/audit/"):
            r = stack.request("GET", path, who="vte-a",
                              headers={"Accept": "text/html", "Accept-Language": lang})
            page = r.body.decode()
            assert r.status == 200 and '<html lang="%s">' % lang in page, (path, r)
            assert "{{" not in page, path
            assert cat["nav.portal"] in page and cat["common.skip"] in page, path


def test_signature_certificate_is_refused_in_words(stack):
    """A login with the card's signature certificate (eidgate-login may offer it): a 403
    that says which certificate to use."""
    r, _ = harness.signed_token_request(stack, "vte-a", use_sign_key=True)
    assert r.status == 403 and r.json()["reason"] == "signature-certificate", r
    assert r.json()["message"] == catalogue("nl")["reason.signature-certificate"]
