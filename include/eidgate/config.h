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

struct eg_config {
	char path[1024];                /* the file it was read from */

	char listen_host[256];
	int listen_port;
	char tls_cert[1024], tls_key[1024];
	enum cfg_client_cert client_cert;
	int threads;                    /* [listen] threads: MHD pool size (0 = nproc) */
	char public_origin[512];        /* [listen] origin: "https://host:port" users see */
	char web_root[1024];            /* [listen] web_root: the static pages (web/) */

	char trust_anchors[1024], intermediates[1024], crl_dir[1024];
	enum cfg_ocsp ocsp;
	int64_t ocsp_timeout_ms, ocsp_cache_ms;

	char session_key_file[1024];
	int64_t idle_timeout_ms, absolute_timeout_ms;
	int64_t session_recheck_ms;     /* a session's card is checked again at least this
	                                 * often, and whenever the CRLs were reloaded */

	char ldap_uri[1024], ldap_base[512], ldap_bind_dn[512], ldap_password_file[1024];
	int64_t ldap_cache_ttl_ms, ldap_timeout_ms;

	char policy_file[1024];

	/* [metrics]: who may read /eidgate/metrics: client addresses and certificate
	 * fingerprints (SHA-256 hex), comma-separated; both empty: nobody. */
	char metrics_allow_from[1024];
	char metrics_certificates[2048];

	char audit_db[1024];
	uint64_t audit_map_size;
	enum cfg_sync audit_sync;
	char audit_signing_key[1024];

	char assertion_key[1024];
	int64_t assertion_lifetime_ms;
	char assertion_issuer[512];
};

struct config_diag {
	void (*emit)(void *arg, const char *file, int line, const char *msg);
	void *arg;
};

/* Parses path. Returns EG_OK with *out filled, or EG_ERR_CONFIG after reporting every
 * problem through diag (NULL: report on stderr as "eidgate: file:line: problem"). */
int config_load(const char *path, struct eg_config *out, const struct config_diag *diag);

/* config_load of a file's content held in memory: text[0..len) (NULs and all, read
 * exactly as config_load reads the file) under the name `name`, which the messages and
 * out->path carry and whose directory relative paths are taken from (the current
 * directory when no such file exists). For tests and tests/fuzz/. */
int config_load_text(const char *name, const char *text, size_t len, struct eg_config *out,
    const struct config_diag *diag);

#endif
