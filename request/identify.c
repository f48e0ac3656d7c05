/*
 * identify.c - who is making this request: the TLS client certificate (verified here,
 * libmicrohttpd does not), then the person's roles from the directory and the facility
 * they act for.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/pages.h"
#include "eidgate/record.h"
#include "eidgate/session.h"
#include "eidgate/util.h"
#include "request/internal.h"

int64_t
verdict_ttl_ms(const struct eg_config *cfg)
{
	if (cfg->ocsp != CFG_OCSP_OFF && cfg->ocsp_cache_ms < 60000)
		return cfg->ocsp_cache_ms;
	return 60000;
}

/* The chain the TLS client presented on conn, leaf first, or NULL (then *n is 0). The
 * certificates belong to the TLS session. */
static const gnutls_datum_t *
peer_chain(struct MHD_Connection *conn, unsigned *n)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t s = ci != NULL ? (gnutls_session_t)ci->tls_session : NULL;
	const gnutls_datum_t *certs = s != NULL ? gnutls_certificate_get_peers(s, n) : NULL;

	if (certs == NULL || *n == 0) {
		*n = 0;
		return NULL;
	}
	return certs;
}

struct conn_ctx *
req_conn_context(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

static void
hash_chain(const gnutls_datum_t *certs, unsigned n, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	unsigned i;

	memset(out, 0, 32);
	if (md == NULL)
		return;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1) {
		for (i = 0; i < n; i++) {
			uint32_t l = certs[i].size;
			EVP_DigestUpdate(md, &l, sizeof(l));
			EVP_DigestUpdate(md, certs[i].data, certs[i].size);
		}
		EVP_DigestFinal_ex(md, out, &len);
	}
	EVP_MD_CTX_free(md);
}

static void
verify_chain(struct request *r, const gnutls_datum_t *certs, unsigned n, struct conn_ctx *cc,
    uint64_t rev)
{
	const unsigned char *ders[EG_MAX_CHAIN];
	size_t lens[EG_MAX_CHAIN];
	unsigned i;

	cc->verified_ms = eg_mono_ms();
	cc->have_verdict = 1;
	if (n > EG_MAX_CHAIN) {
		cc->err = EG_ERR_CHAIN;
		eg_strlcpy(cc->detail, "chain too long", sizeof(cc->detail));
		return;
	}
	if (verdict_get(r->gw->verdicts, cc->chain_hash, rev, &cc->err, &cc->id, cc->detail,
	    sizeof(cc->detail)))
		return;
	for (i = 0; i < n; i++) {
		ders[i] = certs[i].data;
		lens[i] = certs[i].size;
	}
	cc->err = auth_verify(r->snap->auth, ders, lens, n, &cc->id, cc->detail,
	    sizeof(cc->detail));
	/* Only verdicts that hold for a while are shared: an internal error is not one. */
	if (cc->err != EG_ERR_NOMEM && cc->err != EG_ERR_INTERNAL)
		verdict_put(r->gw->verdicts, cc->chain_hash, rev, cc->err, &cc->id, cc->detail);
}

