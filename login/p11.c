/*
 * p11.c - the PKCS#11 side: module, token, objects, login and signing.
 *
 * Objects are found by CKA_LABEL "Authentication", never by CKA_ID: OpenSC gives the
 * Belgian card's objects ID 02, Fedict's own middleware numeric IDs of its own. Nothing
 * here ever looks for, or signs with, the "Signature" key: a login must never produce a
 * qualified signature.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "login/internal.h"

/* Tried in order when --module is absent (PRODUCT §1): OpenSC at its Debian path, OpenSC
 * wherever the dynamic linker finds it, then the Belgian middleware. */
static const char *const p11_default_modules[] = {
	"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
	"opensc-pkcs11.so",
	"libbeidpkcs11.so.0",
};

static const char AUTH_LABEL[] = "Authentication";
static const char CA_LABEL[] = "CA";
static const char BELPIC_PREFIX[] = "BELPIC";

struct login_p11 {
	void *lp_dl;
	CK_FUNCTION_LIST *lp_f;
	int lp_initialized;
	CK_SLOT_ID lp_slot;
	CK_SESSION_HANDLE lp_sess;
	int lp_has_sess;
	int lp_logged_in;
	CK_FLAGS lp_flags;                /* token flags at selection time */
	char lp_label[LOGIN_LABEL_LEN];   /* trimmed token label */
	CK_OBJECT_HANDLE lp_key;
};

/* One present token as seen when choosing. */
struct p11_tok {
	CK_SLOT_ID pt_slot;
	char pt_label[LOGIN_LABEL_LEN];
	char pt_serial[LOGIN_SERIAL_LEN];
	CK_FLAGS pt_flags;
};

static const char *
p11_rv(CK_RV rv)
{
	switch (rv) {
#define R(x) case x: return #x
	R(CKR_OK); R(CKR_HOST_MEMORY); R(CKR_SLOT_ID_INVALID); R(CKR_GENERAL_ERROR);
	R(CKR_FUNCTION_FAILED); R(CKR_ARGUMENTS_BAD); R(CKR_ATTRIBUTE_TYPE_INVALID);
	R(CKR_DATA_LEN_RANGE); R(CKR_DEVICE_ERROR); R(CKR_DEVICE_MEMORY);
	R(CKR_DEVICE_REMOVED); R(CKR_FUNCTION_CANCELED); R(CKR_KEY_TYPE_INCONSISTENT);
	R(CKR_KEY_FUNCTION_NOT_PERMITTED); R(CKR_MECHANISM_INVALID);
	R(CKR_OPERATION_ACTIVE); R(CKR_PIN_INCORRECT); R(CKR_PIN_LEN_RANGE);
	R(CKR_PIN_EXPIRED); R(CKR_PIN_LOCKED); R(CKR_SESSION_HANDLE_INVALID);
	R(CKR_TOKEN_NOT_PRESENT); R(CKR_TOKEN_NOT_RECOGNIZED); R(CKR_USER_NOT_LOGGED_IN);
	R(CKR_USER_PIN_NOT_INITIALIZED); R(CKR_BUFFER_TOO_SMALL);
	R(CKR_CRYPTOKI_NOT_INITIALIZED); R(CKR_CRYPTOKI_ALREADY_INITIALIZED);
#undef R
	default: return "CKR_(other)";
	}
}

static void
p11_err(const char *what, CK_RV rv)
{
	login_errx("%s: %s (0x%lx)", what, p11_rv(rv), (unsigned long)rv);
}

/* PKCS#11 strings are fixed-size, blank-padded, not NUL-terminated. */
static void
p11_str(const CK_UTF8CHAR *in, size_t inlen, char *out, size_t outlen)
{
	char tmp[128];
	size_t n = inlen < sizeof(tmp) - 1 ? inlen : sizeof(tmp) - 1;

	memcpy(tmp, in, n);
	while (n > 0 && (tmp[n - 1] == ' ' || tmp[n - 1] == '\0'))
		n--;
	tmp[n] = '\0';
	login_sanitize(tmp, out, outlen);
}

/* ---- module ---------------------------------------------------------------------- */

