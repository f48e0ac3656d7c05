/*
 * fuzz_config.c - the configuration file (core/config.c) through config_load_text(),
 * which reads text exactly as config_load() reads a file (same lines, same limits).
 *
 * Input: the file's bytes.
 * Invariants: a load fails exactly when a problem was reported, each with a line number
 * within the file (0 for missing keys); a loaded configuration has NUL-terminated
 * strings, a port of 1..65535 and values within their rows' bounds.
 */
#include "fuzz.h"
#include "eidgate/config.h"
#include "eidgate/util.h"

struct diags {
	int n, maxline;
};

static void
emit(void *arg, const char *file, int line, const char *msg)
{
	struct diags *d = arg;

	FUZZ_ASSERT(strcmp(file, "fuzz.conf") == 0 && msg[0] != '\0');
	FUZZ_ASSERT(line >= 0 && line <= d->maxline);
	d->n++;
}

/* config_load_text reads what config_load reads: a seed loaded both ways gives the same
 * configuration, byte for byte. */
static void
same_as_file(const char *path)
{
	static struct eg_config a, b;
	char *text = NULL;
	size_t len = 0;

	if (eg_read_file(path, 1 << 20, &text, &len) != EG_OK)
		return;                 /* not run from the top of the tree */
	if (config_load(path, &a, NULL) != EG_OK ||
	    config_load_text(path, text, len, &b, NULL) != EG_OK ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	free(text);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	same_as_file("tests/fuzz/corpus/fuzz_config/write-config");
	same_as_file("tests/fuzz/corpus/fuzz_config/relative");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eg_config cfg;
	struct diags d = { 0, 1 };
	struct config_diag diag = { emit, &d };
	size_t i;
	int r;

	for (i = 0; i < size; i++)
		d.maxline += data[i] == '\n';
	r = config_load_text("fuzz.conf", (const char *)data, size, &cfg, &diag);
	FUZZ_ASSERT(r == EG_OK || r == EG_ERR_CONFIG);
	FUZZ_ASSERT((r == EG_OK) == (d.n == 0));
	if (r != EG_OK)
		return 0;
	FUZZ_ASSERT(FUZZ_TERMINATED(cfg.listen_host) && FUZZ_TERMINATED(cfg.tls_cert) &&
	    FUZZ_TERMINATED(cfg.tls_key) && FUZZ_TERMINATED(cfg.public_origin) &&
	    FUZZ_TERMINATED(cfg.web_root) && FUZZ_TERMINATED(cfg.trust_anchors) &&
	    FUZZ_TERMINATED(cfg.session_key_file) && FUZZ_TERMINATED(cfg.ldap_uri) &&
	    FUZZ_TERMINATED(cfg.policy_file) && FUZZ_TERMINATED(cfg.metrics_allow_from) &&
	    FUZZ_TERMINATED(cfg.metrics_certificates) && FUZZ_TERMINATED(cfg.audit_db) &&
	    FUZZ_TERMINATED(cfg.assertion_key) && FUZZ_TERMINATED(cfg.assertion_issuer));
	FUZZ_ASSERT(cfg.listen_port >= 1 && cfg.listen_port <= 65535);
	FUZZ_ASSERT(cfg.threads >= 0 && cfg.threads <= 256);
	FUZZ_ASSERT(cfg.idle_timeout_ms >= 1000 && cfg.absolute_timeout_ms >= 1000);
	FUZZ_ASSERT(cfg.ocsp_timeout_ms >= 10 && cfg.ldap_timeout_ms >= 10);
	FUZZ_ASSERT(cfg.audit_map_size >= (1ULL << 20) && cfg.audit_map_size <= (1ULL << 42));
	return 0;
}
