/*
 * config.c - table-driven INI reader for the configuration of PRODUCT.md §2.
 *
 * One row per key; a handful of generic setters do the work (nginx's conf slots, Redis'
 * createXConfig tables). Relative paths are taken relative to the directory of the
 * configuration file, so a test or demo tree can be moved as a whole.
 */
#include <ctype.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/util.h"

enum cfg_type { T_STR, T_PATH, T_DUR, T_SIZE, T_INT, T_ENUM, T_LISTEN, T_ADDRS, T_FPRS, T_PATHS, T_NETS };

struct cfg_enum { const char *name; int value; };

static const struct cfg_enum client_cert_enum[] = {
	{ "request", CFG_CLIENT_CERT_REQUEST }, { "require", CFG_CLIENT_CERT_REQUIRE }, { NULL, 0 },
};
static const struct cfg_enum ocsp_enum[] = {
	{ "off", CFG_OCSP_OFF }, { "prefer", CFG_OCSP_PREFER }, { "require", CFG_OCSP_REQUIRE },
	{ NULL, 0 },
};
static const struct cfg_enum log_format_enum[] = {
	{ "text", CFG_LOG_TEXT }, { "json", CFG_LOG_JSON }, { NULL, 0 },
};
static const struct cfg_enum log_level_enum[] = {
	{ "debug", CFG_LOG_DEBUG }, { "info", CFG_LOG_INFO }, { "warn", CFG_LOG_WARN },
	{ NULL, 0 },
};
static const struct cfg_enum starttls_enum[] = {
	{ "auto", CFG_STARTTLS_AUTO }, { "on", CFG_STARTTLS_ON }, { "off", CFG_STARTTLS_OFF },
	{ NULL, 0 },
};
static const struct cfg_enum onoff_enum[] = {
	{ "off", 0 }, { "on", 1 }, { NULL, 0 },
};
static const struct cfg_enum sync_enum[] = {
	{ "full", CFG_SYNC_FULL }, { "group", CFG_SYNC_GROUP }, { "none", CFG_SYNC_NONE },
	{ NULL, 0 },
};

struct cfg_row {
	const char *section, *key;
	enum cfg_type type;
	size_t off, size;               /* field offset and size (strings) */
	long long min, max;             /* bounds for T_INT, T_DUR (ms), T_SIZE */
	const char *def;                /* default text, NULL = required */
	const struct cfg_enum *e;
};