static int
p11_load(struct login_p11 *p, const char *path, char *why, size_t whylen)
{
	CK_C_GetFunctionList getfl;
	const char *e;
	CK_RV rv;

	p->lp_dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (p->lp_dl == NULL) {
		e = dlerror();
		snprintf(why, whylen, "%s", e != NULL ? e : path);
		return -1;
	}
	/* POSIX dlsym returns void *; the cast to a function pointer is the documented way
	 * (dlsym(3), "RATIONALE"). */
	*(void **)&getfl = dlsym(p->lp_dl, "C_GetFunctionList");
	if (getfl == NULL) {
		snprintf(why, whylen, "%s: not a PKCS#11 module (no C_GetFunctionList)", path);
		goto fail;
	}
	rv = getfl(&p->lp_f);
	if (rv != CKR_OK || p->lp_f == NULL) {
		snprintf(why, whylen, "%s: C_GetFunctionList: %s", path, p11_rv(rv));
		goto fail;
	}
	/* NULL args: the client is single-threaded towards the module. */
	rv = p->lp_f->C_Initialize(NULL);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		snprintf(why, whylen, "%s: C_Initialize: %s (0x%lx)", path, p11_rv(rv),
		    (unsigned long)rv);
		goto fail;
	}
	p->lp_initialized = (rv == CKR_OK);
	return 0;
fail:
	dlclose(p->lp_dl);
	p->lp_dl = NULL;
	p->lp_f = NULL;
	return -1;
}

int
login_p11_open(const char *module, struct login_p11 **out)
{
	struct login_p11 *p;
	char why[512];
	size_t i;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		login_errx("out of memory");
		return -1;
	}
	if (module != NULL) {
		if (p11_load(p, module, why, sizeof(why)) == 0) {
			*out = p;
			return 0;
		}
		login_errx("cannot load PKCS#11 module: %s", why);
		free(p);
		return -1;
	}
	for (i = 0; i < sizeof(p11_default_modules) / sizeof(p11_default_modules[0]); i++) {
		if (p11_load(p, p11_default_modules[i], why, sizeof(why)) == 0) {
			*out = p;
			return 0;
		}
	}
	login_errx("no PKCS#11 module could be loaded (tried %s, %s, %s; last error: %s); "
	    "install OpenSC or the eID middleware, or give one with --module",
	    p11_default_modules[0], p11_default_modules[1], p11_default_modules[2], why);
	free(p);
	return -1;
}

void
login_p11_close(struct login_p11 *p)
{
	if (p == NULL)
		return;
	if (p->lp_has_sess) {
		if (p->lp_logged_in)
			p->lp_f->C_Logout(p->lp_sess);
		p->lp_f->C_CloseSession(p->lp_sess);
	}
	if (p->lp_initialized)
		p->lp_f->C_Finalize(NULL);
	if (p->lp_dl != NULL)
		dlclose(p->lp_dl);
	free(p);
}

/* ---- slots and tokens ------------------------------------------------------------ */

/* The slots with a token present; *slots is malloc'd. */
static int
p11_slots(struct login_p11 *p, CK_SLOT_ID **slots, CK_ULONG *n)
{
	CK_ULONG count = 0;
	CK_RV rv;

	*slots = NULL;
	*n = 0;
	rv = p->lp_f->C_GetSlotList(CK_TRUE, NULL, &count);
	if (rv != CKR_OK) {
		p11_err("C_GetSlotList", rv);
		return -1;
	}
	if (count == 0)
		return 0;
	if (count > LOGIN_MAX_SLOTS)
		count = LOGIN_MAX_SLOTS;
	*slots = calloc(count, sizeof(**slots));
	if (*slots == NULL) {
		login_errx("out of memory");
		return -1;
	}
	/* A card may be inserted between the two calls: CKR_BUFFER_TOO_SMALL then only
	 * means "there is more", and the first count slots are still valid. */
	rv = p->lp_f->C_GetSlotList(CK_TRUE, *slots, &count);
	if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL) {
		p11_err("C_GetSlotList", rv);
		free(*slots);
		*slots = NULL;
		return -1;
	}
	*n = count;
	return 0;
}

