/*
 * crl.c - the X509_STORE of trust anchors and the CRLs of [eid] crl, re-read without a
 * restart when the directory changes.
 *
 * The auth_ctx is shared read-only by every HTTP worker, so the store is never modified
 * in place: a change builds a complete new store off to the side and swaps the pointer
 * under a mutex. Readers take a reference (X509_STORE_up_ref) under the same mutex, so a
 * verification in flight finishes with the store it started with and the old store is
 * freed by whoever drops the last reference. The directory is looked at no more than
 * once per AUTH_CRL_CHECK_MS, by the one thread that claims the check; the others go on
 * with the current store meanwhile.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "auth/internal.h"

struct crl_state {
	pthread_mutex_t mu;
	X509_STORE *store;              /* current store; guarded by mu */
	int64_t next_check_ms;          /* guarded by mu */
	int checking;                   /* a thread is scanning; guarded by mu */
	unsigned char sig[32];          /* listing the current store was built from */
	unsigned char bad_sig[32];      /* last listing that failed to load (log once) */
	uint64_t gen;                   /* +1 per store swapped in; guarded by mu */
	int64_t loaded_s;               /* when the current store was built; guarded by mu */
	int64_t next_update_s;          /* its CRLs' earliest nextUpdate, 0 none; by mu */
	STACK_OF(X509) *roots;          /* borrowed from the auth_ctx, immutable */
	char dir[1024];                 /* "" = no CRLs configured */
};

/* Hashes what says "a file changed": name, size, mtime (ns), inode of every entry. Only
 * the checking thread touches the directory. */
static int
dir_signature(const char *dir, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;
	char path[2048];
	int r = -1;

	if (md == NULL || d == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path) ||
		    stat(path, &st) != 0)
			goto out;
		EVP_DigestUpdate(md, de->d_name, strlen(de->d_name) + 1);
		EVP_DigestUpdate(md, &st.st_size, sizeof(st.st_size));
		EVP_DigestUpdate(md, &st.st_mtim, sizeof(st.st_mtim));
		EVP_DigestUpdate(md, &st.st_ino, sizeof(st.st_ino));
	}
	r = EVP_DigestFinal_ex(md, out, NULL) == 1 ? 0 : -1;
out:
	if (d != NULL)
		closedir(d);
	EVP_MD_CTX_free(md);
	return r;
}

/* Warns at load time about a CRL past its nextUpdate: it will refuse every login of its
 * CA ("crl-expired") until a fresh one is put in place. */
static void
warn_if_stale(const char *file, X509_CRL *crl)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	char name[96];

	if (next != NULL && X509_cmp_current_time(next) < 0) {
		auth_name_short(X509_CRL_get_issuer(crl), name, sizeof(name));
		log_warnx("%s: CRL of '%s' has expired: logins of its certificates are refused",
		    file, name);
	}
}

/* Adds every CRL of a PEM file. Returns the number, -1 when the file cannot be read or
 * holds no CRL at all (e.g. caught half-written: the caller keeps the old store). */
static int
load_crl_file(const char *file, X509_STORE *store)
{
	FILE *f = fopen(file, "r");
	X509_CRL *crl;
	int n = 0;

	if (f == NULL) {
		log_warn("cannot open %s", file);
		return -1;
	}
	while ((crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) != NULL) {
		warn_if_stale(file, crl);
		if (X509_STORE_add_crl(store, crl) != 1) {
			X509_CRL_free(crl);
			fclose(f);
			return -1;
		}
		X509_CRL_free(crl);
		n++;
	}
	ERR_clear_error();
	fclose(f);
	if (n == 0)
		log_warnx("%s: no CRL in file", file);
	return n > 0 ? n : -1;
}

static int
load_crl_dir(const char *dir, X509_STORE *store)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[2048];
	int total = 0, files = 0, n;

	if (d == NULL) {
		log_warn("cannot open CRL directory %s", dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (++files > EG_MAX_CRL_FILES ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path) ||
		    (n = load_crl_file(path, store)) < 0) {
			closedir(d);
			return -1;
		}
		total += n;
	}
	closedir(d);
	return total;
}

/* The earliest nextUpdate of the CRLs in st (seconds since the epoch), 0 when none: when
 * the first login will be refused as crl-expired unless a fresh CRL comes. */
static int64_t
earliest_next_update(X509_STORE *st)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(st);
	int64_t best = 0;
	time_t t;
	int i;

	for (i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509_CRL *crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objs, i));
		const ASN1_TIME *next = crl != NULL ? X509_CRL_get0_nextUpdate(crl) : NULL;
		struct tm tm;

		if (next == NULL || ASN1_TIME_to_tm(next, &tm) != 1 || (t = timegm(&tm)) < 0)
			continue;
		if (best == 0 || (int64_t)t < best)
			best = (int64_t)t;
	}
	return best;
}