#define F(f) offsetof(struct eg_config, f), sizeof(((struct eg_config *)0)->f)
static const struct cfg_row rows[] = {
	{ "listen", "address", T_LISTEN, 0, 0, 0, 0, NULL, NULL },
	{ "listen", "tls_cert", T_PATH, F(tls_cert), 0, 0, NULL, NULL },
	{ "listen", "tls_key", T_PATH, F(tls_key), 0, 0, NULL, NULL },
	{ "listen", "client_cert", T_ENUM, F(client_cert), 0, 0, "request", client_cert_enum },
	{ "listen", "threads", T_INT, F(threads), 0, 256, "0", NULL },
	{ "listen", "origin", T_STR, F(public_origin), 0, 0, "", NULL },
	{ "listen", "web_root", T_PATH, F(web_root), 0, 0, "/usr/share/eidgate/web", NULL },
	{ "listen", "handshake_timeout", T_DUR, F(handshake_timeout_ms), 1000, 600000, "30s", NULL },
	{ "listen", "drain_timeout", T_DUR, F(drain_timeout_ms), 0, 600000, "30s", NULL },
	{ "listen", "head_timeout", T_DUR, F(head_timeout_ms), 1000, 600000, "30s", NULL },
	{ "listen", "max_connections", T_INT, F(max_connections), 1, 1000000, "10000", NULL },
	{ "listen", "max_connections_per_address", T_INT, F(max_connections_per_address), 1,
	    1000000, "2000", NULL },
	{ "listen", "connection_buffer", T_SIZE, F(connection_buffer), 8192, 1LL << 20, "16KiB",
	    NULL },
	{ "listen", "proxy_protocol", T_ENUM, F(proxy_protocol), 0, 0, "off", onoff_enum },
	{ "listen", "proxy_from", T_NETS, F(proxy_from), 0, 0, "", NULL },
	{ "eid", "trust_anchors", T_PATH, F(trust_anchors), 0, 0, NULL, NULL },
	{ "eid", "intermediates", T_PATH, F(intermediates), 0, 0, "", NULL },
	{ "eid", "crl", T_PATH, F(crl_dir), 0, 0, "", NULL },
	{ "eid", "ocsp", T_ENUM, F(ocsp), 0, 0, "prefer", ocsp_enum },
	{ "eid", "ocsp_timeout", T_DUR, F(ocsp_timeout_ms), 10, 60000, "2s", NULL },
	{ "eid", "ocsp_cache", T_DUR, F(ocsp_cache_ms), 0, 86400000, "10m", NULL },
	{ "session", "key_file", T_PATH, F(session_key_file), 0, 0, NULL, NULL },
	{ "session", "previous_key_files", T_PATHS, F(session_previous_keys), 0, 0, "", NULL },
	{ "session", "idle_timeout", T_DUR, F(idle_timeout_ms), 1000, 86400000, "15m", NULL },
	{ "session", "absolute_timeout", T_DUR, F(absolute_timeout_ms), 1000, 604800000, "8h", NULL },
	{ "session", "recheck", T_DUR, F(session_recheck_ms), 1000, 3600000, "5m", NULL },
	{ "ldap", "uri", T_STR, F(ldap_uri), 0, 0, NULL, NULL },
	{ "ldap", "base", T_STR, F(ldap_base), 0, 0, NULL, NULL },
	{ "ldap", "bind_dn", T_STR, F(ldap_bind_dn), 0, 0, "", NULL },
	{ "ldap", "bind_password_file", T_PATH, F(ldap_password_file), 0, 0, "", NULL },
	{ "ldap", "cache_ttl", T_DUR, F(ldap_cache_ttl_ms), 0, 86400000, "60s", NULL },
	{ "ldap", "timeout", T_DUR, F(ldap_timeout_ms), 10, 60000, "2s", NULL },
	{ "ldap", "starttls", T_ENUM, F(ldap_starttls), 0, 0, "auto", starttls_enum },
	{ "ldap", "ca_file", T_PATH, F(ldap_ca_file), 0, 0, "", NULL },
	{ "policy", "file", T_PATH, F(policy_file), 0, 0, NULL, NULL },
	{ "audit", "db", T_PATH, F(audit_db), 0, 0, NULL, NULL },
	{ "audit", "map_size", T_SIZE, F(audit_map_size), 1LL << 20, 1LL << 42, "1GiB", NULL },
	{ "audit", "sync", T_ENUM, F(audit_sync), 0, 0, "group", sync_enum },
	{ "audit", "signing_key", T_PATH, F(audit_signing_key), 0, 0, "", NULL },
	{ "audit", "instance", T_STR, F(audit_instance), 0, 0, "", NULL },
	{ "audit", "witness_key", T_PATH, F(audit_witness_key), 0, 0, "", NULL },
	{ "audit", "peers", T_STR, F(audit_peers), 0, 0, "", NULL },
	{ "audit", "peer_keys", T_PATHS, F(audit_peer_keys), 0, 0, "", NULL },
	{ "audit", "peer_ca", T_PATH, F(audit_peer_ca), 0, 0, "", NULL },
	{ "audit", "receipt_from", T_ADDRS, F(audit_receipt_from), 0, 0, "", NULL },
	{ "audit", "review_period", T_DUR, F(audit_review_period_ms), 1000, 3650LL * 86400000,
	    "90d", NULL },
	{ "assertion", "signing_key", T_PATH, F(assertion_key), 0, 0, NULL, NULL },
	{ "assertion", "publish_keys", T_PATHS, F(assertion_publish_keys), 0, 0, "", NULL },
	{ "assertion", "lifetime", T_DUR, F(assertion_lifetime_ms), 1000, 3600000, "60s", NULL },
	{ "assertion", "issuer", T_STR, F(assertion_issuer), 0, 0, "eidgate", NULL },
	{ "assertion", "pseudonym_key_file", T_PATH, F(pseudonym_key), 0, 0, "", NULL },
	{ "assertion", "pseudonym_previous_key_files", T_PATHS, F(pseudonym_previous_keys), 0, 0,
	    "", NULL },
	{ "metrics", "allow_from", T_ADDRS, F(metrics_allow_from), 0, 0, "", NULL },
	{ "metrics", "certificates", T_FPRS, F(metrics_certificates), 0, 0, "", NULL },
	{ "log", "format", T_ENUM, F(log_format), 0, 0, "text", log_format_enum },
	{ "log", "level", T_ENUM, F(log_level), 0, 0, "info", log_level_enum },
	{ "process", "user", T_STR, F(process_user), 0, 0, "eidgate", NULL },
};
#undef F
#define NROWS (sizeof(rows) / sizeof(rows[0]))