static int
p11_token(struct login_p11 *p, CK_SLOT_ID slot, struct p11_tok *t)
{
	CK_TOKEN_INFO ti;
	CK_RV rv;

	memset(t, 0, sizeof(*t));
	rv = p->lp_f->C_GetTokenInfo(slot, &ti);
	if (rv != CKR_OK) {
		char what[64];

		snprintf(what, sizeof(what), "C_GetTokenInfo(slot %lu)", (unsigned long)slot);
		p11_err(what, rv);
		return -1;
	}
	t->pt_slot = slot;
	t->pt_flags = ti.flags;
	p11_str(ti.label, sizeof(ti.label), t->pt_label, sizeof(t->pt_label));
	p11_str(ti.serialNumber, sizeof(ti.serialNumber), t->pt_serial, sizeof(t->pt_serial));
	return 0;
}

/* All present tokens, skipping slots whose token cannot be read (reported). */
static int
p11_tokens(struct login_p11 *p, struct p11_tok **toks, size_t *n)
{
	CK_SLOT_ID *slots;
	CK_ULONG ns, i;

	*toks = NULL;
	*n = 0;
	if (p11_slots(p, &slots, &ns) < 0)
		return -1;
	if (ns == 0) {
		free(slots);
		return 0;
	}
	*toks = calloc(ns, sizeof(**toks));
	if (*toks == NULL) {
		login_errx("out of memory");
		free(slots);
		return -1;
	}
	for (i = 0; i < ns; i++) {
		/* An uninitialised token (a blank SoftHSM slot, a card never personalised)
		 * has neither label nor objects: not a candidate, nothing to list. */
		if (p11_token(p, slots[i], &(*toks)[*n]) == 0 &&
		    ((*toks)[*n].pt_flags & CKF_TOKEN_INITIALIZED))
			(*n)++;
	}
	free(slots);
	return 0;
}

static int
p11_open_session(struct login_p11 *p, CK_SLOT_ID slot, CK_SESSION_HANDLE *h)
{
	CK_RV rv;

	/* Read-only is enough to log in and sign, and cannot change the card. */
	rv = p->lp_f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, h);
	if (rv != CKR_OK) {
		char what[64];

		snprintf(what, sizeof(what), "C_OpenSession(slot %lu)", (unsigned long)slot);
		p11_err(what, rv);
		return -1;
	}
	return 0;
}

/* ---- objects --------------------------------------------------------------------- */

/* Up to max handles of class (and label, when not NULL). */
static int
p11_find(struct login_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label,
    CK_OBJECT_HANDLE *h, CK_ULONG max, CK_ULONG *n)
{
	CK_ATTRIBUTE tmpl[2] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)(uintptr_t)label, label != NULL ? strlen(label) : 0 },
	};
	CK_RV rv, rv2;

	*n = 0;
	rv = p->lp_f->C_FindObjectsInit(s, tmpl, label != NULL ? 2 : 1);
	if (rv != CKR_OK) {
		p11_err("C_FindObjectsInit", rv);
		return -1;
	}
	rv = p->lp_f->C_FindObjects(s, h, max, n);
	rv2 = p->lp_f->C_FindObjectsFinal(s);
	if (rv != CKR_OK || rv2 != CKR_OK) {
		p11_err("C_FindObjects", rv != CKR_OK ? rv : rv2);
		return -1;
	}
	return 0;
}

/* Reads attribute type of obj into a malloc'd buffer of *len bytes (+1 NUL). */
static int
p11_attr(struct login_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_TYPE type, size_t max, unsigned char **val, size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv;

	*val = NULL;
	rv = p->lp_f->C_GetAttributeValue(s, obj, &a, 1);
	if (rv != CKR_OK || a.ulValueLen == (CK_ULONG)-1 || a.ulValueLen > max) {
		if (rv == CKR_OK)
			login_errx("C_GetAttributeValue: attribute 0x%lx unavailable or too "
			    "large", (unsigned long)type);
		else
			p11_err("C_GetAttributeValue", rv);
		return -1;
	}
	*val = calloc(1, a.ulValueLen + 1);
	if (*val == NULL) {
		login_errx("out of memory");
		return -1;
	}
	a.pValue = *val;
	rv = p->lp_f->C_GetAttributeValue(s, obj, &a, 1);
	if (rv != CKR_OK) {
		p11_err("C_GetAttributeValue", rv);
		free(*val);
		*val = NULL;
		return -1;
	}
	*len = a.ulValueLen;
	return 0;
}

