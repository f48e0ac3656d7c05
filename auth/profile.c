/*
 * profile.c - what makes a certificate a Belgian eID authentication certificate, and
 * what eidgate reads from it (PRODUCT.md §3).
 */
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "eidgate/auth.h"
#include "eidgate/err.h"
#include "eidgate/util.h"
#include "auth/internal.h"

static const char *const citizen_oids[] = {
	"2.16.56.9.1.1.2.2", "2.16.56.10.1.1.2.2", "2.16.56.12.1.1.2.2",
	"2.16.56.13.6.1.1.1000", NULL,
};
static const char *const foreigner_oids[] = {
	"2.16.56.9.1.1.7.2", "2.16.56.10.1.1.7.2", "2.16.56.12.1.1.7.2",
	"2.16.56.13.6.2.1.1000", NULL,
};

/* Copies a subject attribute as UTF-8, replacing control characters: names end up in
 * JSON, HTML and log lines, and a certificate is attacker-supplied until verified. */
static int
subject_attr(X509_NAME *name, int nid, char *out, size_t outlen)
{
	int idx = X509_NAME_get_index_by_NID(name, nid, -1);
	unsigned char *utf8 = NULL;
	int len, i;

	out[0] = '\0';
	if (idx < 0)
		return 0;
	/* Two values of one attribute would make "which name" ambiguous. */
	if (X509_NAME_get_index_by_NID(name, nid, idx) >= 0)
		return -1;
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
	if (len < 0)
		return -1;
	if ((size_t)len >= outlen) {
		OPENSSL_free(utf8);
		return -1;
	}
	for (i = 0; i < len; i++)
		out[i] = (utf8[i] < 0x20 || utf8[i] == 0x7f) ? '?' : (char)utf8[i];
	out[len] = '\0';
	OPENSSL_free(utf8);
	return 1;
}

static int
oid_in(const char *oid, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(oid, *list) == 0)
			return 1;
	return 0;
}

/* Test hierarchies carry one test OID for citizen and foreigner cards alike, so the kind
 * of a leaf accepted through an extra OID comes from its issuer's name. */
static enum eg_card_kind
kind_from_issuer(X509 *x)
{
	char cn[EG_MAX_NAME];

	if (subject_attr(X509_get_issuer_name(x), NID_commonName, cn, sizeof(cn)) <= 0)
		return EG_CARD_UNKNOWN;
	return strstr(cn, "Foreigner") != NULL ? EG_CARD_FOREIGNER : EG_CARD_CITIZEN;
}

/* Maps one policy OID to a card kind; EG_CARD_UNKNOWN when it is not an auth policy. */
static enum eg_card_kind
policy_kind(X509 *x, const char *oid, const char (*extra)[64], int n)
{
	int i;

	if (oid_in(oid, citizen_oids))
		return EG_CARD_CITIZEN;
	if (oid_in(oid, foreigner_oids))
		return EG_CARD_FOREIGNER;
	for (i = 0; i < n; i++)
		if (strcmp(oid, extra[i]) == 0)
			return kind_from_issuer(x);
	return EG_CARD_UNKNOWN;
}

/* Finds the eID authentication policy OID and with it the card kind. When none is found,
 * policy_oid still shows the first OID so that `cert inspect` can say what was there. */
static int
read_policy(X509 *x, const char (*extra)[64], int n, struct eg_identity *id)
{
	CERTIFICATEPOLICIES *pols = X509_get_ext_d2i(x, NID_certificate_policies, NULL, NULL);
	int i, ret = EG_ERR_PROFILE;
	char oid[64];

	if (pols == NULL)
		return EG_ERR_PROFILE;
	for (i = 0; i < sk_POLICYINFO_num(pols); i++) {
		POLICYINFO *pi = sk_POLICYINFO_value(pols, i);
		enum eg_card_kind kind;

		if (OBJ_obj2txt(oid, sizeof(oid), pi->policyid, 1) <= 0)
			continue;
		if (id->policy_oid[0] == '\0')
			eg_strlcpy(id->policy_oid, oid, sizeof(id->policy_oid));
		if ((kind = policy_kind(x, oid, extra, n)) == EG_CARD_UNKNOWN)
			continue;
		id->kind = kind;
		eg_strlcpy(id->policy_oid, oid, sizeof(id->policy_oid));
		ret = EG_OK;
		break;
	}
	CERTIFICATEPOLICIES_free(pols);
	return ret;
}

static void
read_key_type(X509 *x, struct eg_identity *id)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char group[24] = "";
	size_t glen = 0;

	if (pk == NULL) {
		eg_strlcpy(id->key_type, "unknown", sizeof(id->key_type));
	} else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
		snprintf(id->key_type, sizeof(id->key_type), "RSA %d", EVP_PKEY_get_bits(pk));
	} else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen);
		snprintf(id->key_type, sizeof(id->key_type), "EC %s",
		    strcmp(group, "secp384r1") == 0 ? "P-384" :
		    strcmp(group, "prime256v1") == 0 ? "P-256" : group);
	} else {
		eg_strlcpy(id->key_type, "other", sizeof(id->key_type));
	}
}

