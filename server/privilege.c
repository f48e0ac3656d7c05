/*
 * privilege.c - started as root (to bind port 443 and read root's 0600 keys), the
 * gateway becomes its service user ([process] user) once the listening socket is bound
 * and the keys, the access log and the control socket are open, before any event loop
 * accepts a connection. Started as another user it stays that user: nothing to drop.
 *
 * What root opened stays usable through its descriptors: the access log's LMDB files and
 * the control socket live in a directory root owns (mode 0700), so the service user can
 * write the log it was handed but can neither remove nor replace its files. What the
 * gateway reads again after the drop must be readable by that user: the configuration
 * and policy (SIGHUP), the trust anchors and CRLs, the LDAP password file (read when the
 * rights pages first write). The keys are never read here: the key process (keys/),
 * forked before, holds them and stays root.
 *
 * The order is the one OpenSSH's permanently_set_uid() and relayd's proc.c use: groups
 * first (setgroups needs root), then the gid, then the uid; each checked, and then
 * checked that root cannot be had back. glibc applies set*id to every thread of the
 * process, so the threads started before (access-log writer, control socket) drop too.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/request.h"
#include "server/internal.h"

/* The user's uid and primary gid; -1 (logged) when it cannot be looked up. */
static int
lookup_user(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int r;

	r = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (res == NULL) {
		if (r == 0)
			log_warnx("[process] user %s: no such user (create it, or name the user "
			    "the gateway runs as after binding its port)", name);
		else
			log_warnx("[process] user %s: cannot be looked up: %s", name, strerror(r));
		return -1;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return 0;
}

/* Every one of real, effective and saved ids is the target, the only group is gid, and
 * root is out of reach: setuid(0) must fail. */
static int
verify_dropped(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (getresuid(&ru, &eu, &su) != 0 || ru != uid || eu != uid || su != uid ||
	    getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid) {
		log_warnx("privilege drop: ids are not all those of [process] user");
		return -1;
	}
	n = getgroups(2, groups);
	if (n < 0 || n > 1 || (n == 1 && groups[0] != gid)) {
		log_warnx("privilege drop: supplementary groups remain");
		return -1;
	}
	if (setuid(0) == 0 || setgid(0) == 0) {
		log_warnx("privilege drop: root could be regained");
		return -1;
	}
	return 0;
}

/* The witness writes its mirrors of the peers' logs from the serving process, after the
 * drop, in <db>/peers (made at start while root: the log's directory is root's). */
static int
give_peers_dir(const struct eg_config *cfg, uid_t uid, gid_t gid)
{
	char dir[1100];

	if (cfg->audit_peers[0] == '\0')
		return 0;
	snprintf(dir, sizeof(dir), "%s/peers", cfg->audit_db);
	if (chown(dir, uid, gid) != 0) {
		log_warn("privilege drop: chown %s", dir);
		return -1;
	}
	return 0;
}

int
privilege_drop(const struct eg_config *cfg)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return 0;       /* started as its user: it runs as that user */
	if (lookup_user(cfg->process_user, &uid, &gid) != 0)
		return -1;
	if (uid == 0) {
		log_info("[process] user %s is root: running as root", cfg->process_user);
		return 0;
	}
	if (give_peers_dir(cfg, uid, gid) != 0)
		return -1;
	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0) {
		log_warn("privilege drop to %s", cfg->process_user);
		return -1;
	}
	if (verify_dropped(uid, gid) != 0)
		return -1;
	/* The gateway never runs another program; should something make it, that program
	 * gets no privileges either (set-uid bits and file capabilities are ignored). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		log_warn("privilege drop: PR_SET_NO_NEW_PRIVS");
		return -1;
	}
	log_info("running as %s (uid %u, gid %u)", cfg->process_user, (unsigned)uid,
	    (unsigned)gid);
	return 0;
}
