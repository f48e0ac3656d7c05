/*
 * admin.c - the rights-management JSON API (PRODUCT.md §8).
 */
#include "proxy/internal.h"

enum MHD_Result
admin_api(struct request *r, const char *body, size_t len)
{
	(void)body;
	(void)len;
	return respond_error(r, 404, "not-found", "There is nothing here.");
}