static void
read_validity(X509 *x, struct eg_identity *id)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1)
		id->not_before = (int64_t)timegm(&tm);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		id->not_after = (int64_t)timegm(&tm);
}

static void
read_fingerprint(X509 *x, struct eg_identity *id)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32)
		eg_hex(md, mdlen, id->fingerprint);
}

static int
read_names(X509 *x, struct eg_identity *id)
{
	X509_NAME *subj = X509_get_subject_name(x);
	char cn[EG_MAX_NAME];
	char *paren;
	int is_sig;

	if (subject_attr(subj, NID_commonName, cn, sizeof(cn)) < 0 ||
	    subject_attr(subj, NID_givenName, id->given, sizeof(id->given)) < 0 ||
	    subject_attr(subj, NID_surname, id->surname, sizeof(id->surname)) < 0)
		return EG_ERR_PROFILE;
	/* Anywhere in the CN, before the name is trimmed for display. */
	is_sig = strstr(cn, "(Signature)") != NULL;
	if ((paren = strstr(cn, " (Authentication)")) != NULL ||
	    (paren = strstr(cn, " (Signature)")) != NULL)
		*paren = '\0';
	eg_strlcpy(id->name, cn, sizeof(id->name));
	return is_sig ? EG_ERR_SIGNATURE_CERT : EG_OK;
}

/* nonRepudiation marks the qualified signature key: it must never log anyone in. Older
 * cards have no extended key usage; when one is present it must allow client auth. */
static int
check_key_usage(X509 *x)
{
	uint32_t ku = X509_get_key_usage(x);
	uint32_t xku = X509_get_extended_key_usage(x);

	if (ku != UINT32_MAX && (ku & KU_NON_REPUDIATION))
		return EG_ERR_SIGNATURE_CERT;
	if (ku == UINT32_MAX || !(ku & KU_DIGITAL_SIGNATURE))
		return EG_ERR_PROFILE;
	if (xku != UINT32_MAX && !(xku & XKU_SSL_CLIENT))
		return EG_ERR_PROFILE;
	return EG_OK;
}

static int
read_serial(X509 *x, struct eg_identity *id)
{
	char serial[64];
	int r = subject_attr(X509_get_subject_name(x), NID_serialNumber, serial, sizeof(serial));

	if (r == 0)
		return EG_ERR_NO_SERIAL;
	if (r < 0 || strlen(serial) != EG_NRN_LEN)
		return EG_ERR_BAD_SERIAL;
	r = auth_nrn_check(serial);
	if (r == EG_OK || r == EG_ERR_NRN_CHECK)
		eg_strlcpy(id->nrn, serial, sizeof(id->nrn));
	return r;
}

/* A card past its dates is reported as such before anything else but the signature-key
 * check: it is what the holder can act on (renew the card, fix the clock). at < 0: no
 * date check (cert inspect); 0: now. */
static int
check_dates(X509 *x, int64_t at)
{
	time_t t = (time_t)at;
	time_t *tp = at == 0 ? NULL : &t;

	if (at < 0)
		return EG_OK;
	if (X509_cmp_time(X509_get0_notBefore(x), tp) >= 0)
		return EG_ERR_NOT_YET_VALID;
	if (X509_cmp_time(X509_get0_notAfter(x), tp) <= 0)
		return EG_ERR_EXPIRED;
	return EG_OK;
}

int
auth_profile(X509 *x, const char (*extra)[64], int n, int64_t at, struct eg_identity *id)
{
	int r, pol;

	memset(id, 0, sizeof(*id));
	read_fingerprint(x, id);
	read_key_type(x, id);
	read_validity(x, id);
	/* Read first so that a refusal still shows kind and policy; reported last, after
	 * the more specific reasons below. */
	pol = read_policy(x, extra, n, id);
	if ((r = read_names(x, id)) != EG_OK || (r = check_key_usage(x)) != EG_OK ||
	    (r = check_dates(x, at)) != EG_OK) {
		(void)read_serial(x, id);       /* nrn for the log line, if readable */
		return r;
	}
	if ((r = read_serial(x, id)) != EG_OK)
		return r;
	return pol;
}

int
auth_inspect_der(const unsigned char *der, size_t len, struct eg_identity *id)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	int r;

	if (x == NULL || p != der + len) {
		X509_free(x);
		memset(id, 0, sizeof(*id));
		return EG_ERR_CERT_PARSE;
	}
	r = auth_profile(x, NULL, 0, -1, id);
	X509_free(x);
	return r;
}
