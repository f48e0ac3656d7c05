/*
 * config.h - the configuration file of PRODUCT.md §2.
 *
 * config_load() parses an INI file into an immutable struct eg_config. Every key has one
 * row in a table (section, key, type, bounds, default, sensitive); unknown sections or
 * keys, bad values and missing required keys are errors reported as "file:line: problem"
 * through the diag callback, all of them before failing. The gateway holds one snapshot
 * and swaps it whole on reload; nothing in it changes after load.
 */
#ifndef EIDGATE_CONFIG_H
#define EIDGATE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum cfg_client_cert { CFG_CLIENT_CERT_REQUEST, CFG_CLIENT_CERT_REQUIRE };
enum cfg_ocsp { CFG_OCSP_OFF, CFG_OCSP_PREFER, CFG_OCSP_REQUIRE };
/* [audit] sync; the server hands it to the log as enum audit_sync (audit.h). */
enum cfg_sync { CFG_SYNC_FULL, CFG_SYNC_GROUP, CFG_SYNC_NONE };
/* [log] format and level; the server hands them to log_configure (log.h) at start. */
enum cfg_log_format { CFG_LOG_TEXT, CFG_LOG_JSON };
enum cfg_log_level { CFG_LOG_DEBUG, CFG_LOG_INFO, CFG_LOG_WARN };
/* [ldap] starttls: auto = StartTLS on ldap:// unless the directory answers on a loopback
 * address; on = StartTLS on every ldap:// connection; off = never (refused for any
 * ldap:// URI that is not a loopback address). ldaps:// is TLS from the first byte and
 * ldapi:// (a local socket) never uses TLS, whatever this says. */
enum cfg_starttls { CFG_STARTTLS_AUTO, CFG_STARTTLS_ON, CFG_STARTTLS_OFF };

struct eg_config {
	char path[1024];                /* the file it was read from */

	char listen_host[256];
	int listen_port;
	char tls_cert[1024], tls_key[1024];
	enum cfg_client_cert client_cert;
	int threads;                    /* [listen] threads: MHD pool size (0 = nproc) */
	char public_origin[512];        /* [listen] origin: "https://host:port" users see */
	char web_root[1024];            /* [listen] web_root: the static pages (web/) */
	/* Connections (server/clients.c, admit.c), read at start: a TLS handshake and a
	 * request head must each arrive within their timeout; limits overall and per client
	 * address; libmicrohttpd's buffer per connection; the PROXY protocol v2 header,
	 * required from the balancers in proxy_from (addresses or networks, comma-separated)
	 * and refused from anyone else. */
	int64_t handshake_timeout_ms, head_timeout_ms;
	int64_t drain_timeout_ms;               /* SIGTERM: in-flight work's time to finish */
	int max_connections, max_connections_per_address;
	uint64_t connection_buffer;
	int proxy_protocol;
	char proxy_from[1024];

	char trust_anchors[1024], intermediates[1024], crl_dir[1024];
	enum cfg_ocsp ocsp;
	int64_t ocsp_timeout_ms, ocsp_cache_ms;

	char session_key_file[1024];
	char session_previous_keys[4096];       /* open sessions, never seal (rotation) */
	int64_t idle_timeout_ms, absolute_timeout_ms;
	int64_t session_recheck_ms;     /* a session's card is checked again at least this
	                                 * often, and whenever the CRLs were reloaded */

	char ldap_uri[1024], ldap_base[512], ldap_bind_dn[512], ldap_password_file[1024];
	int64_t ldap_cache_ttl_ms, ldap_timeout_ms;
	enum cfg_starttls ldap_starttls;
	char ldap_ca_file[1024];        /* PEM: the CAs the directory's certificate must
	                                 * chain to; required whenever TLS may be used */

	char policy_file[1024];

	/* [metrics]: who may read /eidgate/metrics: client addresses and certificate
	 * fingerprints (SHA-256 hex), comma-separated; both empty: nobody. */
	char metrics_allow_from[1024];
	char metrics_certificates[2048];

