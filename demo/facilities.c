/*
 * facilities.c - the demo directory's facilities and regions, for the backends' routers.
 * The rows mirror demo/directory/organisations.tsv, which the demo's slapd is loaded
 * from, so that a facility the gateway authorised is one the backend knows.
 */
#include <stddef.h>
#include <string.h>

#include "demo/internal.h"

const struct bk_facility bk_facilities[] = {
	{ "ckg-molenberg", "CKG Molenberg", "limburg" },
	{ "ckg-betlehem", "CKG Betlehem", "antwerpen" },
	{ "ckg-de-schommel", "CKG De Schommel", "vlaams-brabant-brussel" },
	{ "ckg-den-boomgaard", "CKG Den Boomgaard", "oost-vlaanderen" },
	{ "cig-ten-anker", "CIG Ten Anker", "west-vlaanderen" },
};
const size_t bk_nfacilities = sizeof(bk_facilities) / sizeof(bk_facilities[0]);

const char *const bk_regions[] = {
	"antwerpen", "limburg", "oost-vlaanderen", "vlaams-brabant-brussel", "west-vlaanderen",
};
const size_t bk_nregions = sizeof(bk_regions) / sizeof(bk_regions[0]);

const struct bk_facility *
bk_facility_find(const char *id)
{
	size_t i;

	for (i = 0; i < bk_nfacilities; i++)
		if (strcmp(bk_facilities[i].bf_id, id) == 0)
			return &bk_facilities[i];
	return NULL;
}

int
bk_region_valid(const char *region)
{
	size_t i;

	for (i = 0; i < bk_nregions; i++)
		if (strcmp(bk_regions[i], region) == 0)
			return 1;
	return 0;
}
