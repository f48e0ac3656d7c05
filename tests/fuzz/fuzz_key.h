/*
 * fuzz_key.h - the fixed session key of fuzz_session.c and fuzz_challenge.c: 32 known
 * bytes written to a 0600 file under /tmp (session_key_load wants a file), loaded, and
 * the file removed; and the derived sealing keys, so that a target can seal contents of
 * its own choosing and reach the JSON behind the seal.
 */
#ifndef EIDGATE_FUZZ_KEY_H
#define EIDGATE_FUZZ_KEY_H

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "eidgate/session.h"

static const unsigned char fuzz_master[32] = "eidgate fuzz key, not a secret!";

static inline struct session_key *
fuzz_session_key(void)
{
	char path[] = "/tmp/eidgate-fuzz-key-XXXXXX";
	struct session_key *k = NULL;
	int fd = mkstemp(path);

	if (fd < 0 || fchmod(fd, 0600) != 0 ||
	    write(fd, fuzz_master, sizeof(fuzz_master)) != (ssize_t)sizeof(fuzz_master)) {
		perror(path);
		abort();
	}
	close(fd);
	if (session_key_load(path, &k) != EG_OK)
		abort();
	unlink(path);
	return k;
}

/* The key session.c derives for label ("eidgate session v1", "eidgate challenge v1"). */
static inline void
fuzz_derived(const char *label, unsigned char out[32])
{
	unsigned int len = 0;

	if (HMAC(EVP_sha256(), fuzz_master, 32, (const unsigned char *)label, strlen(label),
	    out, &len) == NULL || len != 32)
		abort();
}

#endif
