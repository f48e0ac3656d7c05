/*
 * internal.h - shared by the files of server/ only: loading and swapping configuration
 * snapshots (reload.c) and the event-loop threads (loop.c).
 */
#ifndef EIDGATE_SERVER_INTERNAL_H
#define EIDGATE_SERVER_INTERNAL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <microhttpd.h>

#include "eidgate/record.h"

struct gateway;
struct gw_snapshot;
struct keys;
struct up_worker;

/* reload.c */
/* Loads configuration, trust anchors and policy, and takes the public keys from keys
 * (the assertion signer). EG_OK or EG_ERR_CONFIG with the reasons on stderr. */
int snapshot_load(const char *config_path, struct keys *keys, struct gw_snapshot **out);
/* Makes next current; the old one is freed when its last request finishes. */
void snapshot_swap(struct gateway *gw, struct gw_snapshot *next);

/* privilege.c: started as root, become [process] user for good (groups, gid, uid, each
 * checked, and root checked out of reach); started as another user, nothing. Called once, after the listening
 * socket is bound and before any connection is accepted. 0, or -1 after a message. */
struct eg_config;
int privilege_drop(const struct eg_config *cfg);

/* tlskey.c: the TLS server key in the key process. tlskey_open: from the certificate
 * chain (PEM) and keys; EG_ERR_NOT_FOUND when the key process does not hold that
 * certificate's key (not EC P-256: the serving process keeps it). tlskey_use makes t the
 * key tlskey_retrieve (libmicrohttpd's MHD_OPTION_HTTPS_CERT_CALLBACK) hands to GnuTLS;
 * call it before the first daemon starts. */
struct tls_key;
int tlskey_open(struct keys *k, const char *cert_pem, size_t len, struct tls_key **out);
void tlskey_use(const struct tls_key *t);
void tlskey_free(struct tls_key *t);
int tlskey_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
    unsigned int *pcert_length, gnutls_privkey_t *privkey);

/* proxyhdr.c: the PROXY protocol v2 header (HAProxy's proxy-protocol.txt, 2.2).
 * proxyhdr_parse reads b[0..n), the bytes received so far: 0 when more are needed, -1
 * when they cannot start a valid header (*why says what is wrong, static text), or the
 * header's length h->len, with h->src the client's address (h->local for the LOCAL
 * command: keep the connection's own). Never reads past n or past EG_MAX_PROXY_HEADER.
 * proxyhdr_looks_like: 1 when b[0..n) could be the start of a PROXY header of either
 * version (v2 signature or "PROXY "), for refusing one from a client not allowed to send
 * it. Pure functions, any thread. */
struct proxy_hdr {
	int local;
	struct sockaddr_storage src;
	socklen_t srclen;
	size_t len;
};
int proxyhdr_parse(const unsigned char *b, size_t n, struct proxy_hdr *h, const char **why);
int proxyhdr_looks_like(const unsigned char *b, size_t n);

/* admit.c: the connection limits every loop shares ([listen] max_connections,
 * max_connections_per_address) and the balancers allowed to send a PROXY header
 * ([listen] proxy_from). Read from the configuration at start. admit_take counts one
 * connection from addr (text form) against both limits: ADMIT_OK, ADMIT_FULL (the
 * global limit; force takes it anyway, for a connection admitted in place of one being
 * shed) or ADMIT_ADDRESS_FULL. admit_release gives it back. Any thread. */
struct admit;
struct eg_config;
enum admit_verdict { ADMIT_OK, ADMIT_FULL, ADMIT_ADDRESS_FULL };
int admit_new(const struct eg_config *cfg, struct admit **out);
void admit_free(struct admit *a);
enum admit_verdict admit_take(struct admit *a, const char *addr, int force);
void admit_release(struct admit *a, const char *addr);
/* 1 when a PROXY header is expected from sa: proxy_protocol is on and sa is in
 * proxy_from. 0 when a PROXY header from sa must be refused. */
int admit_expects_proxy(const struct admit *a, const struct sockaddr *sa);
int admit_proxy_on(const struct admit *a);

