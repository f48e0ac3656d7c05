/* audit_archive.c - `eidgate audit archive`: retention (audit/archive.c has the file format). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "cmd/internal.h"

static const char usage_archive[] =
    "usage: eidgate audit archive --db DIR --before DATE --out FILE --key SIGNING_KEY.pem\n"
    "Moves the records older than DATE (ISO 8601 UTC; the oldest records up to the first\n"
    "one at or after DATE) into FILE, signed with the audit signing key, then removes\n"
    "them, their index entries and their checkpoints from the log in one transaction.\n"
    "FILE must not exist. The live log then starts after the archive; verify it with\n"
    "`eidgate audit verify --db DIR --key PUB.pem --archive FILE`.\n"
    "Only one process may write the log: stop the gateway (or run this during\n"
    "maintenance); archive refuses while a gateway holds DIR/writer.lock.\n";

int
cmd_audit_archive(int argc, char **argv)
{
	const char *db = NULL, *before = NULL, *out = NULL, *keypath = NULL;
	const struct opt opts[] = {
		{ "db", &db, NULL, 0, NULL, NULL, 0 },
		{ "before", &before, NULL, 0, NULL, NULL, 0 },
		{ "out", &out, NULL, 0, NULL, NULL, 0 },
		{ "key", &keypath, NULL, 0, NULL, NULL, 0 },
	};
	struct audit_key *key = NULL;
	uint64_t n = 0;
	int64_t before_us = 0;
	char err[512];
	int rc;

	rc = cmd_opts(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), "archive");
	if (rc < 0) {
		fputs(usage_archive, stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK)
		return rc;
	if (db == NULL || before == NULL || out == NULL || keypath == NULL) {
		fprintf(stderr, "eidgate: audit archive: --db, --before, --out and --key are "
		    "required\n");
		return EXIT_USAGE;
	}
	if (eg_parse_time(before, &before_us) != EG_OK) {
		fprintf(stderr, "eidgate: audit archive: --before: not an ISO 8601 time\n");
		return EXIT_USAGE;
	}
	if (audit_key_load(keypath, 1, &key, err, sizeof(err)) != EG_OK) {
		fprintf(stderr, "eidgate: audit archive: --key %s\n", err);
		return EXIT_FAILED;
	}
	rc = audit_archive_run(db, before_us, out, key, &n, err, sizeof(err));
	audit_key_free(key);
	if (rc != EG_OK) {
		fprintf(stderr, "eidgate: %s\n", err);
		return EXIT_FAILED;
	}
	if (n == 0)
		printf("nothing to archive: no record before %s\n", before);
	else
		printf("archived %" PRIu64 " records to %s\n", n, out);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
}
