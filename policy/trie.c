/*
 * trie.c - path patterns compiled into a segment trie, so that finding the rules that
 * match a request costs the depth of the path, not the number of rules.
 *
 * Each node has its literal children in an array sorted by name (binary search; a hash
 * index on top when there are many, see index_children), one
 * child for `{param}` and `*` (both match exactly one non-empty segment; the rule knows
 * which segment a parameter captures by its position), the rules whose pattern ends
 * exactly here, and the rules whose pattern ends here with `**` (zero or more further
 * segments). Rule lists hold rule indices in file order.
 *
 * A trie node at depth d can only be reached along one path from the root, so a match
 * visits each node at most once: the cost is bounded by the trie, whatever the mix of
 * literal and parameter segments.
 */
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "policy/internal.h"

struct trie_lit {
	char *name;
	struct trie_node *node;
};

struct rule_list {
	uint32_t *v;
	size_t n, cap;
};

struct trie_node {
	struct trie_lit *lits;
	size_t nlits, caplits;
	uint32_t *hidx;             /* large nodes: hash of lits (index + 1, 0 free), or NULL */
	size_t hcap;                /* power of two, at least twice nlits */
	struct trie_node *param;
	struct rule_list exact;
	struct rule_list glob;
};

/* Build-time index of literal edges: (parent, name) -> child. Without it, inserting
 * 200,000 siblings would scan the sibling array each time. */
struct edge_index {
	struct trie_lit *slot;      /* name NULL: free; node: child; parent in pslot */
	const struct trie_node **pslot;
	size_t cap, n;
};

struct trie_node *
trie_new(void)
{
	return calloc(1, sizeof(struct trie_node));
}

void
trie_free(struct trie_node *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nlits; i++) {
		free(t->lits[i].name);
		trie_free(t->lits[i].node);
	}
	free(t->lits);
	free(t->hidx);
	trie_free(t->param);
	free(t->exact.v);
	free(t->glob.v);
	free(t);
}

static int
list_add(struct rule_list *l, uint32_t rule)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 4;
		uint32_t *nv = realloc(l->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return EG_ERR_NOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = rule;
	return EG_OK;
}

