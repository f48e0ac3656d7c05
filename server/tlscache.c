/*
 * tlscache.c - TLS 1.2 session resumption by session id, for clients that do not use
 * session tickets (TLS 1.3 resumes with tickets only; tickets are enabled too, see
 * clients.c). GnuTLS stores and looks up sessions through these functions.
 *
 * A fixed table of TLSCACHE_SLOTS entries, one per hash of the session id: a new
 * session takes its slot whatever was there (the cache is bounded, and a lost entry only
 * costs a full handshake). Entries expire after TLSCACHE_LIFETIME_S. The session data
 * holds the master secret: wiped when dropped.
 *
 * A resumed session skips the chain work in the handshake only: the request path still
 * takes the verdict on the certificate from the verdict cache, which expires as
 * configured, and the record names the certificate GnuTLS kept in the session.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "server/internal.h"

#define TLSCACHE_SLOTS 8192
#define TLSCACHE_LIFETIME_S 3600
#define TLSCACHE_MAX_KEY 32             /* a TLS session id */
#define TLSCACHE_MAX_DATA 16384         /* a session with the client's chain */

struct tls_entry {
	unsigned char key[TLSCACHE_MAX_KEY];
	unsigned keylen;
	unsigned char *data;
	size_t len;
	time_t expires;
};

struct tls_cache {
	pthread_mutex_t mu;
	struct tls_entry slots[TLSCACHE_SLOTS];
};

int
tlscache_new(struct tls_cache **out)
{
	struct tls_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return EG_ERR_NOMEM;
	}
	*out = c;
	return EG_OK;
}

static void
entry_clear(struct tls_entry *e)
{
	if (e->data != NULL)
		eg_freezero(e->data, e->len);
	memset(e, 0, sizeof(*e));
}

void
tlscache_free(struct tls_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < TLSCACHE_SLOTS; i++)
		entry_clear(&c->slots[i]);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static struct tls_entry *
slot_of(struct tls_cache *c, const gnutls_datum_t *key)
{
	return &c->slots[eg_fnv1a(EG_FNV1A_INIT, key->data, key->size) % TLSCACHE_SLOTS];
}

static int
same_key(const struct tls_entry *e, const gnutls_datum_t *key)
{
	return e->data != NULL && e->keylen == key->size &&
	    memcmp(e->key, key->data, key->size) == 0;
}

static int
store(void *ptr, gnutls_datum_t key, gnutls_datum_t data)
{
	struct tls_cache *c = ptr;
	struct tls_entry *e;
	unsigned char *copy;

	if (key.size == 0 || key.size > TLSCACHE_MAX_KEY || data.size > TLSCACHE_MAX_DATA ||
	    (copy = malloc(data.size)) == NULL)
		return -1;
	memcpy(copy, data.data, data.size);
	pthread_mutex_lock(&c->mu);
	e = slot_of(c, &key);
	entry_clear(e);
	memcpy(e->key, key.data, key.size);
	e->keylen = key.size;
	e->data = copy;
	e->len = data.size;
	e->expires = time(NULL) + TLSCACHE_LIFETIME_S;
	pthread_mutex_unlock(&c->mu);
	return 0;
}

static gnutls_datum_t
retrieve(void *ptr, gnutls_datum_t key)
{
	struct tls_cache *c = ptr;
	struct tls_entry *e;
	gnutls_datum_t out = { NULL, 0 };

	pthread_mutex_lock(&c->mu);
	e = slot_of(c, &key);
	if (same_key(e, &key)) {
		if (e->expires <= time(NULL))
			entry_clear(e);
		else if ((out.data = gnutls_malloc(e->len)) != NULL) {
			memcpy(out.data, e->data, e->len);
			out.size = (unsigned)e->len;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return out;
}

static int
drop(void *ptr, gnutls_datum_t key)
{
	struct tls_cache *c = ptr;
	struct tls_entry *e;

	pthread_mutex_lock(&c->mu);
	e = slot_of(c, &key);
	if (same_key(e, &key))
		entry_clear(e);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

void
tlscache_attach(struct tls_cache *c, gnutls_session_t s)
{
	gnutls_db_set_ptr(s, c);
	gnutls_db_set_store_function(s, store);
	gnutls_db_set_retrieve_function(s, retrieve);
	gnutls_db_set_remove_function(s, drop);
	gnutls_db_set_cache_expiration(s, TLSCACHE_LIFETIME_S);
}
