/*
 * receipt.c - `eidgate audit receipt --db DIR SEQ [HASH]`: the decision receipt of one
 * record, from the log itself (audit.h, "Decision receipts"), as the gateway's
 * /eidgate/audit/api/receipt gives it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/audit.h"
#include "eidgate/err.h"
#include "cmd/internal.h"

static const char usage_receipt[] =
    "usage: eidgate audit receipt --db DIR SEQ [HASH]\n"
    "Prints, as one line of JSON, the receipt of record SEQ of the log in DIR: its hash,\n"
    "request id, kind, decision and backend, and the first signed checkpoint at or after\n"
    "it, after checking that the chain links the record to that checkpoint; with HASH\n"
    "(64 hex digits, as a receipt or X-Eidgate-Record's holder keeps it), also that the\n"
    "record still has it. \"reason\": confirmed, not-yet-checkpointed, hash-mismatch,\n"
    "no-such-record. Exit 0 when confirmed, 1 otherwise.\n";

/* Takes --db DIR (or --db=DIR) and --help out; the rest are positional. */
static int
receipt_args(int argc, char **argv, const char **db, const char **pos, size_t *npos)
{
	int i;

	*npos = 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return -1;
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			*db = argv[++i];
		else if (strncmp(argv[i], "--db=", 5) == 0)
			*db = argv[i] + 5;
		else if (argv[i][0] != '-' && *npos < 2)
			pos[(*npos)++] = argv[i];
		else
			return EXIT_USAGE;
	}
	return *db != NULL && *npos >= 1 ? EXIT_OK : EXIT_USAGE;
}

int
cmd_audit_receipt(int argc, char **argv)
{
	const char *db = NULL, *pos[2] = { NULL, NULL }, *why = "";
	char instance[AUDIT_INSTANCE_MAX + 1] = "", err[512] = "", *out;
	struct audit_receipt_ask a;
	struct audit_receipt rc;
	size_t npos;
	int r, status = 500;

	if ((r = receipt_args(argc, argv, &db, pos, &npos)) < 0) {
		fputs(usage_receipt, stdout);
		return EXIT_OK;
	}
	if (r != EXIT_OK) {
		fputs(usage_receipt, stderr);
		return EXIT_USAGE;
	}
	if (audit_instance_of(db, instance, sizeof(instance), err, sizeof(err)) != EG_OK) {
		fprintf(stderr, "eidgate: audit receipt: %s\n", err[0] ? err :
		    "the log names no instance");
		return EXIT_FAILED;
	}
	if (audit_receipt_ask_parse(instance, pos[0], pos[1], &a, &why) != EG_OK) {
		fprintf(stderr, "eidgate: audit receipt: %s\n", why);
		return EXIT_USAGE;
	}
	r = audit_receipt_dir(db, a.seq, &rc, err, sizeof(err));
	if (r == EG_ERR_AUDIT) {
		fprintf(stderr, "eidgate: audit receipt: %s\n", err);
		return EXIT_FAILED;
	}
	if ((out = audit_receipt_json(instance, &a, r == EG_OK, &rc, &status)) == NULL) {
		fprintf(stderr, "eidgate: audit receipt: out of memory\n");
		return EXIT_FAILED;
	}
	printf("%s\n", out);
	free(out);
	if (fflush(stdout) != 0)
		return EXIT_FAILED;
	return status == 200 ? EXIT_OK : EXIT_FAILED;
}