	char audit_db[1024];
	uint64_t audit_map_size;
	enum cfg_sync audit_sync;
	char audit_signing_key[1024];
	/* Several instances (audit/witness.c): this instance's name in its records ("":
	 * the host name), its witness key (cosigns the peers' checkpoints, signs its feed
	 * requests; held by the key process), the peers' feed URLs (comma-separated
	 * https://host:port), the peers' witness public keys (who may read this log's feed,
	 * whose cosignatures count) and the CA file their TLS certificates chain to. */
	char audit_instance[64];
	char audit_witness_key[1024];
	char audit_peers[2048];
	char audit_peer_keys[4096];
	char audit_peer_ca[1024];
	/* Client addresses (the backends) that may ask for decision receipts
	 * (/eidgate/audit/api/receipt); empty: nobody. */
	char audit_receipt_from[1024];
	/* The officers' periodic access review: a right not confirmed within this period
	 * is listed as overdue (api/audit_review.c). */
	int64_t audit_review_period_ms;

	char assertion_key[1024];
	char assertion_publish_keys[4096];      /* in the JWK set, never signing (rotation) */
	int64_t assertion_lifetime_ms;
	char assertion_issuer[512];
	char pseudonym_key[1024];               /* backends with subject=pseudonym */
	char pseudonym_previous_keys[4096];     /* resolve only (rotation) */

	/* [log]: the operational log on stderr. Read at start; a reload keeps them. */
	enum cfg_log_format log_format;
	enum cfg_log_level log_level;
	char process_user[64];          /* [process] user: who the gateway runs as after
	                                 * binding its port, when started as root */
};

struct config_diag {
	void (*emit)(void *arg, const char *file, int line, const char *msg);
	void *arg;
};

/* Parses path. Returns EG_OK with *out filled, or EG_ERR_CONFIG after reporting every
 * problem through diag (NULL: report on stderr as "eidgate: file:line: problem"). */
int config_load(const char *path, struct eg_config *out, const struct config_diag *diag);

/* One key of the table, as eidgate.conf(5) documents it. */
#define CONFIG_MAX_VALUES 8
struct config_key {
	const char *section, *key;
	const char *type;               /* "path", "duration", "size", "integer", "enum", ... */
	const char *def;                /* default as written in a file; NULL: required */
	int bounded;                    /* min and max apply: integer, duration (ms), size */
	long long min, max;
	const char *values[CONFIG_MAX_VALUES];  /* an enum's names, NULL-terminated */
};

/* Fills *out with the i-th key of the table (0, 1, ...): 1, or 0 past the last key.
 * The strings are static. Any thread. */
int config_key_at(size_t i, struct config_key *out);
/*
 * The [ldap] rules that span keys (config_ldap.c), run by config_load() on a parsed
 * configuration: every URI in uri is ldap://, ldaps:// or ldapi://; a URI reached over TLS
 * (ldaps://, or ldap:// with StartTLS) needs ca_file, and not the name "localhost"
 * (libldap checks that name against this machine's host name instead); starttls = off
 * is refused for an ldap:// URI whose host is not a loopback address, since the bind
 * password and every role would cross the network in clear; a ca_file that is set must
 * hold a PEM certificate. report() is called once per problem with the key it concerns
 * ("uri", "starttls" or "ca_file") and a message. Returns the number of problems.
 */
int config_check_ldap(const struct eg_config *cfg,
    void (*report)(void *arg, const char *key, const char *msg), void *arg);
/* The URIs of an [ldap] uri list one by one, as ldap_initialize() separates them (spaces
 * or commas): copies the next into out (outlen >= sizeof(cfg->ldap_uri) holds any) and
 * advances *list. 1 with a URI, 0 at the end (or, cut, when out is too small). */
int config_ldap_next_uri(const char **list, char *out, size_t outlen);
/* config_load of a file's content held in memory: text[0..len) (NULs and all, read
 * exactly as config_load reads the file) under the name `name`, which the messages and
 * out->path carry and whose directory relative paths are taken from (the current
 * directory when no such file exists). For tests and tests/fuzz/. */
int config_load_text(const char *name, const char *text, size_t len, struct eg_config *out,
    const struct config_diag *diag);

#endif