static int
p11_cert(struct login_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj, X509 **out)
{
	const unsigned char *q;
	unsigned char *der;
	size_t len;
	int trailing;

	*out = NULL;
	if (p11_attr(p, s, obj, CKA_VALUE, LOGIN_MAX_CERT, &der, &len) < 0)
		return -1;
	q = der;
	*out = d2i_X509(NULL, &q, (long)len);
	trailing = (q != der + len);
	free(der);
	if (*out == NULL || trailing) {
		/* Trailing bytes after the DER would be sent to the gateway as part of it. */
		X509_free(*out);
		*out = NULL;
		ERR_clear_error();
		login_errx("a certificate on the token cannot be parsed as DER X.509");
		return -1;
	}
	return 0;
}

/* The one certificate labelled label; 1 when found, 0 when absent, -1 on error. */
static int
p11_cert_by_label(struct login_p11 *p, const char *label, X509 **out)
{
	CK_OBJECT_HANDLE h[2];
	CK_ULONG n;

	*out = NULL;
	if (p11_find(p, p->lp_sess, CKO_CERTIFICATE, label, h, 2, &n) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (n > 1) {
		login_errx("token \"%s\" holds several certificates labelled \"%s\"; "
		    "refusing to guess", p->lp_label, label);
		return -1;
	}
	return p11_cert(p, p->lp_sess, h[0], out) < 0 ? -1 : 1;
}

/* ---- --list ---------------------------------------------------------------------- */

static void
p11_list_cert(struct login_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj)
{
	unsigned char *lab = NULL;
	char label[128], cn[256], sn[64];
	X509 *x = NULL;
	size_t len;

	if (p11_attr(p, s, obj, CKA_LABEL, 256, &lab, &len) == 0)
		login_sanitize((const char *)lab, label, sizeof(label));
	else
		login_sanitize("?", label, sizeof(label));
	free(lab);
	if (p11_cert(p, s, obj, &x) < 0) {
		printf("  certificate \"%s\": (unreadable)\n", label);
		return;
	}
	login_cert_names(x, cn, sizeof(cn), sn, sizeof(sn));
	printf("  certificate \"%s\": CN=%s, serialNumber=%s\n", label, cn, sn);
	X509_free(x);
}

static void
p11_list_token(struct login_p11 *p, const struct p11_tok *t)
{
	CK_OBJECT_HANDLE h[32];
	CK_SESSION_HANDLE s;
	CK_ULONG n, i;

	printf("slot %lu: token \"%s\", serial %s\n", (unsigned long)t->pt_slot,
	    t->pt_label, t->pt_serial);
	if (p11_open_session(p, t->pt_slot, &s) < 0)
		return;
	/* Certificates are public objects: no login, so no PIN try is spent. */
	if (p11_find(p, s, CKO_CERTIFICATE, NULL, h, 32, &n) == 0) {
		if (n == 0)
			printf("  (no certificates)\n");
		for (i = 0; i < n; i++)
			p11_list_cert(p, s, h[i]);
	}
	p->lp_f->C_CloseSession(s);
}

int
login_p11_list(struct login_p11 *p)
{
	struct p11_tok *toks;
	size_t n, i;

	if (p11_tokens(p, &toks, &n) < 0)
		return -1;
	if (n == 0)
		login_errx("no token present in any slot (is the card in the reader?)");
	for (i = 0; i < n; i++)
		p11_list_token(p, &toks[i]);
	free(toks);
	return fflush(stdout) == 0 ? 0 : -1;
}

/* ---- choosing the token ---------------------------------------------------------- */

static int
p11_has_auth_cert(struct login_p11 *p, CK_SLOT_ID slot)
{
	CK_OBJECT_HANDLE h;
	CK_SESSION_HANDLE s;
	CK_ULONG n = 0;

	if (p11_open_session(p, slot, &s) < 0)
		return 0;
	if (p11_find(p, s, CKO_CERTIFICATE, AUTH_LABEL, &h, 1, &n) < 0)
		n = 0;
	p->lp_f->C_CloseSession(s);
	return n > 0;
}

static void
p11_ambiguous(const char *why, const struct p11_tok *toks, size_t n)
{
	char list[1024];
	size_t i, off = 0;

	list[0] = '\0';
	for (i = 0; i < n && off < sizeof(list); i++) {
		int r = snprintf(list + off, sizeof(list) - off, "%s\"%s\" (slot %lu)",
		    i > 0 ? ", " : "", toks[i].pt_label, (unsigned long)toks[i].pt_slot);
		if (r < 0)
			break;
		off += (size_t)r;
	}
	login_errx("%s: %s; choose one with --token-label", why, list);
}

/*
 * PRODUCT §1: --token-label picks by exact label; otherwise a token whose label starts
 * with BELPIC, else the only token present. When several BELPIC tokens show (two
 * readers, or a module showing one slot per PIN), those without an "Authentication"
 * certificate are dropped before declaring the choice ambiguous.
 */
static int
p11_choose(struct login_p11 *p, struct p11_tok *t, size_t n, const char *label)
{
	size_t i, nb = 0, nauth = 0, pick = 0;

	if (label != NULL) {
		for (i = 0; i < n; i++)
			if (strcmp(t[i].pt_label, label) == 0)
				return (int)i;
		if (n == 0) {
			login_errx("no token present (is the card in the reader?)");
		} else {
			char why[LOGIN_LABEL_LEN + 64], safe[LOGIN_LABEL_LEN + 32];

			login_sanitize(label, safe, sizeof(safe));
			snprintf(why, sizeof(why), "no token labelled \"%s\"; present", safe);
			p11_ambiguous(why, t, n);
		}
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (strncmp(t[i].pt_label, BELPIC_PREFIX, sizeof(BELPIC_PREFIX) - 1) == 0)
			t[nb++] = t[i];
	}
	if (nb == 1)
		return 0;
	if (nb == 0 && n == 1)
		return 0;
	if (nb == 0) {
		if (n == 0)
			login_errx("no token present (is the card in the reader?)");
		else
			p11_ambiguous("several tokens and none labelled BELPIC", t, n);
		return -1;
	}
	for (i = 0; i < nb; i++) {
		if (p11_has_auth_cert(p, t[i].pt_slot)) {
			nauth++;
			pick = i;
		}
	}
	if (nauth == 1)
		return (int)pick;
	p11_ambiguous("several BELPIC tokens", t, nb);
	return -1;
}

int
login_p11_select(struct login_p11 *p, const char *label)
{
	struct p11_tok *toks;
	size_t n;
	int i;

	if (p11_tokens(p, &toks, &n) < 0)
		return -1;
	i = p11_choose(p, toks, n, label);
	if (i < 0) {
		free(toks);
		return -1;
	}
	p->lp_slot = toks[i].pt_slot;
	p->lp_flags = toks[i].pt_flags;
	memcpy(p->lp_label, toks[i].pt_label, sizeof(p->lp_label));
	free(toks);
	if (p11_open_session(p, p->lp_slot, &p->lp_sess) < 0)
		return -1;
	p->lp_has_sess = 1;
	return 0;
}

const char *
login_p11_token_label(const struct login_p11 *p)
{
	return p->lp_label;
}

/* ---- login ----------------------------------------------------------------------- */

static int
p11_login_result(struct login_p11 *p, CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
	case CKR_USER_ALREADY_LOGGED_IN:
		p->lp_logged_in = (rv == CKR_OK);
		return 0;
	case CKR_PIN_INCORRECT:
		/* Never retry: each try costs one of the card's three. */
		login_errx("wrong PIN (the card blocks after 3 wrong tries; not retrying)");
		return -1;
	case CKR_PIN_LOCKED:
		login_errx("the card's PIN is blocked after too many wrong tries; it must be "
		    "unblocked with the PUK before the card can log in again");
		return -1;
	case CKR_PIN_LEN_RANGE:
		login_errx("the PIN has the wrong length for this card (nothing was tried)");
		return -1;
	case CKR_FUNCTION_CANCELED:
		login_errx("PIN entry cancelled on the reader");
		return -1;
	default:
		p11_err("C_Login", rv);
		return -1;
	}
}