static size_t
edge_hash(const struct trie_node *parent, const char *name, size_t cap)
{
	uint64_t h = eg_fnv1a(EG_FNV1A_INIT ^ (uint64_t)(uintptr_t)parent, name, strlen(name));

	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static size_t
edge_find(const struct edge_index *ix, const struct trie_node *parent, const char *name)
{
	size_t k = edge_hash(parent, name, ix->cap);

	while (ix->slot[k].name != NULL &&
	    (ix->pslot[k] != parent || strcmp(ix->slot[k].name, name) != 0))
		k = (k + 1) & (ix->cap - 1);
	return k;
}

static int
edge_grow(struct edge_index *ix)
{
	struct edge_index n = { NULL, NULL, ix->cap ? ix->cap * 2 : 1024, ix->n };
	size_t i, k;

	n.slot = calloc(n.cap, sizeof(*n.slot));
	n.pslot = calloc(n.cap, sizeof(*n.pslot));
	if (n.slot == NULL || n.pslot == NULL) {
		free(n.slot);
		free(n.pslot);
		return EG_ERR_NOMEM;
	}
	for (i = 0; i < ix->cap; i++) {
		if (ix->slot[i].name == NULL)
			continue;
		k = edge_find(&n, ix->pslot[i], ix->slot[i].name);
		n.slot[k] = ix->slot[i];
		n.pslot[k] = ix->pslot[i];
	}
	free(ix->slot);
	free(ix->pslot);
	*ix = n;
	return EG_OK;
}

/* Returns the literal child `name` of t, creating it if needed. */
static struct trie_node *
lit_child(struct edge_index *ix, struct trie_node *t, const char *name)
{
	struct trie_lit *nl;
	size_t k;

	if ((ix->n + 1) * 2 > ix->cap && edge_grow(ix) != EG_OK)
		return NULL;
	k = edge_find(ix, t, name);
	if (ix->slot[k].name != NULL)
		return ix->slot[k].node;
	if (t->nlits == t->caplits) {
		size_t ncap = t->caplits ? t->caplits * 2 : 2;
		if ((nl = realloc(t->lits, ncap * sizeof(*nl))) == NULL)
			return NULL;
		t->lits = nl;
		t->caplits = ncap;
	}
	nl = &t->lits[t->nlits];
	if ((nl->name = strdup(name)) == NULL || (nl->node = trie_new()) == NULL) {
		free(nl->name);
		return NULL;
	}
	t->nlits++;
	ix->slot[k] = *nl;
	ix->pslot[k] = t;
	ix->n++;
	return nl->node;
}

static int
insert_rule(struct edge_index *ix, struct trie_node *t, const struct policy_rule *r,
    uint32_t idx)
{
	size_t i;

	for (i = 0; i < r->nsegs; i++) {
		const struct policy_seg *s = &r->segs[i];
		if (s->kind == SEG_GLOB)
			return list_add(&t->glob, idx);
		if (s->kind == SEG_LITERAL)
			t = lit_child(ix, t, s->text);
		else if (t->param != NULL || (t->param = trie_new()) != NULL)
			t = t->param;
		else
			t = NULL;
		if (t == NULL)
			return EG_ERR_NOMEM;
	}
	return list_add(&t->exact, idx);
}

static int
lit_cmp(const void *a, const void *b)
{
	return strcmp(((const struct trie_lit *)a)->name, ((const struct trie_lit *)b)->name);
}

/* FNV-1a of a segment that is not NUL-terminated. */
static uint64_t
seg_hash(const char *s, size_t len)
{
	uint64_t h = eg_fnv1a(EG_FNV1A_INIT, s, len);

	return h ^ (h >> 29);
}

/*
 * A node with many literal children (the facilities under /modules/facilities/ in a
 * generated policy: tens of thousands) gets a hash index: binary search there costs
 * about 15 string compares, each a cache miss, and was a quarter of a decision's time at
 * 100,000 rules (perf, bench/policy.sh). Small nodes keep the binary search.
 */
#define TRIE_HASH_MIN 16

static int
index_children(struct trie_node *t)
{
	size_t cap = 2 * TRIE_HASH_MIN, i, k;

	if (t->nlits < TRIE_HASH_MIN)
		return EG_OK;
	while (cap < 2 * t->nlits)
		cap *= 2;
	if ((t->hidx = calloc(cap, sizeof(*t->hidx))) == NULL)
		return EG_ERR_NOMEM;
	t->hcap = cap;
	for (i = 0; i < t->nlits; i++) {
		k = seg_hash(t->lits[i].name, strlen(t->lits[i].name)) & (cap - 1);
		while (t->hidx[k] != 0)
			k = (k + 1) & (cap - 1);
		t->hidx[k] = (uint32_t)(i + 1);
	}
	return EG_OK;
}

static int
sort_children(struct trie_node *t)
{
	size_t i;

	if (t->nlits > 1)
		qsort(t->lits, t->nlits, sizeof(*t->lits), lit_cmp);
	if (index_children(t) != EG_OK)
		return EG_ERR_NOMEM;
	for (i = 0; i < t->nlits; i++)
		if (sort_children(t->lits[i].node) != EG_OK)
			return EG_ERR_NOMEM;
	return t->param != NULL ? sort_children(t->param) : EG_OK;
}

int
trie_build(struct policy *p)
{
	struct edge_index ix = { NULL, NULL, 0, 0 };
	size_t i;
	int r = EG_OK;

	if ((p->root = trie_new()) == NULL)
		return EG_ERR_NOMEM;
	for (i = 0; i < p->nrules && r == EG_OK; i++)
		r = insert_rule(&ix, p->root, &p->rules[i], (uint32_t)i);
	free(ix.slot);
	free(ix.pslot);
	if (r == EG_OK)
		r = sort_children(p->root);
	return r;
}

static const struct trie_node *
find_hashed(const struct trie_node *t, const char *seg, size_t len)
{
	size_t k = seg_hash(seg, len) & (t->hcap - 1);

	for (; t->hidx[k] != 0; k = (k + 1) & (t->hcap - 1)) {
		const char *name = t->lits[t->hidx[k] - 1].name;
		if (strncmp(name, seg, len) == 0 && name[len] == '\0')
			return t->lits[t->hidx[k] - 1].node;
	}
	return NULL;
}

static const struct trie_node *
find_lit(const struct trie_node *t, const char *seg, size_t len)
{
	size_t lo = 0, hi = t->nlits;

	if (t->hidx != NULL)
		return find_hashed(t, seg, len);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *name = t->lits[mid].name;
		int c = strncmp(name, seg, len);
		if (c == 0 && name[len] != '\0')
			c = 1;          /* name is longer: it sorts after seg */
		if (c == 0)
			return t->lits[mid].node;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void
visit(const struct trie_node *t, size_t depth, const struct path_segs *ps,
    trie_visit_fn fn, void *arg)
{
	const struct trie_node *child;
	size_t i;

	for (i = 0; i < t->glob.n; i++)
		fn(arg, t->glob.v[i]);
	if (depth == ps->n) {
		for (i = 0; i < t->exact.n; i++)
			fn(arg, t->exact.v[i]);
		return;
	}
	/* Patterns are at most EG_MAX_SEGMENTS deep, so beyond the stored segments only
	 * the `**` rules seen above can match. */
	if (depth >= ps->stored)
		return;
	if (t->nlits > 0 && (child = find_lit(t, ps->ptr[depth], ps->len[depth])) != NULL)
		visit(child, depth + 1, ps, fn, arg);
	if (t->param != NULL && ps->len[depth] > 0)
		visit(t->param, depth + 1, ps, fn, arg);
}

void
trie_match(const struct trie_node *root, const struct path_segs *ps, trie_visit_fn fn,
    void *arg)
{
	visit(root, 0, ps, fn, arg);
}
