/*
 * main.c - bk_main, the program around the daemon: settings, signals, start, and a clean
 * stop on SIGTERM or SIGINT.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/log.h"
#include "eidgate/util.h"

#include "demo/internal.h"

/* Written in bk_main before any thread exists, so every thread may read it unlocked. */
static char bk_name_buf[BK_MAX_NAME + 1];

const char *
bk_name(void)
{
	return bk_name_buf;
}

static unsigned int
bound_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

	return info != NULL ? info->port : 0;
}

/* SIGTERM and SIGINT are blocked before any thread exists, so every thread inherits
 * the mask and only sigwait() in the main thread ever sees them. */
static int
block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return -1;
	return pthread_sigmask(SIG_BLOCK, set, NULL) == 0 ? 0 : -1;
}

static void
wait_for_stop(const sigset_t *set)
{
	int sig;

	while (sigwait(set, &sig) != 0)
		;
	log_info("%s: signal %d, stopping", bk_name(), sig);
}

static int
serve(const struct bk_opts *o, const struct bk_app *app, const sigset_t *set)
{
	struct MHD_Daemon *d;

	if (bk_slow_start() != 0) {
		fprintf(stderr, "eidgate: cannot start the slow-request timer\n");
		return 1;
	}
	d = bk_daemon_start(o, app);
	if (d == NULL) {
		fprintf(stderr, "eidgate: cannot listen on %s\n", o->bo_listen);
		bk_slow_stop();
		return 1;
	}
	if (o->bo_ipv6)
		printf("listening on [%s]:%u\n", o->bo_host, bound_port(d));
	else
		printf("listening on %s:%u\n", o->bo_host, bound_port(d));
	fflush(stdout);
	wait_for_stop(set);
	/* Suspended /__slow requests must be resumed before the daemon may stop. */
	bk_slow_stop();
	MHD_stop_daemon(d);
	return 0;
}

int
bk_main(int argc, char **argv, const struct bk_app *app)
{
	struct bk_opts o;
	sigset_t set;
	int rc;

	memset(&o, 0, sizeof(o));
	o.bo_name = app->ba_default_name;
	rc = bk_parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	log_init("eidgate", LOG_LVL_INFO);
	eg_strlcpy(bk_name_buf, o.bo_name, sizeof(bk_name_buf));
	bk_big_init();
	/* jansson seeds its hash function lazily; do it before MHD's threads race to. */
	json_object_seed(0);
	if (block_signals(&set) != 0) {
		fprintf(stderr, "eidgate: cannot set up signal handling\n");
		return 1;
	}
	if (app->ba_init != NULL && app->ba_init() != 0) {
		fprintf(stderr, "eidgate: cannot initialise the %s backend\n", bk_name());
		return 1;
	}
	if (o.bo_journal != NULL && bk_journal_open(o.bo_journal) != 0) {
		fprintf(stderr, "eidgate: cannot open the journal %s\n", o.bo_journal);
		return 1;
	}
	rc = serve(&o, app, &set);
	if (app->ba_fini != NULL)
		app->ba_fini();
	return rc;
}
