/*
 * privilege_test.c - the privilege drop of `eidgate serve` (server/privilege.c), each
 * case in a child process since a drop cannot be undone: as root, to "nobody" (ids,
 * groups, root out of reach, no new privileges), to a user that does not exist (refused,
 * nothing changed), to root (stays root); started as another user, nothing happens.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eidgate/config.h"
#include "eidgate/util.h"
#include "server/internal.h"
#include "check.h"

static struct eg_config cfg;

/* Runs fn in a child and returns its exit status (0: every check in it held). */
static int
in_child(int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(fn());    /* _exit: a dropped child must not run the parent's atexit */
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int
drop_to_nobody(void)
{
	struct passwd *pw = getpwnam("nobody");
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[4];
	int bad = 0;

	eg_strlcpy(cfg.process_user, "nobody", sizeof(cfg.process_user));
	if (pw == NULL || privilege_drop(&cfg) != 0)
		return 1;
	if (getresuid(&ru, &eu, &su) != 0 || ru != pw->pw_uid || eu != pw->pw_uid ||
	    su != pw->pw_uid)
		bad |= 2;
	if (getresgid(&rg, &eg, &sg) != 0 || rg != pw->pw_gid || eg != pw->pw_gid ||
	    sg != pw->pw_gid)
		bad |= 4;
	if (getgroups(4, groups) != 1 || groups[0] != pw->pw_gid)
		bad |= 8;
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
		bad |= 16;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		bad |= 32;
	return bad;
}

static int
drop_to_missing_user(void)
{
	eg_strlcpy(cfg.process_user, "eidgate-test-no-such-user", sizeof(cfg.process_user));
	if (privilege_drop(&cfg) != -1)
		return 1;
	return geteuid() == 0 && getuid() == 0 ? 0 : 2;
}

static int
drop_to_root(void)
{
	eg_strlcpy(cfg.process_user, "root", sizeof(cfg.process_user));
	if (privilege_drop(&cfg) != 0)
		return 1;
	return geteuid() == 0 && getuid() == 0 ? 0 : 2;
}

/* Started as a user other than root: whatever [process] user says, nothing changes. */
static int
started_as_other_user(void)
{
	uid_t before = geteuid();
	struct passwd *pw;

	if (before == 0) {
		if ((pw = getpwnam("nobody")) == NULL || setresgid(pw->pw_gid, pw->pw_gid,
		    pw->pw_gid) != 0 || setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
			return 1;
		before = pw->pw_uid;
	}
	eg_strlcpy(cfg.process_user, "eidgate-test-no-such-user", sizeof(cfg.process_user));
	if (privilege_drop(&cfg) != 0)
		return 2;
	return geteuid() == before ? 0 : 4;
}

int
main(void)
{
	CHECK(in_child(started_as_other_user) == 0);
	if (geteuid() == 0 && getpwnam("nobody") != NULL) {
		CHECK(in_child(drop_to_nobody) == 0);
		CHECK(in_child(drop_to_missing_user) == 0);
		CHECK(in_child(drop_to_root) == 0);
	} else {
		printf("note: not root, only the no-op case runs\n");
	}
	return check_report();
}
