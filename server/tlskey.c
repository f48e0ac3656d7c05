/*
 * tlskey.c - the TLS server key, held by the key process (keys.h) like the other keys.
 *
 * GnuTLS lets a private key be a set of callbacks (gnutls_privkey_import_ext4): its
 * signing callback here is one question to the key process, which signs SHA-256 digests
 * with that key and nothing else (keys/ring.c). libmicrohttpd hands GnuTLS the certificate
 * chain and that key through its certificate callback (MHD_OPTION_HTTPS_CERT_CALLBACK),
 * instead of a key in the serving process's memory. A full handshake pays one round trip
 * to the key process (bench/privsep.py, "new conn"); a resumed one (session tickets)
 * signs nothing.
 *
 * The key process takes the key only when it is an EC P-256 key; another kind stays with
 * the serving process as before, and the log says so at start.
 *
 * libmicrohttpd's callback has no argument of ours, so the one struct tls_key lives in a
 * static pointer, set before the first daemon starts and never changed after.
 */
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <openssl/evp.h>

#include "eidgate/err.h"
#include "eidgate/keys.h"
#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "server/internal.h"

#define TLS_MAX_CHAIN 8

struct tls_key {
	struct keys *keys;
	unsigned char id[KEYS_ID_LEN];
	gnutls_pcert_st pcert[TLS_MAX_CHAIN];
	unsigned int npcert;
	gnutls_privkey_t priv;
};

static const struct tls_key *current;

static int
supported(gnutls_sign_algorithm_t algo)
{
	return algo == GNUTLS_SIGN_ECDSA_SHA256 || algo == GNUTLS_SIGN_ECDSA_SECP256R1_SHA256;
}

/*
 * GnuTLS 3.7 signs with an external ECDSA key through the hash callback only (with just
 * the data callback it calls a null hash callback): it gives the handshake's SHA-256
 * digest, which the key process signs.
 */
static int
sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *arg, unsigned int flags,
    const gnutls_datum_t *hash, gnutls_datum_t *sig)
{
	const struct tls_key *t = arg;
	unsigned char der[80];
	size_t len = sizeof(der);
	int rc;

	(void)key;
	(void)flags;
	if (!supported(algo) || hash->size != 32)
		return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
	if ((rc = keys_sign(t->keys, KEYS_SIGN_TLS, t->id, hash->data, hash->size, der, &len)) !=
	    EG_OK) {
		log_warnx("TLS handshake: the key process did not sign: %s", eg_err(rc));
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	if ((sig->data = gnutls_malloc(len)) == NULL)
		return GNUTLS_E_MEMORY_ERROR;
	memcpy(sig->data, der, len);
	sig->size = (unsigned int)len;
	return 0;
}

/* The key belongs to struct tls_key (tlskey_free); GnuTLS has nothing to release. */
static void
deinit(gnutls_privkey_t key, void *arg)
{
	(void)key;
	(void)arg;
}

static int
info(gnutls_privkey_t key, unsigned int flags, void *arg)
{
	(void)key;
	(void)arg;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return GNUTLS_PK_ECDSA;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return 256;
	if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO)
		return GNUTLS_SIGN_ECDSA_SHA256;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return supported(GNUTLS_FLAGS_TO_SIGN_ALGO(flags));
	return -1;
}

/* SHA-256 of the certificate's SubjectPublicKeyInfo: the key id the key process knows. */
static int
cert_key_id(gnutls_pcert_st *pc, unsigned char id[KEYS_ID_LEN])
{
	unsigned char der[1024];
	size_t len = sizeof(der);
	unsigned int mdlen = 0;

	return gnutls_pubkey_export(pc->pubkey, GNUTLS_X509_FMT_DER, der, &len) == 0 &&
	    EVP_Digest(der, len, id, &mdlen, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

/* 1 when the key process holds the TLS key whose id is id. */
static int
held(struct keys *k, const unsigned char id[KEYS_ID_LEN])
{
	struct keys_public pub;
	size_t i;

	if (keys_public(k, &pub) != EG_OK)
		return 0;
	for (i = 0; i < pub.n; i++)
		if (pub.keys[i].purpose == KEYS_SIGN_TLS &&
		    memcmp(pub.keys[i].id, id, KEYS_ID_LEN) == 0)
			return 1;
	return 0;
}

static int
load_chain(struct tls_key *t, const char *cert_pem, size_t len)
{
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)cert_pem, (unsigned int)len };

	t->npcert = TLS_MAX_CHAIN;
	if (gnutls_pcert_list_import_x509_raw(t->pcert, &t->npcert, &d, GNUTLS_X509_FMT_PEM,
	    0) != 0 || t->npcert == 0) {
		t->npcert = 0;
		return -1;
	}
	return 0;
}

int
tlskey_open(struct keys *k, const char *cert_pem, size_t len, struct tls_key **out)
{
	struct tls_key *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL)
		return EG_ERR_NOMEM;
	t->keys = k;
	if (load_chain(t, cert_pem, len) != 0 || cert_key_id(&t->pcert[0], t->id) != 0) {
		log_warnx("[listen] tls_cert cannot be read as a certificate chain");
		tlskey_free(t);
		return EG_ERR_CONFIG;
	}
	if (!held(k, t->id)) {
		tlskey_free(t);
		return EG_ERR_NOT_FOUND;
	}
	if (gnutls_privkey_init(&t->priv) != 0 ||
	    gnutls_privkey_import_ext4(t->priv, t, NULL, sign_hash, NULL, deinit, info, 0) != 0) {
		log_warnx("[listen] tls_key: GnuTLS refuses the key process's key");
		tlskey_free(t);
		return EG_ERR_CRYPTO;
	}
	*out = t;
	return EG_OK;
}

void
tlskey_use(const struct tls_key *t)
{
	current = t;
}

void
tlskey_free(struct tls_key *t)
{
	unsigned int i;

	if (t == NULL)
		return;
	if (current == t)
		current = NULL;
	for (i = 0; i < t->npcert; i++)
		gnutls_pcert_deinit(&t->pcert[i]);
	if (t->priv != NULL)
		gnutls_privkey_deinit(t->priv);
	free(t);
}

int
tlskey_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
    unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
	(void)session;
	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (current == NULL)
		return -1;
	*pcert = (gnutls_pcert_st *)current->pcert;
	*pcert_length = current->npcert;
	*privkey = current->priv;
	return 0;
}