/* Verifies the client's certificate chain, or reuses this connection's verdict. */
static void
identify_certificate(struct request *r)
{
	struct req_user *u = &r->user;
	unsigned n = 0;
	const gnutls_datum_t *certs = peer_chain(r->conn, &n);
	struct conn_ctx *cc = req_conn_context(r->conn);
	struct conn_ctx local;
	unsigned char h[32];
	uint64_t rev;

	u->auth_err = EG_ERR_NO_CERT;
	if (certs == NULL)
		return;
	if (cc == NULL) {
		memset(&local, 0, sizeof(local));
		cc = &local;
	}
	hash_chain(certs, n, h);
	/* Kept-alive connections and resumed TLS sessions keep a card's verdict, but never
	 * past a CRL reload or the verdict's lifetime: a revocation takes hold at once. */
	rev = auth_revocation_generation(r->snap->auth);
	if (!cc->have_verdict || memcmp(cc->chain_hash, h, sizeof(h)) != 0 ||
	    cc->verdict_gen != r->snap->gen || cc->verdict_rev != rev ||
	    eg_mono_ms() - cc->verified_ms > verdict_ttl_ms(&r->snap->cfg)) {
		memcpy(cc->chain_hash, h, sizeof(h));
		cc->verdict_gen = r->snap->gen;
		cc->verdict_rev = rev;
		verify_chain(r, certs, n, cc, rev);
	}
	u->auth_err = cc->err;
	u->id = cc->id;
	eg_strlcpy(u->auth_detail, cc->detail, sizeof(u->auth_detail));
	if (cc->err != EG_OK) {
		char masked[16];
		log_mask_nrn(cc->id.nrn, masked, sizeof(masked));
		log_info("request %s: client %s: certificate of %s refused: %s%s%s", r->id,
		    r->client, masked, eg_err(cc->err), cc->detail[0] ? ": " : "", cc->detail);
		return;
	}
	u->authenticated = 1;
}

void
req_conn_ctx_free(struct conn_ctx *cc)
{
	if (cc == NULL)
		return;
	if (cc->sess_token != NULL)
		eg_freezero(cc->sess_token, strlen(cc->sess_token));
	explicit_bzero(cc, sizeof(*cc));
	free(cc);
}

/* The session token from "Authorization: Bearer" or the __Host-eidgate cookie. */
static const char *
session_token(struct MHD_Connection *conn, int *via_bearer)
{
	const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");

	*via_bearer = a != NULL && strncasecmp(a, "Bearer ", 7) == 0;
	if (*via_bearer)
		return a + 7;
	return MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "__Host-eidgate");
}

/*
 * Timeouts and the certificate binding. Cookie sessions are refreshed while used, so the
 * idle timeout applies to them; a Bearer token (eidgate-login, scripts) cannot be
 * refreshed and lives until the absolute timeout, as its expires_in said.
 */
static int
check_session(struct request *r, const struct eg_session *s, int via_bearer)
{
	const struct eg_config *cfg = &r->snap->cfg;
	struct req_user *u = &r->user;
	int64_t now = eg_now_us() / 1000000;

	if (now - s->created > cfg->absolute_timeout_ms / 1000 || s->created > now + 60 ||
	    (!via_bearer && now - s->last_seen > cfg->idle_timeout_ms / 1000))
		return EG_ERR_SESSION_EXPIRED;
	/* A token is bound to the certificate that created it: presented over a TLS
	 * connection with another certificate, it is someone else's token; and a session
	 * made by a TLS login is only good on a connection with that certificate, so a
	 * stolen cookie is useless without the card. */
	if (u->authenticated && strcmp(u->id.fingerprint, s->fingerprint) != 0)
		return EG_ERR_SESSION_CERT;
	if (s->tls_bound && !u->authenticated)
		return EG_ERR_SESSION_CERT;
	return EG_OK;
}

/*
 * Opens token, or takes it from this connection's cache when the same token came before
 * (constant-time compare). The cache is per TLS connection, so a token can never be
 * served from another client's entry.
 */
static int
open_session(struct request *r, const char *token, struct eg_session *s, char *public_id,
    size_t idlen)
{
	struct conn_ctx *cc = req_conn_context(r->conn);
	size_t n = strlen(token);
	int rc;

	if (cc != NULL && cc->sess_token != NULL && strlen(cc->sess_token) == n &&
	    cc->sess_gen == r->snap->gen && CRYPTO_memcmp(cc->sess_token, token, n) == 0) {
		*s = cc->sess;
		eg_strlcpy(public_id, cc->sess_public, idlen);
		return EG_OK;
	}
	if ((rc = session_open(r->gw->keys, token, s)) != EG_OK)
		return rc == EG_ERR_KEYS ? rc : EG_ERR_SESSION;
	session_public_id(s, public_id, idlen);
	if (cc != NULL && n < 8192) {
		if (cc->sess_token != NULL)
			eg_freezero(cc->sess_token, strlen(cc->sess_token));
		cc->sess_token = strdup(token);
		cc->sess = *s;
		cc->sess_gen = r->snap->gen;
		eg_strlcpy(cc->sess_public, public_id, sizeof(cc->sess_public));
	}
	return EG_OK;
}

