/*
 * limits.h - the one home of every cap eidgate puts on input. A limit that is not here
 * does not exist; code that needs a new one adds it here with the reason.
 */
#ifndef EIDGATE_LIMITS_H
#define EIDGATE_LIMITS_H

/* A config or policy line longer than this is an error, not silently cut. */
#define EG_MAX_LINE 4096
/* Request targets longer than this get 414; real module/dossier URLs stay far below. */
#define EG_MAX_PATH 4096
/* Client chains: leaf + intermediate(s); a real eID sends two, a hostile client hundreds. */
#define EG_MAX_CHAIN 8
/* National numbers are 11 digits. */
#define EG_NRN_LEN 11
/* Names in certificates and LDAP: eID CNs stay well under 128 bytes of UTF-8. */
#define EG_MAX_NAME 256
/* Role, scope and identifier lengths as stored in the directory. */
#define EG_MAX_ID 64
/* struct eg_identity revocation: the evidence a revocation verdict rested on. */
#define EG_MAX_REVOCATION 160
/* Role grants a single person may hold; more means a broken or hostile directory. */
#define EG_MAX_GRANTS 256
/* Rules and backends in one policy file. */
#define EG_MAX_RULES 200000
#define EG_MAX_BACKENDS 256
/* Segments in one policy path pattern or request path. */
#define EG_MAX_SEGMENTS 64
/* Size of a header value eidgate builds (assertion, forwarded-for). */
#define EG_MAX_HEADER 8192
/* Default cap on a forwarded request body when the backend names none. */
#define EG_DEFAULT_MAX_BODY (64ULL * 1024 * 1024)
/* Bytes buffered per direction per proxied request before back-pressure applies. */
#define EG_PROXY_BUF (256 * 1024)
/* A PEM key file (signer, audit checkpoint key): a P-256 key is a few hundred bytes. */
#define EG_MAX_KEY_FILE (1 << 16)
/* The LDAP bind password file: a password, not a document. */
#define EG_MAX_PASSWORD_FILE 1024

/* ---- forwarding to backends (forward/) ---- */
/* The request head eidgate sends a backend: what passed of the client's head, which
 * libmicrohttpd held whole in its 32 KiB per connection (server.c), plus eidgate's own
 * fields (EG_MAX_HEADER each). Four times 64 KiB is a wide margin over that: a head
 * growing past it is a bug, and it bounds what one request can make us allocate. */
#define EG_MAX_FORWARD_HEAD (4 * 64 * 1024)
/* A backend's response head (status line and all fields). Real ones are a few KiB
 * (nginx reads them into one 4-8 KiB page by default); a head must sit whole in the
 * connection's receive buffer, which grows to this for it, so the cap is also the most
 * a backend can make a connection hold. */
#define EG_MAX_BACKEND_HEAD (64 * 1024)
/* Fields in a backend's response head: real answers carry a few dozen. Each kept field
 * costs three allocations and a libmicrohttpd header, so more is refused (502). */
#define EG_MAX_BACKEND_FIELDS 200

/* ---- access log (audit/) ---- */
/* Queued, uncommitted records: ~64k x ~300 bytes = ~20 MB, well under a second of
 * backlog at the measured commit rate. Beyond it appenders wait, then refuse (never drop). */
#define EG_MAX_AUDIT_QUEUE 65536
/* A record's string field: its length is stored in 2 bytes. */
#define EG_MAX_AUDIT_FIELD 65535
/* Largest ?limit= of an audit API query: records in one JSON page or CSV export. */
#define EG_MAX_AUDIT_RECORDS 10000
/* Records in one CSV export when no ?limit= is given: bounds the response's size. */
#define EG_MAX_AUDIT_CSV 100000

/* ---- certificates and revocation (auth/) ---- */
/* OCSP cache entries, one per (issuer, serial): ~100 bytes each, ~2 MiB in all, far more
 * than the distinct cards that log in within one ocsp_cache period. */
#define EG_MAX_OCSP_CACHE 16384
/* An OCSP response for one certificate is ~2 KiB with the responder certificate. */
#define EG_MAX_OCSP_RESPONSE (64 * 1024)
/* Files in the CRL directory; the Belgian PKI publishes a handful. */
#define EG_MAX_CRL_FILES 256
/* Extra (test) certificate policy OIDs accepted through auth_options. */
#define EG_MAX_EXTRA_OIDS 16

