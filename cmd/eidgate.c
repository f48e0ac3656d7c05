/*
 * eidgate.c - the `eidgate` command: dispatches to the module that owns each
 * subcommand (PRODUCT.md §1).
 */
#include <stdio.h>
#include <string.h>

#include "eidgate/audit.h"
#include "eidgate/auth.h"
#include "eidgate/config.h"
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/policy.h"
#include "eidgate/server.h"
#include "cmd/internal.h"

static const char usage_text[] =
    "usage: eidgate COMMAND ...\n"
    "\n"
    "  serve -c FILE                 run the gateway in the foreground\n"
    "  check-config -c FILE          validate a configuration file\n"
    "  check-config --keys           list every key with its type, default and range\n"
    "  setup -c FILE                 create the keys a first start needs (never\n"
    "                                overwrites one)\n"
    "  policy check FILE             lint a policy file\n"
    "  policy explain -c FILE --nrn N [--facility F] METHOD PATH\n"
    "                                why a request is allowed or denied\n"
    "  cert inspect FILE             show what eidgate reads from a certificate\n"
    "  cert verify -c FILE CERT      validate a certificate as a login would\n"
    "  audit {query,export,tail,stats,verify,checkpoint,archive,replay,receipt,syslog}\n"
    "        --db DIR ...\n"
    "                                the access log (see eidgate audit --help)\n"
    "  directory {init,add-organisation,add-facility,add-vte,remove-vte,migrate}\n"
    "        -c FILE ...\n"
    "                                bootstrap the directory (platform operator)\n"
    "  access who-can -c FILE METHOD PATH | what-can -c FILE --nrn N\n"
    "                                access review: who can make a request, what a\n"
    "                                person can reach\n"
    "  access pseudonym -c FILE --backend B --nrn N\n"
    "                                the pseudonym a backend receives (recorded)\n";

static int
usage(FILE *f, int code)
{
	fputs(usage_text, f);
	return code;
}

/* Accepts "-c FILE" as argv[1..2]; returns the file or NULL. */
static const char *
config_arg(int argc, char **argv)
{
	if (argc == 3 && (strcmp(argv[1], "-c") == 0 || strcmp(argv[1], "--config") == 0))
		return argv[2];
	return NULL;
}

static int
cmd_check_config(int argc, char **argv)
{
	struct eg_config cfg;
	const char *file = config_arg(argc, argv);

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("usage: eidgate check-config -c FILE\n"
		    "       eidgate check-config --keys\n");
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--keys") == 0)
		return cmd_config_keys();
	if (file == NULL) {
		fprintf(stderr, "eidgate: usage: eidgate check-config -c FILE | --keys\n");
		return 2;
	}
	if (config_load(file, &cfg, NULL) != EG_OK)
		return 1;
	printf("%s: configuration OK\n", file);
	return 0;
}

static int
cmd_serve(int argc, char **argv)
{
	const char *file = config_arg(argc, argv);

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("usage: eidgate serve -c FILE\n");
		return 0;
	}
	if (file == NULL) {
		fprintf(stderr, "eidgate: usage: eidgate serve -c FILE\n");
		return 2;
	}
	return server_serve(file);
}

int
main(int argc, char **argv)
{
	log_init("eidgate", LOG_LVL_INFO);
	if (argc < 2)
		return usage(stderr, 2);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout, 0);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "check-config") == 0)
		return cmd_check_config(argc - 1, argv + 1);
	if (strcmp(argv[1], "policy") == 0)
		return cmd_policy(argc - 1, argv + 1);
	if (strcmp(argv[1], "audit") == 0)
		return cmd_audit(argc - 1, argv + 1);
	if (strcmp(argv[1], "cert") == 0)
		return cmd_cert(argc - 1, argv + 1);
	if (strcmp(argv[1], "directory") == 0)
		return cmd_directory(argc - 1, argv + 1);
	if (strcmp(argv[1], "setup") == 0)
		return cmd_setup(argc - 1, argv + 1);
	if (strcmp(argv[1], "access") == 0)
		return cmd_access(argc - 1, argv + 1);
	fprintf(stderr, "eidgate: unknown command \"%s\"\n", argv[1]);
	return usage(stderr, 2);
}
