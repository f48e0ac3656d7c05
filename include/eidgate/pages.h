/*
 * pages.h - what the gateway answers itself (pages/): its error answers, its built-in
 * endpoints under /eidgate/ and the JWK set, the static pages of web/, and the browser
 * session cookie (PRODUCT.md §6).
 *
 * Answers: every answer the gateway writes (not a backend's) goes through respond_*: the
 * security headers, the X-Request-Id, the session cookie of the request, and for errors
 * a readable page for browsers or JSON for API clients, in the user's language (Dutch
 * first, English second), neither with internal details. Each respond_* queues the answer on r's
 * connection, sets r->phase to REQ_RESPONDED and returns libmicrohttpd's result.
 *
 * Endpoints: the page_* handlers are the targets of the pipeline's route table
 * (request/routes.c), which has already checked the method, the login, the CSRF token
 * and, for routes with a body, collected it into r->body (NUL-terminated, r->body_size
 * bytes, at most EG_MAX_BUILTIN_BODY). A handler that answers an authenticated read
 * records it (record.h) before answering.
 *
 * What it owns: the catalogues of the texts users read (by message id), the language of
 * an answer, the cookie's form, the web root.
 * What it may call: auth/ (login challenges, certificates), directory/, record/, the
 * signer, and forward/'s statistics for the metrics page.
 *
 * Threads: the event-loop thread that owns r.
 */
#ifndef EIDGATE_PAGES_H
#define EIDGATE_PAGES_H

#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#include "eidgate/record.h"

struct request;

/* ---- answers (pages/respond.c) ------------------------------------------------------ */

/* Queues body (copied) with the gateway's security headers and the session cookie. */
enum MHD_Result respond_buffer(struct request *r, unsigned status, const char *ctype,
    const char *body, size_t len);
/* The same, freeing body (malloc'd) once it is copied. */
enum MHD_Result respond_take(struct request *r, unsigned status, const char *ctype,
    char *body, size_t len);
enum MHD_Result respond_json(struct request *r, unsigned status, const char *json);
/* Serialises and queues j (which it takes over; NULL answers 500). */
enum MHD_Result respond_json_obj(struct request *r, unsigned status, json_t *j);
/*
 * An error: HTML for a browser (Accept: text/html; web/error.html), JSON otherwise
 * ({"reason","message","error","lang","request_id"}, "error" the same text as
 * "message" for clients of the first API). code is the stable reason code; msgid names
 * the sentence a person reads (i18n below): when it is NULL or not in the catalogue,
 * the sentence of the reason code ("reason.<code>"), else of the status, is used.
 */
enum MHD_Result respond_error(struct request *r, unsigned status, const char *code,
    const char *msgid);
/* 503: the access log cannot be written, so nothing is served (every caller's answer
 * when its record was refused). */
enum MHD_Result respond_audit_unavailable(struct request *r);
/*
 * Records a refusal of kind `kind` with reason err and answers it with status and the
 * message msgid (as respond_error), or 503 when the record cannot be written: the
 * record comes first.
 */
enum MHD_Result respond_refused(struct request *r, enum rec_kind kind, unsigned status,
    int err, const char *msgid);
/* The headers every answer of the gateway carries (also forward/'s responses). */
void respond_add_security_headers(struct MHD_Response *resp);

/* ---- languages (pages/i18n.c) --------------------------------------------------------
 * Every text a user reads comes from the catalogues web_root/i18n/<lang>.json by message
 * id; the C code holds ids only. Strings returned live as long as the process. */
enum i18n_lang { I18N_NL, I18N_EN, I18N_NLANGS };
/* The language an Accept-Language value asks for among Dutch and English: the first of
 * the highest weight, Dutch when neither (or NULL). Reads at most
 * EG_MAX_ACCEPT_LANGUAGE bytes and EG_MAX_LANGUAGE_RANGES ranges of hostile input. */
enum i18n_lang i18n_pick(const char *accept_language);
/* r's language: the pages' language switch (cookie eidgate-lang=nl|en), else
 * i18n_pick(Accept-Language). */
enum i18n_lang i18n_lang_of(struct request *r);
/* "nl" or "en". */
const char *i18n_code(enum i18n_lang lang);
/* The text of msgid in r's language (Dutch when the English one is missing), NULL when
 * the catalogue has no such id. */
const char *i18n_text(struct request *r, const char *msgid);
/* i18n_text of msgid, else of "reason.<code>", else of "status.<status>"; never NULL. */
const char *i18n_message(struct request *r, const char *msgid, const char *code,
    unsigned status);

/* ---- the browser session (pages/session.c) ----------------------------------------- */

/* Issues a new session for the authenticated user (cookie). leaf (DER, leaflen bytes):
 * the card certificate of a login made without TLS client authentication (eidgate-login),
 * carried in the session so that its revocation is checked again on use; NULL for a TLS
 * certificate login, whose session is only good on connections with that certificate.
 * EG_OK, EG_ERR_PARSE (a certificate too large to carry), or an error of sealing. */
int websession_issue(struct request *r, const unsigned char *leaf, size_t leaflen);
/* Re-seals the session after a change (facility) or when it is due for an idle refresh;
 * sets r->user.set_cookie for cookie sessions. With token_out, returns the token. */
int websession_reseal(struct request *r, char **token_out);
/* Re-seals a cookie session that was last refreshed a minute or more ago. */
int websession_touch(struct request *r);
/* Adds the Set-Cookie header of this request, if any, to resp. */
void websession_add_cookie(struct request *r, struct MHD_Response *resp);
/* Constant-time check of X-Eidgate-CSRF for state-changing built-in requests. 1 = ok. */
int websession_csrf_ok(struct request *r);
/* 1 when this browser logged out and has not chosen "Aanmelden" since (the cookie
 * __Host-eidgate-out): its card's certificate then logs nobody in on its own, until the
 * browser is closed (README, "Pages"). */
int websession_signed_out(struct request *r);

/* ---- endpoints (the route table's handlers) ----------------------------------------- */

/* pages/status.c: GET healthz, readyz, metrics and the JWK set; no login. */
enum MHD_Result page_healthz(struct request *r);
enum MHD_Result page_readyz(struct request *r);
enum MHD_Result page_metrics(struct request *r);
enum MHD_Result page_jwks(struct request *r);
/* pages/account.c: GET whoami; POST context {"facility": ID}; POST logout; POST login
 * ("Aanmelden" after a logout). */
enum MHD_Result page_whoami(struct request *r);
enum MHD_Result page_context(struct request *r);
enum MHD_Result page_logout(struct request *r);
enum MHD_Result page_login(struct request *r);
/* pages/login.c: the PKCS#11 login's two steps, POST auth/challenge and auth/token. */
enum MHD_Result page_challenge(struct request *r);
enum MHD_Result page_token(struct request *r);
/* pages/static.c: the portal, the rights and audit pages (templates rendered in the
 * user's language), their assets, Debian's JavaScript libraries (/usr/share/javascript,
 * below EG_GATEWAY_PREFIX "/js/") and the gateway's icon (/favicon.ico when no rule
 * routes it: never a denial). */
enum MHD_Result page_portal(struct request *r);
enum MHD_Result page_admin(struct request *r);
enum MHD_Result page_audit(struct request *r);
enum MHD_Result page_static(struct request *r);
enum MHD_Result page_system_js(struct request *r);
enum MHD_Result page_favicon(struct request *r);
/* 404 and 405 as the gateway words them. */
enum MHD_Result page_not_found(struct request *r);
enum MHD_Result page_method_not_allowed(struct request *r);

#endif