/*
 * A session made without a certificate on the connection (eidgate-login) carries its
 * card's certificate: it is verified again, revocation included, whenever the CRLs were
 * reloaded and at least every [session] recheck, so a revoked card ends its sessions
 * (within a second of the CRL landing, or the OCSP cache's lifetime). The verdict is
 * shared by the card's sessions, keyed by its fingerprint.
 */
static int
check_card(struct request *r, const struct eg_session *s)
{
	unsigned char key[32], der[EG_MAX_SESSION_LEAF];
	const unsigned char *ders[1] = { der };
	struct eg_identity id;
	char detail[160];
	size_t len = 0;
	uint64_t rev;
	int err;

	if (s->tls_bound)
		return EG_OK;   /* the card itself is on every connection of this session */
	if (s->leaf[0] == '\0' || eg_unhex(s->fingerprint, key, sizeof(key)) != EG_OK)
		return EG_ERR_SESSION_UNCHECKED;
	rev = auth_revocation_generation(r->snap->auth);
	if (verdict_get(r->gw->card_checks, key, rev, &err, &id, detail, sizeof(detail)))
		return err;
	if (eg_b64url_decode(s->leaf, strlen(s->leaf), der, sizeof(der), &len) != EG_OK)
		return EG_ERR_SESSION_UNCHECKED;
	err = auth_verify(r->snap->auth, ders, &len, 1, &id, detail, sizeof(detail));
	if (err == EG_OK && strcmp(id.fingerprint, s->fingerprint) != 0)
		err = EG_ERR_SESSION_UNCHECKED;
	if (err != EG_ERR_NOMEM && err != EG_ERR_INTERNAL)
		verdict_put(r->gw->card_checks, key, rev, err, &id, detail);
	if (err != EG_OK)
		log_info("request %s: session %s: card refused on recheck: %s%s%s", r->id,
		    r->user.session_id, eg_err(err), detail[0] ? ": " : "", detail);
	return err;
}

/* The end of a session: its absolute timeout, as seconds since the epoch. */
static int64_t
session_until(const struct request *r, const struct eg_session *s)
{
	return s->created + r->snap->cfg.absolute_timeout_ms / 1000;
}

/* A card found revoked ends the session for good, not just for this request. */
static void
end_revoked(struct request *r, const struct eg_session *s)
{
	struct req_user *u = &r->user;

	u->session_revoked = 1;
	if (session_end(r->gw->ends, u->session_id, session_until(r, s),
	    eg_now_us() / 1000000) != EG_OK)
		log_warnx("request %s: the ended sessions are full: session %s of a revoked card "
		    "is refused now, but not remembered", r->id, u->session_id);
}

static void
identify_session(struct request *r, const char *token, int via_bearer)
{
	struct req_user *u = &r->user;
	struct eg_session *s = &u->sess;
	int err;

	err = open_session(r, token, s, u->session_id, sizeof(u->session_id));
	if (err == EG_OK && (session_ended(r->gw->ends, u->session_id, eg_now_us() / 1000000) ||
	    session_ended_person(r->gw->ends, s->nrn, s->created, eg_now_us() / 1000000)))
		err = EG_ERR_SESSION_ENDED;
	if (err == EG_OK)
		err = check_session(r, s, via_bearer);
	if (err == EG_OK && (err = check_card(r, s)) == EG_ERR_REVOKED)
		end_revoked(r, s);
	if (err != EG_OK) {
		u->authenticated = 0;
		u->auth_err = err;
		/* A revoked card's session keeps its id: the record of its end names it. */
		if (!u->session_revoked) {
			u->session_id[0] = '\0';
			explicit_bzero(s, sizeof(*s));
		}
		return;
	}
	if (!u->authenticated) {
		memset(&u->id, 0, sizeof(u->id));
		eg_strlcpy(u->id.nrn, s->nrn, sizeof(u->id.nrn));
		eg_strlcpy(u->id.name, s->name, sizeof(u->id.name));
		eg_strlcpy(u->id.given, s->given, sizeof(u->id.given));
		eg_strlcpy(u->id.surname, s->surname, sizeof(u->id.surname));
		eg_strlcpy(u->id.fingerprint, s->fingerprint, sizeof(u->id.fingerprint));
		u->authenticated = 1;
		u->auth_err = EG_OK;
	}
	u->has_session = 1;
	u->via_bearer = via_bearer;
	eg_strlcpy(u->csrf, s->csrf, sizeof(u->csrf));
	eg_strlcpy(u->context_facility, s->facility, sizeof(u->context_facility));
	eg_strlcpy(u->context_org, s->org, sizeof(u->context_org));
}

