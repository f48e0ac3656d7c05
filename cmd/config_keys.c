/*
 * config_keys.c - `eidgate check-config --keys`: every key of the configuration with its
 * type, default and range, straight from the option table (config_key_at).
 *
 * eidgate.conf(5) gives each key the same type and the same "Default..." sentence;
 * tests/man/manpages_test.sh compares the page with this output, so the page cannot
 * drift from the table. Numbers are printed in the largest unit that states them
 * exactly, as an operator would write them in the file.
 */
#include <stdio.h>
#include <string.h>

#include "eidgate/config.h"
#include "cmd/internal.h"

static void
format_duration(long long ms, char *out, size_t outlen)
{
	static const struct { const char *unit; long long ms; } units[] = {
		{ "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
	};
	size_t i;

	if (ms == 0) {
		snprintf(out, outlen, "0s");
		return;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms % units[i].ms == 0) {
			snprintf(out, outlen, "%lld%s", ms / units[i].ms, units[i].unit);
			return;
		}
	}
	snprintf(out, outlen, "%lldms", ms);
}

static void
format_size(long long n, char *out, size_t outlen)
{
	static const struct { const char *unit; int shift; } units[] = {
		{ "TiB", 40 }, { "GiB", 30 }, { "MiB", 20 }, { "KiB", 10 },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (n != 0 && n % (1LL << units[i].shift) == 0) {
			snprintf(out, outlen, "%lld%s", n >> units[i].shift, units[i].unit);
			return;
		}
	}
	snprintf(out, outlen, "%lld", n);
}

static void
format_bound(const struct config_key *k, long long v, char *out, size_t outlen)
{
	if (strcmp(k->type, "duration") == 0)
		format_duration(v, out, outlen);
	else if (strcmp(k->type, "size") == 0)
		format_size(v, out, outlen);
	else
		snprintf(out, outlen, "%lld", v);
}

/* The sentence eidgate.conf(5) has under the key: "Required.", "Default: 2s; range:
 * 10ms to 1m.", "Default: group; one of: full, group, none." or "Default: empty." */
static void
describe(const struct config_key *k, char *out, size_t outlen)
{
	char lo[32], hi[32];
	size_t n, i;

	if (k->def == NULL) {
		snprintf(out, outlen, "Required.");
		return;
	}
	n = (size_t)snprintf(out, outlen, "Default: %s", k->def[0] ? k->def : "empty");
	if (k->bounded && n < outlen) {
		format_bound(k, k->min, lo, sizeof(lo));
		format_bound(k, k->max, hi, sizeof(hi));
		n += (size_t)snprintf(out + n, outlen - n, "; range: %s to %s", lo, hi);
	}
	for (i = 0; k->values[i] != NULL && n < outlen; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%s", i == 0 ? "; one of: " : ", ",
		    k->values[i]);
	if (n < outlen)
		snprintf(out + n, outlen - n, ".");
}

int
cmd_config_keys(void)
{
	struct config_key k;
	char text[256];
	size_t i;

	for (i = 0; config_key_at(i, &k); i++) {
		describe(&k, text, sizeof(text));
		printf("[%s] %s\t%s\t%s\n", k.section, k.key, k.type, text);
	}
	return EXIT_OK;
}
