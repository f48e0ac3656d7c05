"""Issue 3 §3: client_cert = require refuses a handshake without a certificate; TLS
session resumption works and a resumed session still carries the certificate. Issue 12:
no HelloRetryRequest for a client whose first key share is X25519 or P-256."""
import os
import socket
import ssl
import subprocess

import harness


def handshake(stack, port, ctx, session=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
    s.sendall(b"GET /eidgate/whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    sess, reused = s.session, s.session_reused
    s.close()
    return data, sess, reused


def test_require_refuses_handshake_without_certificate(stack):
    port = harness.gateway_variant(stack, "require", replace={
        "client_cert = request": "client_cert = require"})
    ctx = stack.tls_context()
    try:
        data, _, _ = handshake(stack, port, ctx)
    except (ssl.SSLError, ConnectionError, OSError):
        data = b""
    assert not data.startswith(b"HTTP/1.1 200"), data[:200]
    me = stack.person("vte-a")
    data, _, _ = handshake(stack, port, stack.tls_context(me["chain"], me["key_file"]))
    assert data.startswith(b"HTTP/1.1 200"), data[:200]


def test_tls12_is_offered_for_rsa_cards(stack):
    me = stack.person("vte-a")
    ctx = stack.tls_context(me["chain"], me["key_file"])
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    data, _, _ = handshake(stack, stack.port, ctx)
    assert data.startswith(b"HTTP/1.1 200"), data[:200]


def test_session_resumption_keeps_the_certificate(stack):
    me = stack.person("mod-molenberg")
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = stack.tls_context(me["chain"], me["key_file"])
        ctx.maximum_version = version
        ctx.minimum_version = version
        data, sess, _ = handshake(stack, stack.port, ctx)
        assert data.startswith(b"HTTP/1.1 200") and sess is not None, data[:200]
        data, _, reused = handshake(stack, stack.port, ctx, session=sess)
        assert reused, "TLS session was not resumed (%s)" % version
        assert data.startswith(b"HTTP/1.1 200") and b"Rudi Gerrits" in data, data[:300]


def client_hellos(stack, groups):
    """How many ClientHellos `openssl s_client -msg` sends for one full handshake with
    its key-share groups in this order: 2 when the gateway asked for a HelloRetryRequest."""
    me = stack.person("vte-a")
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % stack.port,
                        "-servername", "localhost", "-msg", "-groups", groups,
                        "-cert", me["cert"], "-key", me["key_file"],
                        "-CAfile", os.path.join(stack.pki, "server", "server-ca.pem")],
                       input=b"GET /eidgate/healthz HTTP/1.1\r\nHost: localhost\r\n"
                             b"Connection: close\r\n\r\n",
                       capture_output=True, timeout=30)
    out = p.stdout.decode("utf-8", "replace")
    assert "Verify return code: 0" in out, out[-2000:]
    return sum(1 for line in out.splitlines()
               if line.startswith(">>>") and "ClientHello" in line)


def test_no_hello_retry_for_either_browser_group_order(stack):
    # X25519 first is what Chrome, Firefox, curl and OpenSSL send; P-256 first is what
    # some clients (and the gateway's own earlier preference) send.
    for groups in ("X25519:P-256:P-384", "P-256:X25519:P-384"):
        assert client_hellos(stack, groups) == 1, "HelloRetryRequest with %s" % groups


def test_tls12_session_id_resumption_keeps_the_certificate(stack):
    """A TLS 1.2 client without session tickets resumes by session id (issue 12 §3); the
    resumed connection still carries the card, so the request is still the user's."""
    me = stack.person("mod-molenberg")
    ctx = stack.tls_context(me["chain"], me["key_file"])
    ctx.maximum_version = ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_TICKET
    data, sess, _ = handshake(stack, stack.port, ctx)
    assert data.startswith(b"HTTP/1.1 200") and sess is not None, data[:200]
    assert not sess.has_ticket and sess.id, "expected a session id, not a ticket"
    data, _, reused = handshake(stack, stack.port, ctx, session=sess)
    assert reused, "TLS 1.2 session id was not resumed"
    assert data.startswith(b"HTTP/1.1 200") and b"Rudi Gerrits" in data, data[:300]
