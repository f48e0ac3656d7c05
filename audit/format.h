/* output.h - result printers for `eidgate audit query` (cli.c). */
#ifndef EIDGATE_AUDIT_OUTPUT_H
#define EIDGATE_AUDIT_OUTPUT_H

#include <stdio.h>

#include "eidgate/audit.h"

enum audit_fmt { AUDIT_FMT_TABLE, AUDIT_FMT_JSON, AUDIT_FMT_CSV };

#define TABLE_NCOLS 12
/* Rows held before printing: the table aligns columns over what it holds, so a page
 * bounds memory on a huge result while typical results align perfectly. Widths only grow
 * from page to page. */
#define TABLE_PAGE 512

struct audit_out {
	enum audit_fmt fmt;
	FILE *fp;
	int header_done;
	size_t widths[TABLE_NCOLS];
	char *cells[TABLE_PAGE][TABLE_NCOLS];   /* sanitised; NULL = absent */
	size_t cellw[TABLE_PAGE][TABLE_NCOLS];
	size_t nrows;
};

void audit_out_init(struct audit_out *o, enum audit_fmt fmt, FILE *fp);
/* Query callback: prints one record; non-zero (stop the query) on a write error. */
int audit_out_record(const struct audit_record *r, void *arg);
/* Prints what is held and frees it. 0, or -1 when writing failed. */
int audit_out_finish(struct audit_out *o);

#endif