/* A certificate login of a browser: a session, and its record in the access log
 * ("every login", PRODUCT.md §7). A log that cannot be written refuses the request. */
static void
issue_browser_session(struct request *r)
{
	struct req_user *u = &r->user;
	int rc;

	if ((rc = websession_issue(r, NULL, 0)) != EG_OK) {
		log_warnx("request %s: cannot issue a session: %s", r->id, eg_err(rc));
		if (rc == EG_ERR_KEYS) {
			u->authenticated = 0;
			u->auth_err = EG_ERR_KEYS;
		}
		return;
	}
	if (record_decision(r, REC_LOGIN, 1, EG_OK, NULL, 0, 0) != EG_OK) {
		u->authenticated = 0;
		u->auth_err = EG_ERR_AUDIT;
	}
}

void
identify_client(struct request *r)
{
	struct req_user *u = &r->user;
	const char *token;
	int via_bearer;

	identify_certificate(r);
	if (u->auth_err != EG_OK && u->auth_err != EG_ERR_NO_CERT)
		return;         /* a bad certificate is refused, whatever else comes with it */
	if ((token = session_token(r->conn, &via_bearer)) != NULL)
		identify_session(r, token, via_bearer);
	else if (u->authenticated && websession_signed_out(r)) {
		/* This browser logged out: its card logs in again only after "Aanmelden". */
		u->authenticated = 0;
		u->auth_err = EG_ERR_NO_CERT;
	}
}

void
identify_person(struct request *r)
{
	struct req_user *u = &r->user;
	int err;

	if (!u->authenticated)
		return;
	err = dir_person(r->gw->dir, u->id.nrn, &u->person);
	if (err != EG_OK) {
		u->authenticated = 0;
		u->auth_err = err == EG_ERR_DIRECTORY ? EG_ERR_DIRECTORY : EG_ERR_INTERNAL;
		return;
	}
	/* The facility acted for when the session has not chosen one: the only one where
	 * the user holds a role. Someone with roles in several must choose (portal). */
	if (u->context_facility[0] == '\0' && u->context_org[0] == '\0')
		policy_default_context(u->person->grants, u->person->ngrants,
		    u->context_facility, u->context_org);
	if (u->context_org[0] != '\0' &&
	    dir_org(r->gw->dir, u->context_org, &u->org) == EG_ERR_DIRECTORY) {
		u->authenticated = 0;
		u->auth_err = EG_ERR_DIRECTORY;
		return;
	}
	/* A browser that logged in with its certificate gets a session on the gateway's own
	 * pages: it carries the chosen facility and the CSRF token. */
	if (!u->has_session && policy_path_is_gateway(r->path) && !route_for_machines(r->path))
		issue_browser_session(r);
	else if (websession_touch(r) != EG_OK)
		log_warnx("request %s: cannot refresh the session", r->id);
}

int
identify_tls_leaf(struct request *r, const unsigned char **der, size_t *len)
{
	unsigned n = 0;
	const gnutls_datum_t *certs = peer_chain(r->conn, &n);

	if (certs == NULL)
		return EG_ERR_NO_CERT;
	*der = certs[0].data;
	*len = certs[0].size;
	return EG_OK;
}
