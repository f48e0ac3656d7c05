#!/usr/bin/env python3
"""Seeds that hold certificates, made at run time (tests/fuzz/run.sh), never committed:
the public specimen certificates of the Belgian eID test hierarchies are read from
EIDGATE_EID_PKI (../shared/eid-pki beside the clone), as every other test reads them.

usage: tests/fuzz/seeds.py OUT_DIR
Writes OUT_DIR/<target>/<name> for
  fuzz_cert     each specimen certificate (DER), and each leaf with its issuers (DER
                separated by "EGCH", as the target reads a chain);
  fuzz_token    a POST auth/token body per specimen authentication leaf, its chain
                base64url-encoded, signed by nobody (the parse and the certificate
                checks are what is fuzzed);
  fuzz_session  a session's sealed content carrying a specimen leaf ("k"), as an
                eidgate-login session does.
Without the specimen directory nothing is written, and the targets start from their
committed seeds alone.
"""
import base64
import json
import os
import subprocess
import sys


def der_of(pem_path):
    return subprocess.run(["openssl", "x509", "-in", pem_path, "-outform", "DER"],
                          capture_output=True, check=True).stdout


def name_of(der, which):
    return subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-" + which],
                          input=der, capture_output=True, check=True).stdout.strip()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def write(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def chain_of(leaf, certs):
    """leaf, then its issuers as far as certs go (a self-signed root ends it)."""
    chain, cur = [leaf], leaf
    for _ in range(4):
        issuer = name_of(cur, "issuer")[len(b"issuer="):]
        if issuer == name_of(cur, "subject")[len(b"subject="):]:
            break
        nxt = [c for c in certs if name_of(c, "subject")[len(b"subject="):] == issuer]
        if not nxt:
            break
        chain.append(nxt[0])
        cur = nxt[0]
    return chain


def main():
    out = sys.argv[1]
    pki = os.environ.get("EIDGATE_EID_PKI", os.path.join("..", "shared", "eid-pki"))
    spec = os.path.join(pki, "specimen")
    if not os.path.isdir(spec):
        return 0
    certs = {}
    for name in sorted(os.listdir(spec)):
        if name.endswith(".pem"):
            certs[name[:-4]] = der_of(os.path.join(spec, name))
    for name, der in certs.items():
        write(out, "fuzz_cert", "specimen-" + name, der)
    for name, der in certs.items():
        if "-auth" not in name:
            continue
        chain = chain_of(der, list(certs.values()))
        write(out, "fuzz_cert", "chain-" + name, b"EGCH".join(chain))
        body = {"challenge": b64u(bytes(range(48))), "origin": "https://gateway.example:8443",
                "alg": "ECDSA-SHA384" if name.endswith("-ec") else "RSA-SHA256",
                "signature": b64u(b"\x01" * 64), "chain": [b64u(c) for c in chain]}
        write(out, "fuzz_token", "specimen-" + name, json.dumps(body).encode())
        content = {"n": "72093006924", "f": "ab" * 32, "nm": "Specimen", "g": "S",
                   "sn": "Specimen", "fa": "", "o": "", "c": 1790000000, "l": 1790000100,
                   "i": "0123456789abcdef0123456789abcdef", "x": "A" * 43, "t": False,
                   "k": b64u(der)}
        write(out, "fuzz_session", "specimen-" + name,
              b"\x01" + json.dumps(content, separators=(",", ":")).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