int
login_p11_login(struct login_p11 *p, int pin_stdin)
{
	char pin[LOGIN_MAX_PIN];
	CK_RV rv;

	if (!(p->lp_flags & CKF_LOGIN_REQUIRED))
		return 0;
	if (p->lp_flags & CKF_USER_PIN_LOCKED)
		return p11_login_result(p, CKR_PIN_LOCKED);
	if (p->lp_flags & CKF_USER_PIN_FINAL_TRY)
		login_errx("warning: one PIN try left before the card blocks");
	/* A reader with its own keypad takes the PIN itself, out of this host's reach,
	 * unless the caller explicitly pipes one in. */
	if ((p->lp_flags & CKF_PROTECTED_AUTHENTICATION_PATH) && !pin_stdin) {
		login_errx("enter the PIN for %s on the reader's keypad", p->lp_label);
		rv = p->lp_f->C_Login(p->lp_sess, CKU_USER, NULL, 0);
		return p11_login_result(p, rv);
	}
	if (login_pin_read(pin_stdin, p->lp_label, pin) < 0)
		return -1;
	rv = p->lp_f->C_Login(p->lp_sess, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
	/* STYLE §4: the PIN lives no longer than the call that needs it. */
	explicit_bzero(pin, sizeof(pin));
	return p11_login_result(p, rv);
}

/* ---- key, certificate, signature ------------------------------------------------- */

static int
p11_key(struct login_p11 *p, enum login_alg *alg)
{
	CK_OBJECT_HANDLE h[2];
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };
	CK_ULONG n;
	CK_RV rv;

	if (p11_find(p, p->lp_sess, CKO_PRIVATE_KEY, AUTH_LABEL, h, 2, &n) < 0)
		return -1;
	if (n != 1) {
		login_errx(n == 0 ? "token \"%s\" has no private key labelled "
		    "\"Authentication\"" : "token \"%s\" has several private keys labelled "
		    "\"Authentication\"; refusing to guess", p->lp_label);
		return -1;
	}
	rv = p->lp_f->C_GetAttributeValue(p->lp_sess, h[0], &a, 1);
	if (rv != CKR_OK) {
		p11_err("C_GetAttributeValue(CKA_KEY_TYPE)", rv);
		return -1;
	}
	/* CKK_ECDSA is the old name of CKK_EC (same value). */
	if (kt == CKK_RSA) {
		*alg = LOGIN_ALG_RSA_SHA256;
	} else if (kt == CKK_EC) {
		*alg = LOGIN_ALG_ECDSA_SHA384;
	} else {
		login_errx("the \"Authentication\" key has unsupported type 0x%lx (RSA or EC "
		    "expected)", (unsigned long)kt);
		return -1;
	}
	p->lp_key = h[0];
	return 0;
}