struct cfg_parse {
	const char *file;
	char dir[1024];                 /* directory of the file, for relative paths */
	const struct config_diag *diag;
	int errors;
	int line;
	unsigned char seen[NROWS];
	int key_line[NROWS];            /* where each key was set, for rules across keys */
	struct eg_config *cfg;
};

static void cfg_error(struct cfg_parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
cfg_error(struct cfg_parse *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->errors++;
	if (p->diag != NULL && p->diag->emit != NULL)
		p->diag->emit(p->diag->arg, p->file, p->line, msg);
	else
		fprintf(stderr, "eidgate: %s:%d: %s\n", p->file, p->line, msg);
}

static int
set_listen(struct cfg_parse *p, const char *v)
{
	const char *colon = strrchr(v, ':');
	long long port;
	size_t hostlen;

	if (colon == NULL || colon == v) {
		cfg_error(p, "address \"%s\" must be host:port", v);
		return -1;
	}
	hostlen = (size_t)(colon - v);
	if (hostlen >= sizeof(p->cfg->listen_host) ||
	    eg_strtonum(colon + 1, 1, 65535, &port) != EG_OK) {
		cfg_error(p, "address \"%s\" must be host:port with port 1-65535", v);
		return -1;
	}
	memcpy(p->cfg->listen_host, v, hostlen);
	p->cfg->listen_host[hostlen] = '\0';
	p->cfg->listen_port = (int)port;
	return 0;
}

static int
set_string(struct cfg_parse *p, const struct cfg_row *r, const char *v, int is_path)
{
	char *dst = (char *)p->cfg + r->off;
	int n;

	if (is_path && v[0] != '/' && v[0] != '\0')
		n = snprintf(dst, r->size, "%s/%s", p->dir, v);
	else
		n = snprintf(dst, r->size, "%s", v);
	if (n < 0 || (size_t)n >= r->size) {
		cfg_error(p, "value of %s is too long", r->key);
		return -1;
	}
	return 0;
}

static int
set_enum(struct cfg_parse *p, const struct cfg_row *r, const char *v)
{
	const struct cfg_enum *e;

	for (e = r->e; e->name != NULL; e++) {
		if (strcmp(e->name, v) == 0) {
			memcpy((char *)p->cfg + r->off, &e->value, sizeof(int));
			return 0;
		}
	}
	cfg_error(p, "unknown value \"%s\"", v);
	return -1;
}

static int
set_number(struct cfg_parse *p, const struct cfg_row *r, const char *v)
{
	long long ll;
	int64_t ms;
	uint64_t sz;
	int iv;

	switch (r->type) {
	case T_INT:
		if (eg_strtonum(v, r->min, r->max, &ll) != EG_OK)
			break;
		iv = (int)ll;
		memcpy((char *)p->cfg + r->off, &iv, sizeof(iv));
		return 0;
	case T_DUR:
		if (eg_parse_duration_ms(v, &ms) != EG_OK || ms < r->min || ms > r->max)
			break;
		memcpy((char *)p->cfg + r->off, &ms, sizeof(ms));
		return 0;
	case T_SIZE:
		if (eg_parse_size(v, &sz) != EG_OK || sz < (uint64_t)r->min ||
		    sz > (uint64_t)r->max)
			break;
		memcpy((char *)p->cfg + r->off, &sz, sizeof(sz));
		return 0;
	default:
		break;
	}
	cfg_error(p, "bad or out-of-range value \"%s\"", v);
	return -1;
}

/* One IPv4 or IPv6 address as a client's address is written (no names, no masks). */
static int
is_address(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* An address or a network "address/bits" (proxy_from). */
static int
is_network(const char *s)
{
	struct eg_net n;

	return eg_net_parse(s, &n);
}

/* A certificate's SHA-256 fingerprint as the access log shows it: 64 lower-case hex. */
static int
is_fingerprint(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* A file name in a list: no control bytes (the list is kept comma-separated). */
static int
is_list_path(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* A comma-separated list whose every item passes ok(); kept as written (without
 * spaces) for eg_list_has(), file names made absolute (T_PATHS). */
static int
set_list(struct cfg_parse *p, const struct cfg_row *r, const char *v, int (*ok)(const char *),
    const char *what)
{
	char *dst = (char *)p->cfg + r->off, item[1024];
	size_t o = 0, n;
	const char *e;

	for (; *v != '\0'; v = *e == ',' ? e + 1 : e) {
		v += strspn(v, " \t");
		e = v + strcspn(v, ",");
		n = (size_t)(e - v);
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		if (n >= sizeof(item) || (memcpy(item, v, n), item[n] = '\0', !ok(item))) {
			cfg_error(p, "%s: \"%.*s\" is not %s", r->key, (int)(n > 64 ? 64 : n), v, what);
			return -1;
		}
		if (r->type == T_PATHS && item[0] != '/') {
			char rel[sizeof(item)];
			int w;

			memcpy(rel, item, n + 1);
			w = snprintf(item, sizeof(item), "%s/%s", p->dir, rel);
			if (w < 0 || (size_t)w >= sizeof(item)) {
				cfg_error(p, "%s: file name too long", r->key);
				return -1;
			}
			n = (size_t)w;
		}
		if (o + n + 2 > r->size) {
			cfg_error(p, "value of %s is too long", r->key);
			return -1;
		}
		if (o > 0)
			dst[o++] = ',';
		memcpy(dst + o, item, n);
		o += n;
	}
	dst[o] = '\0';
	return 0;
}

static int
set_value(struct cfg_parse *p, const struct cfg_row *r, const char *v)
{
	switch (r->type) {
	case T_ADDRS:
		return set_list(p, r, v, is_address, "an IP address");
	case T_NETS:
		return set_list(p, r, v, is_network, "an IP address or network (address/bits)");
	case T_FPRS:
		return set_list(p, r, v, is_fingerprint, "a certificate's SHA-256 (64 hex digits)");
	case T_PATHS:
		return set_list(p, r, v, is_list_path, "a file name");
	case T_LISTEN:
		return set_listen(p, v);
	case T_STR:
		return set_string(p, r, v, 0);
	case T_PATH:
		return set_string(p, r, v, 1);
	case T_ENUM:
		return set_enum(p, r, v);
	default:
		return set_number(p, r, v);
	}
}

static const struct cfg_row *
find_row(const char *section, const char *key, size_t *idx)
{
	size_t i;

	for (i = 0; i < NROWS; i++) {
		if (strcmp(rows[i].section, section) == 0 && strcmp(rows[i].key, key) == 0) {
			*idx = i;
			return &rows[i];
		}
	}
	return NULL;
}

static int
known_section(const char *s)
{
	size_t i;

	for (i = 0; i < NROWS; i++)
		if (strcmp(rows[i].section, s) == 0)
			return 1;
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Cuts a comment: ';' or '#' at the start or after whitespace (paths may hold '#'). */
static void
strip_comment(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++) {
		if ((*p == ';' || *p == '#') && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
	}
}

static void
parse_line(struct cfg_parse *p, char *line, char *section, size_t seclen)
{
	char *eq, *key, *val;
	const struct cfg_row *r;
	size_t idx;

	strip_comment(line);
	line = trim(line);
	if (*line == '\0')
		return;
	if (*line == '[') {
		char *end = strchr(line, ']');
		if (end == NULL || end[1] != '\0') {
			cfg_error(p, "malformed section header \"%s\"", line);
			return;
		}
		*end = '\0';
		if (!known_section(line + 1))
			cfg_error(p, "unknown section [%s]", line + 1);
		eg_strlcpy(section, line + 1, seclen);
		return;
	}
	eq = strchr(line, '=');
	if (eq == NULL) {
		cfg_error(p, "expected key = value, got \"%s\"", line);
		return;
	}
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	if (section[0] == '\0') {
		cfg_error(p, "key \"%s\" outside any section", key);
		return;
	}
	r = find_row(section, key, &idx);
	if (r == NULL) {
		cfg_error(p, "unknown key \"%s\"", key);
		return;
	}
	if (p->seen[idx]) {
		cfg_error(p, "duplicate key \"%s\"", key);
		return;
	}
	p->seen[idx] = 1;
	p->key_line[idx] = p->line;
	set_value(p, r, val);
}

static void
apply_defaults(struct cfg_parse *p)
{
	size_t i;
	char msg[128];

	p->line = 0;
	for (i = 0; i < NROWS; i++) {
		if (p->seen[i])
			continue;
		if (rows[i].def == NULL) {
			snprintf(msg, sizeof(msg), "[%s] %s", rows[i].section, rows[i].key);
			cfg_error(p, "missing required key %s", msg);
			continue;
		}
		set_value(p, &rows[i], rows[i].def);
	}
}

/* config_check_ldap's report: the problem at the line of its key, or of [ldap] uri when
 * the key was not written (a missing ca_file is a problem of the URI that needs it). */
static void
ldap_problem(void *arg, const char *key, const char *msg)
{
	struct cfg_parse *p = arg;
	size_t idx;

	if (find_row("ldap", key, &idx) == NULL || !p->seen[idx])
		(void)find_row("ldap", "uri", &idx);
	p->line = p->key_line[idx];
	cfg_error(p, "[ldap] %s", msg);
}

/* [audit] instance, peers (https URLs, spaces or commas) and the key they need. */
static void
check_audit_peers(struct cfg_parse *p)
{
	const struct eg_config *c = p->cfg;
	const char *v = c->audit_peers;
	size_t idx, n;

	if (c->audit_instance[0] != '\0' && find_row("audit", "instance", &idx) != NULL &&
	    strspn(c->audit_instance, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") != strlen(c->audit_instance)) {
		p->line = p->key_line[idx];
		cfg_error(p, "[audit] instance: only A-Z a-z 0-9 . _ - (at most 63)");
	}
	if (v[0] == '\0' || find_row("audit", "peers", &idx) == NULL)
		return;
	p->line = p->key_line[idx];
	if (c->audit_witness_key[0] == '\0')
		cfg_error(p, "[audit] peers needs [audit] witness_key");
	for (; *v != '\0'; v += n) {
		v += strspn(v, ", \t");
		n = strcspn(v, ", \t");
		if (n > 0 && (n <= 8 || strncmp(v, "https://", 8) != 0)) {
			cfg_error(p, "[audit] peers: \"%.*s\" is not an https:// URL",
			    (int)(n > 64 ? 64 : n), v);
			return;
		}
	}
}

/* Fail closed: PROXY headers expected from nobody would refuse every connection from a
 * balancer. Reported where proxy_protocol was set. */
static void
proxy_problem(struct cfg_parse *p)
{
	size_t idx;

	if (find_row("listen", "proxy_protocol", &idx) != NULL)
		p->line = p->key_line[idx];
	cfg_error(p, "[listen] proxy_protocol = on needs proxy_from (the balancers' addresses "
	    "or networks)");
}

static void
set_dir(struct cfg_parse *p, const char *path)
{
	char resolved[PATH_MAX];
	char *slash;

	if (realpath(path, resolved) == NULL || strlen(resolved) >= sizeof(p->dir))
		eg_strlcpy(p->dir, ".", sizeof(p->dir));
	else
		eg_strlcpy(p->dir, resolved, sizeof(p->dir));
	slash = strrchr(p->dir, '/');
	if (slash != NULL && slash != p->dir)
		*slash = '\0';
}

/* The table as eidgate.conf(5) documents it (check-config --keys): the page is checked
 * against this, so a key cannot be added, dropped or changed without the page. */
int
config_key_at(size_t i, struct config_key *out)
{
	static const char *const type_names[] = {
		[T_STR] = "string", [T_PATH] = "path", [T_DUR] = "duration", [T_SIZE] = "size",
		[T_INT] = "integer", [T_ENUM] = "enum", [T_LISTEN] = "host:port",
		[T_ADDRS] = "addresses", [T_FPRS] = "fingerprints", [T_PATHS] = "files",
		[T_NETS] = "networks",
	};
	const struct cfg_enum *e;
	size_t n = 0;

	if (i >= NROWS)
		return 0;
	memset(out, 0, sizeof(*out));
	out->section = rows[i].section;
	out->key = rows[i].key;
	out->type = type_names[rows[i].type];
	out->def = rows[i].def;
	if (rows[i].type == T_INT || rows[i].type == T_DUR || rows[i].type == T_SIZE) {
		out->min = rows[i].min;
		out->max = rows[i].max;
		out->bounded = 1;
	}
	for (e = rows[i].e; e != NULL && e->name != NULL && n + 1 < CONFIG_MAX_VALUES; e++)
		out->values[n++] = e->name;
	return 1;
}

/* Reads every line of f, then applies the defaults: the one parse of config_load and
 * config_load_text, so both read the same bytes the same way (fgets: a NUL ends what a
 * line's checks see, a line over EG_MAX_LINE is refused whole). */
static int
config_read(struct cfg_parse *p, FILE *f)
{
	char section[64] = "";
	char line[EG_MAX_LINE + 2];

	while (fgets(line, sizeof(line), f) != NULL) {
		p->line++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			cfg_error(p, "line longer than %d bytes", EG_MAX_LINE);
			while (fgets(line, sizeof(line), f) != NULL && strchr(line, '\n') == NULL)
				;
			continue;
		}
		parse_line(p, line, section, sizeof(section));
	}
	fclose(f);
	apply_defaults(p);
	/* All problems at once, except "uri names no directory" after "missing uri". */
	if (p->errors == 0 || p->cfg->ldap_uri[0] != '\0')
		(void)config_check_ldap(p->cfg, ldap_problem, p);
	check_audit_peers(p);
	if (p->cfg->proxy_protocol && p->cfg->proxy_from[0] == '\0')
		proxy_problem(p);
	return p->errors == 0 ? EG_OK : EG_ERR_CONFIG;
}

static void
config_begin(struct cfg_parse *p, const char *name, struct eg_config *out,
    const struct config_diag *diag)
{
	memset(out, 0, sizeof(*out));
	memset(p, 0, sizeof(*p));
	p->file = name;
	p->diag = diag;
	p->cfg = out;
}

int
config_load(const char *path, struct eg_config *out, const struct config_diag *diag)
{
	struct cfg_parse p;
	FILE *f;

	config_begin(&p, path, out, diag);
	if ((f = fopen(path, "r")) == NULL) {
		cfg_error(&p, "cannot open: %s", strerror(errno));
		return EG_ERR_CONFIG;
	}
	set_dir(&p, path);
	eg_strlcpy(out->path, path, sizeof(out->path));
	return config_read(&p, f);
}

int
config_load_text(const char *name, const char *text, size_t len, struct eg_config *out,
    const struct config_diag *diag)
{
	struct cfg_parse p;
	FILE *f;

	config_begin(&p, name, out, diag);
	/* "r" never writes through the buffer; glibc reads it as bytes, NULs and all. */
	if ((f = fmemopen((void *)text, len, "r")) == NULL) {
		cfg_error(&p, "cannot read: %s", strerror(errno));
		return EG_ERR_CONFIG;
	}
	set_dir(&p, name);
	eg_strlcpy(out->path, name, sizeof(out->path));
	return config_read(&p, f);
}
