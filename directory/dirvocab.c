/*
 * dirvocab.c - the vocabulary of the directory (PRODUCT.md §4): roles per kind of scope,
 * scope strings, identifiers and the names administrators type. Every value that goes
 * into a DN or a filter passes one of these checks first (directory.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/util.h"

static const char *const org_roles[] = { "vte", "co-vte", "lb", "security-officer", NULL };
static const char *const facility_roles[] = { "lb", "member", "moduleerder",
	"insisto-aanmelder", "insisto-raadpleger", NULL };
static const char *const region_roles[] = { "indicatiesteller", "jeugdhulpregisseur", NULL };
static const char *const regions[] = { "antwerpen", "limburg", "oost-vlaanderen",
	"vlaams-brabant-brussel", "west-vlaanderen", NULL };
static const char *const sectors[] = { "bjb", "kg", "vaph", "clb", "cgg", "aww", NULL };
static const char *const capacities[] = { "jeugdhulp", "gezinsondersteuning",
	"algemeen-welzijn", "ggz", "handicap", NULL };

static int
in_list(const char *const *list, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

const char *const *
dir_roles_of(enum eg_scope_kind kind)
{
	switch (kind) {
	case EG_SCOPE_ORGANISATION:
		return org_roles;
	case EG_SCOPE_FACILITY:
		return facility_roles;
	case EG_SCOPE_REGION:
		return region_roles;
	}
	return region_roles + 2;        /* the empty list: an impossible kind holds nothing */
}

int
dir_role_on(const char *role, enum eg_scope_kind kind)
{
	return in_list(dir_roles_of(kind), role);
}

int
dir_role_known(const char *role)
{
	return in_list(org_roles, role) || in_list(facility_roles, role) ||
	    in_list(region_roles, role);
}

int
dir_valid_region(const char *s)
{
	return in_list(regions, s);
}

int
dir_valid_sector(const char *s)
{
	return in_list(sectors, s);
}

int
dir_valid_capacity(const char *s)
{
	return in_list(capacities, s);
}

/* Belgian enterprise (KBO/BCE) number: mod-97 check over the first eight digits. */
int
dir_valid_org_number(const char *s)
{
	unsigned long body = 0;
	size_t i;

	if (s == NULL || !eg_all_digits(s, 10) || (s[0] != '0' && s[0] != '1'))
		return 0;
	for (i = 0; i < 8; i++)
		body = body * 10 + (unsigned long)(s[i] - '0');
	return (unsigned long)((s[8] - '0') * 10 + (s[9] - '0')) == 97 - body % 97;
}

int
dir_valid_facility_id(const char *s)
{
	size_t i, n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n >= EG_MAX_ID)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

int
dir_scope_parse(const char *text, struct dir_scope *out)
{
	const char *colon = text != NULL ? strchr(text, ':') : NULL;
	const char *id;
	size_t klen;

	memset(out, 0, sizeof(*out));
	if (colon == NULL || strlen(colon + 1) >= sizeof(out->id))
		return EG_ERR_PARSE;
	klen = (size_t)(colon - text);
	id = colon + 1;
	if (klen == 12 && strncmp(text, "organisation", klen) == 0 && dir_valid_org_number(id)) {
		out->kind = EG_SCOPE_ORGANISATION;
		eg_strlcpy(out->org, id, sizeof(out->org));
	} else if (klen == 8 && strncmp(text, "facility", klen) == 0 &&
	    dir_valid_facility_id(id)) {
		out->kind = EG_SCOPE_FACILITY;
	} else if (klen == 6 && strncmp(text, "region", klen) == 0 && dir_valid_region(id)) {
		out->kind = EG_SCOPE_REGION;
	} else {
		return EG_ERR_PARSE;
	}
	eg_strlcpy(out->id, id, sizeof(out->id));
	return EG_OK;
}

const char *
dir_scope_kind_name(enum eg_scope_kind kind)
{
	static const char *const kinds[] = { "organisation", "facility", "region" };

	return (unsigned)kind < 3 ? kinds[kind] : "?";
}

void
dir_scope_format(const struct dir_scope *s, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s:%s", dir_scope_kind_name(s->kind), s->id);
}

/* Decodes one UTF-8 sequence (RFC 3629: no overlongs, no surrogates, <= U+10FFFF);
 * returns its length or 0 when invalid. */
static size_t
utf8_next(const unsigned char *p, uint32_t *cp)
{
	size_t n, i;
	uint32_t c = p[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, c &= 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static int
forbidden_char(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) ||          /* C0, DEL, C1 controls */
	    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||  /* bidi */
	    c == 0x200e || c == 0x200f || c == 0x061c || c == 0xfeff;
}

int
dir_valid_name(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0, len, step;
	uint32_t c;

	if (s == NULL || (len = strlen(s)) == 0 || len >= EG_MAX_NAME || s[0] == ' ' ||
	    s[len - 1] == ' ')
		return 0;
	while (*p != '\0') {
		if ((step = utf8_next(p, &c)) == 0 || forbidden_char(c))
			return 0;
		p += step;
		if (++chars > EG_MAX_NAME_CHARS)
			return 0;
	}
	return 1;
}

void
dir_split_name(const char *name, char *given, size_t glen, char *surname, size_t slen)
{
	const char *sp = strchr(name, ' ');

	if (sp == NULL) {
		given[0] = '\0';
		eg_strlcpy(surname, name, slen);
		return;
	}
	snprintf(given, glen, "%.*s", (int)(sp - name), name);
	while (*sp == ' ')
		sp++;
	eg_strlcpy(surname, sp, slen);
}
