/*
 * grants.h - the grants and scopes the rights tests (rights_test.c, provenance_test.c)
 * build their callers from: a directory.h value from its parts.
 */
#ifndef EIDGATE_TEST_GRANTS_H
#define EIDGATE_TEST_GRANTS_H

#include <string.h>

#include "eidgate/directory.h"
#include "eidgate/util.h"

static inline struct dir_scope
scope(enum eg_scope_kind kind, const char *id, const char *org)
{
	struct dir_scope s;

	memset(&s, 0, sizeof(s));
	s.kind = kind;
	eg_strlcpy(s.id, id, sizeof(s.id));
	eg_strlcpy(s.org, org, sizeof(s.org));
	return s;
}

static inline struct eg_grant
grant(const char *role, enum eg_scope_kind kind, const char *sc, const char *org)
{
	struct eg_grant g;

	memset(&g, 0, sizeof(g));
	eg_strlcpy(g.role, role, sizeof(g.role));
	g.kind = kind;
	eg_strlcpy(g.scope, sc, sizeof(g.scope));
	eg_strlcpy(g.org, org, sizeof(g.org));
	return g;
}

#endif
