/*
 * fuzz_key.h - the keys of fuzz_session.c and fuzz_challenge.c: a fixed session key (32
 * known bytes) written to a 0600 file under /tmp, loaded into this process's keys
 * (keys_open_local, as the command-line tools hold them), and the file removed. A target
 * seals contents of its own choosing with keys_seal to reach the JSON behind the seal.
 */
#ifndef EIDGATE_FUZZ_KEY_H
#define EIDGATE_FUZZ_KEY_H

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eidgate/config.h"
#include "eidgate/keys.h"
#include "eidgate/util.h"

static const unsigned char fuzz_master[32] = "eidgate fuzz key, not a secret!";

static inline struct keys *
fuzz_session_key(void)
{
	char path[] = "/tmp/eidgate-fuzz-key-XXXXXX";
	struct eg_config cfg;
	struct keys *k = NULL;
	int fd = mkstemp(path);

	if (fd < 0 || fchmod(fd, 0600) != 0 ||
	    write(fd, fuzz_master, sizeof(fuzz_master)) != (ssize_t)sizeof(fuzz_master)) {
		perror(path);
		abort();
	}
	close(fd);
	memset(&cfg, 0, sizeof(cfg));
	eg_strlcpy(cfg.session_key_file, path, sizeof(cfg.session_key_file));
	if (keys_open_local(&cfg, &k) != EG_OK)
		abort();
	unlink(path);
	return k;
}

#endif
