/* err.c - texts for the codes in err.h. */
#include "eidgate/err.h"

const char *
eg_err(int err)
{
	switch (err) {
#define EG_ERR_TEXT(name, val, code, text) case val: return text;
	EG_ERR_LIST(EG_ERR_TEXT)
#undef EG_ERR_TEXT
	}
	return "unknown error";
}

const char *
eg_err_code(int err)
{
	switch (err) {
#define EG_ERR_CODE(name, val, code, text) case val: return code;
	EG_ERR_LIST(EG_ERR_CODE)
#undef EG_ERR_CODE
	}
	return "unknown";
}
