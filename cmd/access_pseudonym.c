/* access_pseudonym.c - `eidgate access pseudonym` (issue 16 item 5). */
#include <stdio.h>

#include "cmd/internal.h"

int
cmd_access_pseudonym(const char *config, const char *backend, const char *nrn,
    const char *key_id)
{
	(void)config;
	(void)backend;
	(void)nrn;
	(void)key_id;
	fprintf(stderr, "eidgate: access pseudonym: not yet\n");
	return EXIT_FAILED;
}
