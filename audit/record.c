/* record.c - the binary form of one access-log record (layout in audit/internal.h). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "audit/internal.h"

#define F(id, name) { id, #name, offsetof(struct audit_record, name) }
/* Ids are stored on disk: append new fields with new ids, never renumber. */
const struct audit_field audit_fields[] = {
	F(1, kind), F(2, request_id), F(3, client), F(4, nrn), F(5, cert_sha256),
	F(6, session), F(7, org), F(8, facility), F(9, capacity), F(10, method),
	F(11, path), F(12, rule), F(13, decision), F(14, reason), F(15, backend),
	F(16, policy_version), F(17, actor), F(18, action), F(19, target), F(20, role),
	F(21, scope), F(22, acting_org), F(23, acting_facility), F(24, key),
	F(25, instance),
	F(26, grants), F(27, context), F(28, capacities), F(29, facility_orgs),
	F(30, revocation), F(31, policy_sha256), F(32, intent), F(33, intent_cert),
	F(34, until), F(35, authority),
};
#undef F
const size_t audit_nfields = sizeof(audit_fields) / sizeof(audit_fields[0]);

const char *
audit_field_get(const struct audit_record *r, const struct audit_field *f)
{
	const char *const *p = (const char *const *)(const void *)((const char *)r + f->off);

	return *p;
}

static void
field_set(struct audit_record *r, const struct audit_field *f, const char *v)
{
	const char **p = (const char **)(void *)((char *)r + f->off);

	*p = v;
}

static void
be32_put(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

size_t
audit_record_size(const struct audit_record *r, const char **bad)
{
	size_t i, len = AUDIT_VALUE_MIN;

	for (i = 0; i < audit_nfields; i++) {
		const char *s = audit_field_get(r, &audit_fields[i]);
		size_t n;

		if (s == NULL)
			continue;
		n = strlen(s);
		if (n > EG_MAX_AUDIT_FIELD) {
			*bad = audit_fields[i].name;
			return 0;
		}
		len += 3 + n;
	}
	return len;
}

void
audit_record_encode(const struct audit_record *r, unsigned char *out)
{
	unsigned char *p = out + AUDIT_HASH_LEN;
	size_t i;

	memset(out, 0, AUDIT_HASH_LEN);
	*p++ = AUDIT_FORMAT;
	audit_be64_put(p, (uint64_t)r->time_us);
	audit_be64_put(p + 8, r->seq);
	be32_put(p + 16, (uint32_t)r->upstream_status);
	audit_be64_put(p + 20, r->bytes);
	audit_be64_put(p + 28, r->latency_us);
	p += AUDIT_HDR_LEN - 1;
	for (i = 0; i < audit_nfields; i++) {
		const char *s = audit_field_get(r, &audit_fields[i]);
		size_t n;

		if (s == NULL)
			continue;
		n = strlen(s);
		*p++ = audit_fields[i].id;
		*p++ = (unsigned char)(n >> 8);
		*p++ = (unsigned char)n;
		memcpy(p, s, n);
		p += n;
	}
}

const struct audit_field *
audit_field_by_id(unsigned id)
{
	/* Ids run 1..audit_nfields without gaps (audit_test checks it): index directly,
	 * since the decoder asks for every field it reads. */
	return id == 0 || id > audit_nfields ? NULL : &audit_fields[id - 1];
}

static int
decode_header(const unsigned char *p, struct audit_record *r, const char **why)
{
	if (p[0] != AUDIT_FORMAT) {
		*why = "unknown record version";
		return -1;
	}
	r->time_us = (int64_t)audit_be64_get(p + 1);
	r->seq = audit_be64_get(p + 9);
	r->upstream_status = (int)(int32_t)(((uint32_t)p[17] << 24) | ((uint32_t)p[18] << 16) |
	    ((uint32_t)p[19] << 8) | p[20]);
	r->bytes = audit_be64_get(p + 21);
	r->latency_us = audit_be64_get(p + 29);
	return 0;
}

int
audit_record_decode(const unsigned char *val, size_t len, struct audit_record *r,
    char *buf, size_t buflen, const char **why)
{
	size_t pos = AUDIT_VALUE_MIN, used = 0;
	unsigned last_id = 0;

	memset(r, 0, sizeof(*r));
	if (len < AUDIT_VALUE_MIN || buflen < len) {
		*why = len < AUDIT_VALUE_MIN ? "record too short" : "decode buffer too small";
		return -1;
	}
	if (decode_header(val + AUDIT_HASH_LEN, r, why) != 0)
		return -1;
	while (pos < len) {
		const struct audit_field *f;
		size_t n;

		if (len - pos < 3) {
			*why = "truncated field header";
			return -1;
		}
		/* Strictly increasing ids: one encoding per record, no duplicate fields. */
		f = audit_field_by_id(val[pos]);
		if (f == NULL || val[pos] <= last_id) {
			*why = "bad field id";
			return -1;
		}
		last_id = val[pos];
		n = ((size_t)val[pos + 1] << 8) | val[pos + 2];
		pos += 3;
		if (n > len - pos || memchr(val + pos, '\0', n) != NULL) {
			*why = n > len - pos ? "field runs past the record" : "NUL inside a field";
			return -1;
		}
		/* Each field costs 3 + n bytes of val and n + 1 of buf, so buf (>= len) fits. */
		memcpy(buf + used, val + pos, n);
		buf[used + n] = '\0';
		field_set(r, f, buf + used);
		used += n + 1;
		pos += n;
	}
	return 0;
}

int
audit_record_find(const unsigned char *val, size_t len, unsigned id, size_t *off,
    size_t *flen)
{
	size_t pos = AUDIT_VALUE_MIN;

	while (len >= 3 && pos <= len - 3) {
		size_t n = ((size_t)val[pos + 1] << 8) | val[pos + 2];

		if (n > len - pos - 3)
			break;
		if (val[pos] == id) {
			*off = pos + 3;
			*flen = n;
			return 0;
		}
		pos += 3 + n;
	}
	*off = 0;
	*flen = 0;
	return -1;
}

int
audit_record_decode_buf(const unsigned char *val, size_t len, struct audit_record *r,
    struct audit_strbuf *b, const char **why)
{
	char *nb;

	if (len > b->cap) {
		if ((nb = realloc(b->p, len)) == NULL) {
			*why = "out of memory";
			return -1;
		}
		b->p = nb;
		b->cap = len;
	}
	return audit_record_decode(val, len, r, b->p, b->cap, why);
}

int
audit_instance_valid(const char *name)
{
	size_t i, n;

	if (name == NULL || (n = strlen(name)) == 0 || n > AUDIT_INSTANCE_MAX ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}