/* clients.c: the connections of one loop, from accept to close. It accepts from the
 * listening socket itself, reads the PROXY header when one is due, counts each
 * connection against the limits (admit.c), hands it to libmicrohttpd with the client's
 * address (MHD_add_connection), and drops a handshake or a request head that takes too
 * long ([listen] handshake_timeout, head_timeout). Refusals are recorded
 * (connection-refused) and counted. One per loop; every function but clients_new and
 * clients_free runs on that loop's thread. */
struct clients;
struct gateway;
int clients_new(struct gateway *gw, struct admit *a, int listen_fd, struct clients **out);
void clients_free(struct clients *c);
/* The daemon connections are handed to; set once, before clients_on_event runs. */
void clients_set_daemon(struct clients *c, struct MHD_Daemon *d);
/* The descriptor the loop watches (EPOLLIN) for new connections and PROXY headers. */
int clients_fd(const struct clients *c);
/* Accepts and reads what is ready; then 1 when something moved. */
int clients_on_event(struct clients *c);
/* Drops what overran its time; returns ms until the next deadline (at most max_ms). */
int clients_sweep(struct clients *c, int64_t now_ms, int max_ms);
/* Bytes moved and handler calls since the last call (then reset): libmicrohttpd's
 * zero timeout is only believed after a run that made progress (loop.c). */
unsigned long clients_progress(struct clients *c);
/* SIGTERM: stops accepting (closes this loop's listening socket), closes connections
 * that carry nothing (kept alive between requests, or still before the handshake), lets
 * handshakes, request heads and requests being served finish and closes each after its
 * answer. clients_live: the connections left. Loop thread. */
void clients_drain(struct clients *c);
size_t clients_live(const struct clients *c);
/* libmicrohttpd's callbacks, cls = the clients: they track each connection's stage and
 * call request.h's handlers with the gateway. */
void clients_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode toe);
enum MHD_Result clients_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls);
void clients_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe);
void *clients_uri_log(void *cls, const char *uri, struct MHD_Connection *conn);

/* tlscache.c: TLS 1.2 resumption by session id, shared by every loop (bounded, entries
 * expire after an hour, wiped when dropped). tlscache_attach gives a new server session
 * GnuTLS's store, retrieve and remove functions over c. Any thread. */
struct tls_cache;
int tlscache_new(struct tls_cache **out);
void tlscache_free(struct tls_cache *c);
void tlscache_attach(struct tls_cache *c, gnutls_session_t s);

/* loop.c: an event-loop thread running daemon, its clients and forwarding worker w.
 * loop_new takes the daemon and the clients (freed by loop_free, or at once when
 * loop_new fails). */
struct gw_loop;
struct gw_loop *loop_new(struct MHD_Daemon *daemon, struct clients *c, struct up_worker *w);
int loop_start(struct gw_loop *l);
void loop_stop(struct gw_loop *l);
/* Asks the loop to drain (clients_drain) and returns at once; loop_live: its
 * connections left (any thread). */
void loop_drain(struct gw_loop *l);
size_t loop_live(struct gw_loop *l);

/* drain.c: SIGTERM's drain (see there); returns when every connection has closed, after
 * timeout_ms, or at a second stop signal of set (blocked in the calling thread). */
void server_drain(struct gateway *gw, int64_t timeout_ms, const sigset_t *set);
void loop_free(struct gw_loop *l);

/* control.c: the local control socket (<[audit] db>/control.sock). */
struct control;
int control_start(struct gateway *gw, const char *audit_dir, struct control **out);
void control_stop(struct control *c);

/* control_msg.c: one message of it. On EG_OK m->op points into m's JSON (freed with
 * control_msg_free, also after a failure); EG_ERR_PARSE with why naming the field. */
struct control_msg {
	struct rec_operator op;
	/* kind "pseudonym": an officer's lookup (eidgate access pseudonym): request_id,
	 * actor, backend, target and, optionally, key_id (8 hex digits) */
	int is_pseudonym;
	struct rec_lookup lookup;
	json_t *json;
};
int control_parse(const char *text, size_t len, struct control_msg *m, char *why,
    size_t whylen);
void control_msg_free(struct control_msg *m);

#endif