/* A complete new store: roots, then the CRLs of dir (when set). NULL on any failure. */
static X509_STORE *
build_store(STACK_OF(X509) *roots, const char *dir, int *ncrl)
{
	X509_STORE *st = X509_STORE_new();
	int i;

	*ncrl = 0;
	if (st == NULL)
		return NULL;
	for (i = 0; i < sk_X509_num(roots); i++)
		if (X509_STORE_add_cert(st, sk_X509_value(roots, i)) != 1)
			goto fail;
	if (dir[0] != '\0' && (*ncrl = load_crl_dir(dir, st)) < 0)
		goto fail;
	return st;
fail:
	X509_STORE_free(st);
	ERR_clear_error();
	return NULL;
}

int
crl_state_new(const char *dir, STACK_OF(X509) *roots, struct crl_state **out)
{
	struct crl_state *cs = calloc(1, sizeof(*cs));
	int n;

	*out = NULL;
	if (cs == NULL)
		return EG_ERR_NOMEM;
	if (pthread_mutex_init(&cs->mu, NULL) != 0) {
		free(cs);
		return EG_ERR_INTERNAL;
	}
	cs->roots = roots;
	if (eg_strlcpy(cs->dir, dir, sizeof(cs->dir)) >= sizeof(cs->dir) ||
	    (dir[0] != '\0' && dir_signature(dir, cs->sig) != 0) ||
	    (cs->store = build_store(roots, cs->dir, &n)) == NULL) {
		crl_state_free(cs);
		return EG_ERR_CONFIG;
	}
	if (dir[0] != '\0')
		log_info("[eid] crl %s: %d CRLs loaded", dir, n);
	cs->loaded_s = eg_now_us() / 1000000;
	cs->next_update_s = earliest_next_update(cs->store);
	cs->next_check_ms = eg_mono_ms() + AUTH_CRL_CHECK_MS;
	*out = cs;
	return EG_OK;
}

void
crl_state_free(struct crl_state *cs)
{
	if (cs == NULL)
		return;
	X509_STORE_free(cs->store);
	pthread_mutex_destroy(&cs->mu);
	free(cs);
}

int
crl_state_configured(const struct crl_state *cs)
{
	return cs->dir[0] != '\0';
}

/* Rebuilds the store when the directory listing changed; runs outside the mutex. */
static void
maybe_reload(struct crl_state *cs)
{
	unsigned char sig[32];
	X509_STORE *fresh, *old;
	int n;

	if (dir_signature(cs->dir, sig) != 0) {
		log_warn("CRL directory %s unreadable, keeping the loaded CRLs", cs->dir);
		return;
	}
	if (memcmp(sig, cs->sig, sizeof(sig)) == 0)
		return;
	if ((fresh = build_store(cs->roots, cs->dir, &n)) == NULL) {
		/* Perhaps a file caught mid-write: keep the old store, retry next check. */
		if (memcmp(sig, cs->bad_sig, sizeof(sig)) != 0)
			log_warnx("CRL directory %s changed but cannot be loaded; keeping the "
			    "previous CRLs and retrying", cs->dir);
		memcpy(cs->bad_sig, sig, sizeof(sig));
		return;
	}
	memcpy(cs->sig, sig, sizeof(sig));
	pthread_mutex_lock(&cs->mu);
	old = cs->store;
	cs->store = fresh;
	cs->gen++;
	cs->loaded_s = eg_now_us() / 1000000;
	cs->next_update_s = earliest_next_update(fresh);
	pthread_mutex_unlock(&cs->mu);
	X509_STORE_free(old);   /* freed for real when the last verification drops it */
	log_info("CRL directory %s changed: %d CRLs reloaded", cs->dir, n);
}

/* Looks at the directory when AUTH_CRL_CHECK_MS have passed since the last look, and
 * rebuilds the store when it changed. */
static void
check_due(struct crl_state *cs)
{
	int check = 0;
	int64_t now = eg_mono_ms();

	pthread_mutex_lock(&cs->mu);
	if (cs->dir[0] != '\0' && !cs->checking && now >= cs->next_check_ms) {
		cs->checking = check = 1;
		cs->next_check_ms = now + AUTH_CRL_CHECK_MS;
	}
	pthread_mutex_unlock(&cs->mu);
	if (check) {
		maybe_reload(cs);       /* sig/bad_sig are only touched by the checking thread */
		pthread_mutex_lock(&cs->mu);
		cs->checking = 0;
		pthread_mutex_unlock(&cs->mu);
	}
}

X509_STORE *
crl_state_get(struct crl_state *cs)
{
	X509_STORE *st;

	check_due(cs);
	pthread_mutex_lock(&cs->mu);
	st = cs->store;
	if (X509_STORE_up_ref(st) != 1)
		st = NULL;
	pthread_mutex_unlock(&cs->mu);
	return st;
}

uint64_t
crl_state_generation(struct crl_state *cs)
{
	uint64_t gen;

	check_due(cs);
	pthread_mutex_lock(&cs->mu);
	gen = cs->gen;
	pthread_mutex_unlock(&cs->mu);
	return gen;
}

void
crl_state_times(struct crl_state *cs, int64_t *loaded_s, int64_t *next_update_s)
{
	pthread_mutex_lock(&cs->mu);
	*loaded_s = cs->dir[0] != '\0' ? cs->loaded_s : 0;
	*next_update_s = cs->next_update_s;
	pthread_mutex_unlock(&cs->mu);
}
