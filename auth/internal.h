/* internal.h - shared between the files of auth/ only. */
#ifndef EIDGATE_AUTH_INTERNAL_H
#define EIDGATE_AUTH_INTERNAL_H

#include <openssl/x509.h>

#include "eidgate/auth.h"

/* Profile checks and identity extraction of a leaf; see auth.h for the order. */
int auth_profile(X509 *x, struct eg_identity *id);

#endif