int
login_p11_find(struct login_p11 *p, enum login_alg *alg, X509 **cert, X509 **ca)
{
	int r;

	*cert = NULL;
	*ca = NULL;
	if (p11_key(p, alg) < 0)
		return -1;
	r = p11_cert_by_label(p, AUTH_LABEL, cert);
	if (r <= 0) {
		if (r == 0)
			login_errx("token \"%s\" has no certificate labelled "
			    "\"Authentication\"", p->lp_label);
		return -1;
	}
	if (login_cert_check(*cert, *alg) < 0)
		goto fail;
	/* The CA certificate is optional: the gateway also knows the intermediates. */
	if (p11_cert_by_label(p, CA_LABEL, ca) < 0)
		goto fail;
	return 0;
fail:
	X509_free(*cert);
	*cert = NULL;
	return -1;
}

int
login_p11_sign(struct login_p11 *p, enum login_alg alg, const unsigned char *tbs,
    size_t tbslen, unsigned char *sig, size_t *siglen, size_t cap)
{
	CK_MECHANISM mech = { alg == LOGIN_ALG_RSA_SHA256 ? CKM_RSA_PKCS : CKM_ECDSA,
			      NULL, 0 };
	CK_ULONG len = cap;
	CK_RV rv;

	rv = p->lp_f->C_SignInit(p->lp_sess, &mech, p->lp_key);
	if (rv != CKR_OK) {
		p11_err(alg == LOGIN_ALG_RSA_SHA256 ? "C_SignInit(CKM_RSA_PKCS)" :
		    "C_SignInit(CKM_ECDSA)", rv);
		return -1;
	}
	/* One call with a buffer big enough for any eID key: avoids the size-query round
	 * trip that some modules get wrong. */
	rv = p->lp_f->C_Sign(p->lp_sess, (CK_BYTE *)(uintptr_t)tbs, tbslen, sig, &len);
	if (rv != CKR_OK) {
		p11_err("C_Sign", rv);
		return -1;
	}
	*siglen = len;
	return 0;
}
