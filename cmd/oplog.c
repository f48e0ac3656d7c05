/*
 * oplog.c - the access-log records of the platform operator's changes of rights
 * (eidgate directory add-vte, remove-vte; PRODUCT.md §7: every change of rights is
 * recorded, before the directory is written and after).
 *
 * A running gateway holds its log's only writer: the record goes through its control
 * socket (server/control.c) into the same chain. With no gateway running, the command
 * opens the log itself. Either way a record that cannot be written stops the change.
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "eidgate/audit.h"
#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/record.h"
#include "eidgate/util.h"
#include "cmd/internal.h"

int
oplog_init(struct oplog *ol, const struct eg_config *cfg)
{
	unsigned char rnd[8];
	struct passwd *pw = getpwuid(geteuid());

	memset(ol, 0, sizeof(*ol));
	ol->cfg = cfg;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	memcpy(ol->request_id, "op-", 3);
	eg_hex(rnd, sizeof(rnd), ol->request_id + 3);
	snprintf(ol->actor, sizeof(ol->actor), "operator:%s", pw != NULL ? pw->pw_name : "root");
	return 0;
}

/* One JSON line for the control socket; NULL when out of memory. */
static char *
message(const struct rec_operator *op)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "kind", op->outcome ? "outcome" : "rights", "request_id", op->request_id,
	    "actor", op->actor, "action", op->action, "target", op->target, "role", op->role,
	    "scope", op->scope, "decision", op->allow ? "allow" : "deny", "reason", op->reason);
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

int
cmd_control_connect(const struct eg_config *cfg)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", cfg->audit_db,
	    EG_CONTROL_SOCKET) >= sizeof(sa.sun_path))
		return CMD_NO_GATEWAY;  /* no gateway could listen at such a path either */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return errno == ENOENT || errno == ECONNREFUSED ? CMD_NO_GATEWAY : -1;
	}
	return fd;
}

/* Sends op to the running gateway: 1 sent and accepted, 0 no gateway listens, -1 it
 * refused or failed (why set). */
static int
via_gateway(const struct oplog *ol, const struct rec_operator *op, char *why, size_t whylen)
{
	char *msg, resp[128] = "";
	ssize_t n;
	int fd, rc = -1;

	if ((fd = cmd_control_connect(ol->cfg)) < 0)
		return fd == CMD_NO_GATEWAY ? 0 : -1;
	if ((msg = message(op)) != NULL) {
		size_t len = strlen(msg);
		if (write(fd, msg, len) == (ssize_t)len && write(fd, "\n", 1) == 1 &&
		    (n = read(fd, resp, sizeof(resp) - 1)) > 0) {
			resp[n] = '\0';
			rc = strncmp(resp, "ok", 2) == 0 ? 1 : -1;
		}
		free(msg);
	}
	close(fd);
	if (rc < 0)
		snprintf(why, whylen, "the gateway did not take the record: %.100s",
		    resp[0] ? resp : "no answer");
	return rc;
}

/* No gateway runs: the command is the log's writer for the length of one record. */
static int
direct(const struct oplog *ol, const struct rec_operator *op)
{
	const struct eg_config *cfg = ol->cfg;
	struct audit_options ao;
	struct audit_log *log = NULL;
	int rc;

	memset(&ao, 0, sizeof(ao));
	ao.dir = cfg->audit_db;
	ao.map_size = cfg->audit_map_size;
	ao.sync = AUDIT_SYNC_FULL;
	ao.instance = cfg->audit_instance;
	ao.signing_key = cfg->audit_signing_key[0] ? cfg->audit_signing_key : NULL;
	if (audit_open(&ao, &log) != EG_OK)
		return EG_ERR_AUDIT;
	rc = record_operator(log, NULL, op);
	if (rc == EG_OK)
		rc = audit_flush(log);
	audit_close(log);
	return rc;
}

int
oplog_record(const struct oplog *ol, const char *action, const char *target,
    const char *role, const char *scope, int outcome, int allow, const char *reason)
{
	struct rec_operator op = { ol->request_id, ol->actor, action, target, role, scope,
		reason, allow, outcome };
	char why[160] = "";
	int sent = via_gateway(ol, &op, why, sizeof(why));

	if (sent == 1)
		return 0;
	if (sent == 0 && direct(ol, &op) == EG_OK)
		return 0;
	fprintf(stderr, "eidgate: directory: the access log cannot be written (%s): nothing "
	    "was changed%s\n", why[0] ? why : ol->cfg->audit_db,
	    outcome ? " after the change" : "");
	return 1;
}
