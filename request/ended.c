/*
 * ended.c - ending sessions before their time (request.h req_end_sessions): at this
 * instance at once, and through the directory (dirsess.c) at every other one within a
 * second of its change feed. A logout and an administrator's "end sessions" share it.
 */
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/session.h"
#include "request/internal.h"

int
req_end_sessions(struct request *r, const char *nrn, const char *session, int64_t now,
    int64_t until, int *shared)
{
	int err;

	*shared = 0;
	if (nrn != NULL && session_end_person(r->gw->ends, nrn, now, until, now) != EG_OK)
		return EG_ERR_NOMEM;
	if (session != NULL && session_end(r->gw->ends, session, until, now) != EG_OK)
		return EG_ERR_NOMEM;
	/* Failing this, the sessions have still ended here (and in the access log): the
	 * caller says they may live on at the other instances until those learn it. */
	if (nrn != NULL)
		err = dir_sessions_end_person(r->gw->dsessions, nrn, now, until);
	else
		err = dir_sessions_end(r->gw->dsessions, session, until);
	*shared = err == EG_OK;
	if (err != EG_OK)
		log_warnx("request %s: %s%s ended here, but not in the directory: the other "
		    "instances refuse %s only when they learn it otherwise", r->id,
		    nrn != NULL ? "the person's sessions" : "session ", nrn != NULL ? "" : session,
		    nrn != NULL ? "them" : "it");
	return EG_OK;
}
