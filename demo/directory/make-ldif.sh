#!/usr/bin/env bash
# Prints the LDIF of the eidgate demo directory on stdout.
#
# Usage: demo/directory/make-ldif.sh [PEOPLE_TSV] [ORGS_TSV]
#   defaults: people.tsv and organisations.tsv next to this script.
#   Load it with:  scripts/slapd.sh load DIR <(demo/directory/make-ldif.sh)
#              or  demo/directory/make-ldif.sh | scripts/slapd.sh load DIR -
#
# The base entries (dc=jeugdhulp,dc=example, ou=people, ou=organisations, ou=regions and
# ou=<region>,ou=regions) are NOT printed: scripts/slapd.sh start creates them.
# Printed, in this order:
#   uid=<nrn>,ou=people,...                    inetOrgPerson (uid, cn, sn, givenName)
#   o=<enterprise number>,ou=organisations,... organization + eidgateOrganisation
#   ou=<facility id>,o=<org>,ou=organisations,...  organizationalUnit + eidgateFacility
#   cn=<role>,o=<org>,...                      groupOfNames (organisation roles)
#   cn=<role>,ou=<facility>,o=<org>,...        groupOfNames (facility roles)
#   cn=<role>,ou=<region>,ou=regions,...       groupOfNames (regional roles)
# A role group is only written when somebody holds the role.  Identifiers that end up in
# DNs (numbers, facility ids, roles, regions) are checked against strict patterns, so
# they never need DN escaping; names are only attribute values, written base64 ("::")
# whenever LDIF requires it (non-ASCII, leading space, colon or "<", trailing space).
# Errors (unknown role, scope, facility, duplicate key, malformed line) go to stderr
# with file and line, and the exit status is 1 with nothing printed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PEOPLE=${1:-$HERE/people.tsv}
ORGS=${2:-$HERE/organisations.tsv}
[ -r "$PEOPLE" ] || { echo "make-ldif.sh: cannot read $PEOPLE" >&2; exit 1; }
[ -r "$ORGS" ] || { echo "make-ldif.sh: cannot read $ORGS" >&2; exit 1; }
command -v python3 >/dev/null || { echo "make-ldif.sh: python3 not found" >&2; exit 1; }

exec python3 - "$PEOPLE" "$ORGS" <<'PYTHON'
import base64
import re
import sys

SUFFIX = "dc=jeugdhulp,dc=example"
PEOPLE_DN = "ou=people," + SUFFIX
ORGS_DN = "ou=organisations," + SUFFIX
REGIONS_DN = "ou=regions," + SUFFIX

REGIONS = ["antwerpen", "limburg", "oost-vlaanderen", "vlaams-brabant-brussel",
           "west-vlaanderen"]
SECTORS = ["bjb", "kg", "vaph", "clb", "cgg", "aww"]
CAPACITIES = ["jeugdhulp", "gezinsondersteuning", "algemeen-welzijn", "ggz", "handicap"]
ROLES = {
    "organisation": ["vte", "co-vte", "lb", "security-officer"],
    "facility": ["lb", "member", "moduleerder", "insisto-aanmelder", "insisto-raadpleger"],
    "region": ["indicatiesteller", "jeugdhulpregisseur"],
}
NRN_RE = re.compile(r"^[0-9]{11}$")
KBO_RE = re.compile(r"^[0-9]{10}$")
FAC_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")

errors = []
warnings = []


def err(where, msg):
    errors.append("%s: %s" % (where, msg))


def nrn_ok(n):
    body, check = int(n[:9]), int(n[9:])
    return check == 97 - body % 97 or check == 97 - (2000000000 + body) % 97


def kbo_ok(n):
    return int(n[8:]) == 97 - int(n[:8]) % 97