/* A sealed session or challenge's plaintext: a session holds names, ids and a CSRF
 * token, well under 2 KiB; its sealed token is at most about 4/3 of this. */
#define EG_MAX_SEALED 8192
/* The card certificate a Bearer session carries, base64url: a DER of up to 2,048 bytes
 * (Belgian eID authentication certificates are 1.0 to 1.6 KiB), so the token stays
 * under the 4 KiB a browser keeps per cookie (eidgate-login --cookie-jar). */
#define EG_MAX_SESSION_LEAF 2736
/* Sessions ended by a logout or a revoked card and still within their absolute timeout
 * (8 h by default): far more logouts than a region's care workers make in a day; about
 * 80 bytes each. */
#define EG_MAX_ENDED_SESSIONS (256 * 1024)

/* Distinct (kind, decision, reason) series of /eidgate/metrics: the kinds and reason
 * codes of the gateway's own vocabulary make a few dozen. */
#define EG_MAX_METRIC_SERIES 256

/* ---- the control socket (server/control.c) ---- */
/* Its name in the log's directory, and its one message: nine short fields of JSON. */
#define EG_CONTROL_SOCKET "control.sock"
#define EG_MAX_CONTROL_LINE 2048

/* ---- directory and rights management (directory/, api/) ---- */
/* Entries in each of the resolver's caches (people, organisations, facilities): more
 * than the people who use the gateway within one [ldap] cache_ttl; beyond it the entry
 * that expires first makes room, and costs one LDAP search when next asked for. */
#define EG_MAX_DIR_CACHE 16384
/* People listed for one scope by dir_list_people(); a larger scope is cut (and says so). */
#define EG_MAX_DIR_LISTED 2000
/* Names an administrator types for a new person: 1..128 characters (code points). */
#define EG_MAX_NAME_CHARS 128
/* The admin people search (?q=): longer cannot be a name fragment worth searching for. */
#define EG_MAX_ADMIN_Q 256

/* Origins one backend may accept state-changing requests from (origins=), and the
 * longest: a handful of partner sites, https://host:port. */
#define EG_MAX_ORIGINS 8
#define EG_MAX_ORIGIN 128

/* ---- the gateway's own pages and bodies (request/, pages/) ---- */
/* An HTML form's urlencoded body, read whole to find a _method field before it is
 * forwarded: a form of text fields; files come as multipart. */
#define EG_MAX_FORM_BODY (64 * 1024)
/* Body of a request to a built-in endpoint (the PKCS#11 login): small JSON. */
#define EG_MAX_BUILTIN_BODY (64 * 1024)
/* Access reviews (api/audit_review.c) running at once per gateway: each reads the whole
 * directory on a thread of its own (about 1 s and tens of MB on 50,000 people); more
 * are answered 503 review-busy rather than queued. */
#define EG_MAX_REVIEW_JOBS 2
/* A static page file served from web/ (HTML, JS, CSS): the largest is a few KiB. */
#define EG_MAX_STATIC_FILE (1024 * 1024)
/* Accept-Language: the bytes read of it and the language ranges weighed. Browsers send
 * a few ranges in well under 100 bytes; the rest of a longer header is not looked at. */
#define EG_MAX_ACCEPT_LANGUAGE 256
#define EG_MAX_LANGUAGE_RANGES 16
/* Messages in one language's catalogue (web/i18n/<lang>.json) and the bytes of one. */
#define EG_MAX_MESSAGES 2048
#define EG_MAX_MESSAGE 1024
/* One page of the officers' records or the administrators' people: what a screen shows. */
#define EG_MAX_PAGE 500
/* People a name search in the access log stands for (their records are shown together). */
#define EG_MAX_PERSON_MATCHES 64
/* Organisations a login made without choosing a facility is recorded for (record/): one
 * record each, so that each one's security officers see it; people work for a few. */
#define EG_MAX_LOGIN_ORGS 16
/* Upload bytes swallowed after the answer is settled (body too large, backend gone):
 * libmicrohttpd 0.9.75 cannot queue a response while a body is still arriving, so the
 * body must end before the client sees its 413 or 502; past this, the connection closes. */
#define EG_MAX_DISCARD (16ULL * 1024 * 1024)

/* A PROXY protocol v2 header (HAProxy's send-proxy-v2): 16 bytes, the addresses (at most
 * 216 for AF_UNIX) and TLVs; HAProxy's own stay far below this. A longer one is refused
 * rather than read in pieces before the TLS handshake. */
#define EG_MAX_PROXY_HEADER 1024

#endif
