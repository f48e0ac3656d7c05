/*
 * echo.c - /__echo: the body's size, FNV-1a 64 and SHA-256, computed as it streams past
 * so that bodies of any size are checked without being kept, and the names of the
 * headers that reached the backend.
 */
#include <inttypes.h>
#include <stdio.h>

#include <openssl/evp.h>

#include "eidgate/util.h"

#include "demo/internal.h"

static enum MHD_Result
collect_name(void *cls, enum MHD_ValueKind kind, const char *name, const char *value)
{
	json_t *names = cls;
	char lower[128];
	size_t i;

	(void)kind;
	(void)value;
	for (i = 0; name[i] != '\0' && i + 1 < sizeof(lower); i++)
		lower[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
	lower[i] = '\0';
	return json_array_append_new(names, bk_text_value(lower)) == 0 ? MHD_YES : MHD_NO;
}

/* The names of every request header (lower case), so that a test can see which
 * headers the gateway removed (hop-by-hop ones) and which it let through. */
static json_t *
header_names(struct MHD_Connection *conn)
{
	json_t *names = json_array();

	if (names != NULL &&
	    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_name, names) < 0) {
		json_decref(names);
		return NULL;
	}
	return names;
}

void
bk_echo_take(struct bk_req *req, const char *data, size_t len)
{
	req->br_fnv = eg_fnv1a(req->br_fnv, data, len);
	/* SHA-256 as well: a client can compute it at C speed, FNV it cannot for 1 GiB. */
	if (req->br_sha == NULL && req->br_body_bytes == len) {
		req->br_sha = EVP_MD_CTX_new();
		if (req->br_sha != NULL && EVP_DigestInit_ex(req->br_sha, EVP_sha256(), NULL) != 1) {
			EVP_MD_CTX_free(req->br_sha);
			req->br_sha = NULL;
		}
	}
	if (req->br_sha != NULL && EVP_DigestUpdate(req->br_sha, data, len) != 1) {
		EVP_MD_CTX_free(req->br_sha);
		req->br_sha = NULL;
	}
}

/* Hex SHA-256 of the echoed body ("" when it could not be computed). */
static void
echo_sha256(struct bk_req *req, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;
	EVP_MD_CTX *c = req->br_sha;

	out[0] = '\0';
	if (c == NULL) {
		/* No body at all: the digest of nothing. */
		if ((c = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
			EVP_MD_CTX_free(c);
			return;
		}
		req->br_sha = c;
	}
	if (EVP_DigestFinal_ex(c, md, &len) != 1 || len != sizeof(md))
		return;
	eg_hex(md, sizeof(md), out);
}

enum MHD_Result
bk_echo_reply(const struct bk_call *call)
{
	char hex[17], sha[65];

	snprintf(hex, sizeof(hex), "%016" PRIx64, call->bc_req->br_fnv);
	echo_sha256(call->bc_req, sha);
	return bk_reply_json(call, MHD_HTTP_OK, json_pack("{s:I, s:s, s:s, s:o}",
	    "body_bytes", (json_int_t)call->bc_req->br_body_bytes, "body_fnv64", hex,
	    "body_sha256", sha, "header_names", header_names(call->bc_conn)));
}