def read_tsv(path):
    """Yields (where, fields) for each data line; '#' lines and blank lines skipped."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        sys.exit("make-ldif.sh: %s" % e)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        sys.exit("make-ldif.sh: %s is not UTF-8: %s" % (path, e))
    if text.startswith("\ufeff"):
        text = text[1:]
    for no, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        yield "%s:%d" % (path, no), line.split("\t")


def safe_string(v):
    """True when v may be written as 'attr: v' (RFC 2849 SAFE-STRING, ASCII only)."""
    if v == "":
        return True
    if v[0] in " :<" or v[-1] == " ":
        return False
    return all(0x20 <= ord(c) < 0x7F for c in v)


def attr(name, value):
    if safe_string(value):
        return "%s: %s" % (name, value)
    return "%s:: %s" % (name, base64.b64encode(value.encode("utf-8")).decode("ascii"))


def check_text(where, what, v):
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in v):
        err(where, "%s contains a control character" % what)
    if v.strip() == "":
        err(where, "%s is empty" % what)


people_path, orgs_path = sys.argv[1], sys.argv[2]

# ---- organisations.tsv -------------------------------------------------------------
orgs = {}        # number -> (name, [capacities])
org_order = []
facs = {}        # facility id -> (org, name, sector, region)
fac_order = []
for where, f in read_tsv(orgs_path):
    kind = f[0].strip()
    if kind == "org":
        if len(f) < 4:
            err(where, "org line needs: org, enterprise-number, name, capacities")
            continue
        num, name, caps = f[1].strip(), f[2], f[3].strip()
        if not KBO_RE.match(num):
            err(where, "enterprise number %r is not 10 digits" % num)
            continue
        if not kbo_ok(num):
            warnings.append("%s: enterprise number %s has a wrong check digit" % (where, num))
        if num in orgs:
            err(where, "organisation %s listed twice" % num)
            continue
        check_text(where, "organisation name", name)
        cl = []
        for c in (x.strip() for x in caps.split(",")):
            if not c:
                continue
            if c not in CAPACITIES:
                err(where, "unknown capacity %r (known: %s)" % (c, ", ".join(CAPACITIES)))
            elif c not in cl:
                cl.append(c)
        orgs[num] = (name, cl)
        org_order.append(num)
    elif kind == "fac":
        if len(f) < 6:
            err(where, "fac line needs: fac, org-number, facility-id, name, sector, region")
            continue
        num, fid, name, sector, region = f[1].strip(), f[2].strip(), f[3], \
            f[4].strip(), f[5].strip()
        if not FAC_RE.match(fid):
            err(where, "facility id %r: use lower-case letters, digits and '-'" % fid)
            continue
        if fid in facs:
            err(where, "facility %s listed twice" % fid)
            continue
        if sector not in SECTORS:
            err(where, "unknown sector %r (known: %s)" % (sector, ", ".join(SECTORS)))
        if region not in REGIONS:
            err(where, "unknown region %r (known: %s)" % (region, ", ".join(REGIONS)))
        check_text(where, "facility name", name)
        facs[fid] = (num, name, sector, region)
        fac_order.append((where, fid))
    else:
        err(where, "line kind must be 'org' or 'fac', not %r" % kind)

for where, fid in fac_order:
    if facs[fid][0] not in orgs:
        err(where, "facility %s: organisation %s is not listed (as an 'org' line)"
            % (fid, facs[fid][0]))

# ---- people.tsv ----------------------------------------------------------------------
people = []      # (nrn, given, surname)
seen_nrn = {}
seen_key = {}
groups = {}      # (scope kind, scope id, role) -> [nrn]
for where, f in read_tsv(people_path):
    if len(f) < 5:
        err(where, "person line needs: key, nrn, given, surname, card[, roles]")
        continue
    key, nrn, given, surname = f[0].strip(), f[1].strip(), f[2], f[3]
    roles = f[5] if len(f) > 5 else ""
    if not NRN_RE.match(nrn):
        err(where, "national number %r is not 11 digits" % nrn)
        continue
    if not nrn_ok(nrn):
        warnings.append("%s: national number %s has a wrong check digit" % (where, nrn))
    if nrn in seen_nrn:
        err(where, "national number %s already used at %s" % (nrn, seen_nrn[nrn]))
        continue
    if key in seen_key:
        err(where, "key %r already used at %s" % (key, seen_key[key]))
    seen_nrn[nrn] = where
    seen_key[key] = where
    check_text(where, "surname", surname)
    if given != "":
        check_text(where, "given name", given)
    people.append((nrn, given, surname))
    for item in (x.strip() for x in roles.split(",")):
        if not item:
            continue
        m = re.match(r"^([a-z-]+)@(organisation|facility|region):(.+)$", item)
        if not m:
            err(where, "role %r is not role@organisation:N, role@facility:ID or "
                "role@region:R" % item)
            continue
        role, kind, scope = m.groups()
        if role not in ROLES[kind]:
            err(where, "role %r cannot be held on scope %s (known: %s)"
                % (role, kind, ", ".join(ROLES[kind])))
            continue
        if kind == "organisation" and scope not in orgs:
            err(where, "unknown organisation %r" % scope)
            continue
        if kind == "facility" and scope not in facs:
            err(where, "unknown facility %r" % scope)
            continue
        if kind == "region" and scope not in REGIONS:
            err(where, "unknown region %r" % scope)
            continue
        members = groups.setdefault((kind, scope, role), [])
        if nrn not in members:
            members.append(nrn)

for w in warnings:
    print("make-ldif.sh: warning: " + w, file=sys.stderr)
if errors:
    for e in errors:
        print("make-ldif.sh: " + e, file=sys.stderr)
    sys.exit(1)

# ---- output ----------------------------------------------------------------------------
out = []


def entry(dn, lines):
    out.append(attr("dn", dn))
    out.extend(lines)
    out.append("")


def person_dn(nrn):
    return "uid=%s,%s" % (nrn, PEOPLE_DN)


def org_dn(num):
    return "o=%s,%s" % (num, ORGS_DN)


def fac_dn(fid):
    return "ou=%s,%s" % (fid, org_dn(facs[fid][0]))


out.append("# eidgate demo directory, generated by demo/directory/make-ldif.sh")
out.append("# from %s and %s" % tuple(re.sub(r"[\x00-\x1f\x7f]", "?", x)
                                        for x in (people_path, orgs_path)))
out.append("")

for nrn, given, surname in people:
    cn = (given.strip() + " " + surname.strip()) if given.strip() else surname.strip()
    lines = ["objectClass: inetOrgPerson", "uid: " + nrn, attr("cn", cn),
             attr("sn", surname.strip())]
    if given.strip():
        lines.append(attr("givenName", given.strip()))
    entry(person_dn(nrn), lines)

for num in org_order:
    name, caps = orgs[num]
    lines = ["objectClass: organization", "objectClass: eidgateOrganisation", "o: " + num,
             attr("description", name.strip())]
    lines += ["eidgateCapacity: " + c for c in caps]
    entry(org_dn(num), lines)

for where, fid in fac_order:
    num, name, sector, region = facs[fid]
    entry(fac_dn(fid), ["objectClass: organizationalUnit", "objectClass: eidgateFacility",
                        "ou: " + fid, attr("description", name.strip()),
                        "eidgateSector: " + sector, "eidgateRegion: " + region])


def group(parent, role, members):
    entry("cn=%s,%s" % (role, parent),
          ["objectClass: groupOfNames", "cn: " + role]
          + ["member: " + person_dn(n) for n in members])


# Groups in a stable order: by scope in file order, then by role in the documented order.
for num in org_order:
    for role in ROLES["organisation"]:
        if groups.get(("organisation", num, role)):
            group(org_dn(num), role, groups[("organisation", num, role)])
for where, fid in fac_order:
    for role in ROLES["facility"]:
        if groups.get(("facility", fid, role)):
            group(fac_dn(fid), role, groups[("facility", fid, role)])
for region in REGIONS:
    for role in ROLES["region"]:
        if groups.get(("region", region, role)):
            group("ou=%s,%s" % (region, REGIONS_DN), role, groups[("region", region, role)])

sys.stdout.write("\n".join(out))
PYTHON
