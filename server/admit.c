/*
 * admit.c - the connection limits all event loops share: how many connections the
 * gateway holds ([listen] max_connections) and how many one address may hold
 * ([listen] max_connections_per_address, high enough for an organisation behind one NAT
 * address), and which balancers may put a PROXY header in front of a connection
 * ([listen] proxy_protocol, proxy_from).
 *
 * Per-address counts live in an open-addressing table keyed by the address text, sized
 * for max_connections entries (an address with no connection left is removed, so the
 * table never holds more addresses than connections). One mutex: taken twice per
 * connection, not per request.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "server/internal.h"

#define MAX_NETS 64


struct slot {
	char addr[INET6_ADDRSTRLEN];    /* "" free */
	unsigned count;
};

struct admit {
	pthread_mutex_t mu;
	struct slot *slots;
	size_t nslots;
	unsigned total, max_total, max_addr;
	int proxy_on;
	struct eg_net nets[MAX_NETS];
	int nnets;
};

static int
nets_load(struct admit *a, const char *list)
{
	char item[INET6_ADDRSTRLEN + 8];
	const char *e;
	size_t n;

	for (; *list != '\0'; list = *e == ',' ? e + 1 : e) {
		e = list + strcspn(list, ",");
		n = (size_t)(e - list);
		if (n == 0)
			continue;
		if (n >= sizeof(item) || a->nnets == MAX_NETS) {
			log_warnx("[listen] proxy_from: at most %d networks", MAX_NETS);
			return -1;
		}
		memcpy(item, list, n);
		item[n] = '\0';
		if (!eg_net_parse(item, &a->nets[a->nnets++])) {
			log_warnx("[listen] proxy_from: \"%s\" is not an address or network", item);
			return -1;
		}
	}
	return 0;
}

int
admit_new(const struct eg_config *cfg, struct admit **out)
{
	struct admit *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (a == NULL)
		return EG_ERR_NOMEM;
	a->max_total = (unsigned)cfg->max_connections;
	a->max_addr = (unsigned)cfg->max_connections_per_address;
	a->proxy_on = cfg->proxy_protocol;
	/* Twice the addresses there can be: probes stay short. */
	a->nslots = (size_t)a->max_total * 2 + 16;
	if ((a->slots = calloc(a->nslots, sizeof(*a->slots))) == NULL ||
	    pthread_mutex_init(&a->mu, NULL) != 0) {
		free(a->slots);
		free(a);
		return EG_ERR_NOMEM;
	}
	if (nets_load(a, cfg->proxy_from) != 0) {
		admit_free(a);
		return EG_ERR_CONFIG;
	}
	*out = a;
	return EG_OK;
}

void
admit_free(struct admit *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->mu);
	free(a->slots);
	free(a);
}

/* Where addr's probe sequence starts. */
static size_t
home(const struct admit *a, const char *addr)
{
	return eg_fnv1a(EG_FNV1A_INIT, addr, strlen(addr)) % a->nslots;
}

/* The slot of addr, or (create) the free slot where it goes; NULL when absent or full. */
static struct slot *
find(struct admit *a, const char *addr, int create)
{
	size_t i = home(a, addr), probes;
	struct slot *s;

	for (probes = 0; probes < a->nslots; probes++, i = (i + 1) % a->nslots) {
		s = &a->slots[i];
		if (s->addr[0] == '\0') {
			if (!create)
				return NULL;
			eg_strlcpy(s->addr, addr, sizeof(s->addr));
			s->count = 0;
			return s;
		}
		if (strcmp(s->addr, addr) == 0)
			return s;
	}
	return NULL;
}

/* Linear probing's deletion by backward shift (Knuth 6.4, algorithm R): the entries
 * after the hole that would no longer be found move into it, so no tombstones pile up
 * under a steady churn of addresses. */
static void
remove_slot(struct admit *a, struct slot *s)
{
	size_t i = (size_t)(s - a->slots), j = i, k;

	for (;;) {
		j = (j + 1) % a->nslots;
		if (a->slots[j].addr[0] == '\0')
			break;
		k = home(a, a->slots[j].addr);
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			a->slots[i] = a->slots[j];
			i = j;
		}
	}
	memset(&a->slots[i], 0, sizeof(a->slots[i]));
}

enum admit_verdict
admit_take(struct admit *a, const char *addr, int force)
{
	enum admit_verdict v = ADMIT_OK;
	struct slot *s;

	pthread_mutex_lock(&a->mu);
	if (a->total >= a->max_total && !force)
		v = ADMIT_FULL;
	else if ((s = find(a, addr, 1)) == NULL || s->count >= a->max_addr)
		v = ADMIT_ADDRESS_FULL;
	else {
		s->count++;
		a->total++;
	}
	pthread_mutex_unlock(&a->mu);
	return v;
}

void
admit_release(struct admit *a, const char *addr)
{
	struct slot *s;

	pthread_mutex_lock(&a->mu);
	if ((s = find(a, addr, 0)) != NULL && s->count > 0) {
		a->total--;
		if (--s->count == 0)
			remove_slot(a, s);
	}
	pthread_mutex_unlock(&a->mu);
}

int
admit_proxy_on(const struct admit *a)
{
	return a->proxy_on;
}

int
admit_expects_proxy(const struct admit *a, const struct sockaddr *sa)
{
	const unsigned char *addr;
	int i;

	if (!a->proxy_on)
		return 0;
	if (sa->sa_family == AF_INET)
		addr = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		addr = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	else
		return 0;
	for (i = 0; i < a->nnets; i++)
		if (eg_net_has(&a->nets[i], sa->sa_family, addr))
			return 1;
	return 0;
}
