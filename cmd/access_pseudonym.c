/*
 * access_pseudonym.c - `eidgate access pseudonym -c FILE --backend B --nrn N [--key-id K]`
 * (issue 16 item 5): the pseudonym a backend declared `subject=pseudonym` receives for a
 * person, for an officer who has to tie a backend's record to someone.
 *
 * The pseudonym keys live in the key process of the running gateway: the command asks
 * the gateway through its control socket (root and the gateway's user only, as for
 * `directory add-vte`), and the gateway records the lookup in its access log (kind
 * "pseudonym": who asked, backend, person, key id) before it answers. With no gateway
 * running, the command reads the keys itself (it must be able to: root) and writes that
 * record directly. Either way, a lookup that cannot be recorded is not answered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "eidgate/audit.h"
#include "eidgate/auth.h"
#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/keys.h"
#include "eidgate/log.h"
#include "eidgate/policy.h"
#include "eidgate/record.h"
#include "eidgate/util.h"
#include "cmd/internal.h"

/* Asks the running gateway: 1 answered (ans: "ok KID PSEUDONYM" or "error ..."), 0 no
 * gateway listens, -1 the exchange failed. */
static int
ask_gateway(const struct eg_config *cfg, const struct rec_lookup *l, char *ans, size_t len)
{
	json_t *j;
	char *msg;
	ssize_t n;
	int fd, rc = -1;

	if ((fd = cmd_control_connect(cfg)) < 0)
		return fd == CMD_NO_GATEWAY ? 0 : -1;
	j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "pseudonym", "request_id",
	    l->request_id, "actor", l->actor, "backend", l->backend, "target", l->target);
	if (j != NULL && l->key_id != NULL)
		json_object_set_new(j, "key_id", json_string(l->key_id));
	msg = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (msg != NULL) {
		size_t m = strlen(msg);
		if (write(fd, msg, m) == (ssize_t)m && write(fd, "\n", 1) == 1 &&
		    (n = read(fd, ans, len - 1)) > 0) {
			ans[n] = '\0';
			ans[strcspn(ans, "\n")] = '\0';
			rc = 1;
		}
		free(msg);
	}
	close(fd);
	return rc;
}

/* No gateway runs: the command holds the keys and the log for one lookup. */
static int
direct(const struct eg_config *cfg, struct rec_lookup *l, char *ans, size_t len)
{
	char kid[KEYS_PSEUDONYM_KID + 1], ps[KEYS_PSEUDONYM_LEN + 1];
	const struct policy_backend *b;
	struct policy *p = NULL;
	struct audit_options ao;
	struct audit_log *log = NULL;
	struct keys *keys = NULL;
	int rc = EG_ERR_AUDIT;

	if (policy_load(cfg->policy_file, &p, NULL) != EG_OK) {
		snprintf(ans, len, "error the policy %s does not load", cfg->policy_file);
		return EG_ERR_POLICY;
	}
	b = policy_backend_find(p, l->backend);
	l->allow = b != NULL && b->subject == POLICY_SUBJECT_PSEUDONYM;
	l->reason = b == NULL ? "unknown-backend" : l->allow ? "resolved" :
	    "not-a-pseudonym-backend";
	policy_free(p);
	memset(&ao, 0, sizeof(ao));
	ao.dir = cfg->audit_db;
	ao.map_size = cfg->audit_map_size;
	ao.sync = AUDIT_SYNC_FULL;
	ao.signing_key = cfg->audit_signing_key[0] ? cfg->audit_signing_key : NULL;
	if (audit_open(&ao, &log) != EG_OK || record_pseudonym(log, l) != EG_OK) {
		snprintf(ans, len, "error the access log cannot be written");
		goto out;
	}
	if (!l->allow) {
		snprintf(ans, len, "error %s", l->reason);
		rc = EG_ERR_DENIED;
		goto out;
	}
	if (keys_open_local(cfg, &keys) != EG_OK) {
		snprintf(ans, len, "error the keys cannot be read");
		rc = EG_ERR_KEYS;
		goto out;
	}
	rc = keys_pseudonym(keys, l->key_id, l->backend, l->target, kid, ps);
	if (rc == EG_OK)
		snprintf(ans, len, "ok %s %s", kid, ps);
	else
		snprintf(ans, len, "error %s", rc == EG_ERR_NOT_FOUND ? "no such pseudonym key" :
		    eg_err_code(rc));
	explicit_bzero(ps, sizeof(ps));
out:
	keys_close(keys);
	audit_close(log);
	return rc;
}

int
cmd_access_pseudonym(const char *config, const char *backend, const char *nrn,
    const char *key_id)
{
	struct eg_config cfg;
	struct oplog ol;
	struct rec_lookup l;
	char ans[256] = "", masked[16], kid[16], ps[64];
	int sent;

	if (auth_nrn_check(nrn) != EG_OK) {
		fprintf(stderr, "eidgate: access pseudonym: --nrn is not a national number\n");
		return EXIT_USAGE;
	}
	if (key_id != NULL && (strlen(key_id) != KEYS_PSEUDONYM_KID || !eg_all_hex(key_id))) {
		fprintf(stderr, "eidgate: access pseudonym: --key-id is 8 hex digits\n");
		return EXIT_USAGE;
	}
	if (config_load(config, &cfg, NULL) != EG_OK)
		return EXIT_FAILED;
	if (oplog_init(&ol, &cfg) != 0)
		return EXIT_FAILED;
	memset(&l, 0, sizeof(l));
	l.request_id = ol.request_id;
	l.actor = ol.actor;
	l.backend = backend;
	l.target = nrn;
	l.key_id = key_id;
	sent = ask_gateway(&cfg, &l, ans, sizeof(ans));
	if (sent == 0)
		(void)direct(&cfg, &l, ans, sizeof(ans));
	log_mask_nrn(nrn, masked, sizeof(masked));
	if (sscanf(ans, "ok %15s %63s", kid, ps) != 2) {
		fprintf(stderr, "eidgate: access pseudonym: %s: %s\n", masked,
		    sent < 0 ? "the gateway did not answer" : ans[0] ? ans : "no answer");
		return EXIT_FAILED;
	}
	printf("backend %s, person %s: sub %s (sub_kid %s); recorded as %s\n", backend, masked,
	    ps, kid, ol.request_id);
	explicit_bzero(ans, sizeof(ans));
	explicit_bzero(ps, sizeof(ps));
	return EXIT_OK;
}
