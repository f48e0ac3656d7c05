/*
 * limits.h - the one home of every cap eidgate puts on input. A limit that is not here
 * does not exist; code that needs a new one adds it here with the reason.
 */
#ifndef EIDGATE_LIMITS_H
#define EIDGATE_LIMITS_H

/* A config or policy line longer than this is an error, not silently cut. */
#define EG_MAX_LINE 4096
/* Request targets longer than this get 414; real module/dossier URLs stay far below. */
#define EG_MAX_PATH 4096
/* Client chains: leaf + intermediate(s); a real eID sends two, a hostile client hundreds. */
#define EG_MAX_CHAIN 8
/* National numbers are 11 digits. */
#define EG_NRN_LEN 11
/* Names in certificates and LDAP: eID CNs stay well under 128 bytes of UTF-8. */
#define EG_MAX_NAME 256
/* Role, scope and identifier lengths as stored in the directory. */
#define EG_MAX_ID 64
/* Role grants a single person may hold; more means a broken or hostile directory. */
#define EG_MAX_GRANTS 256
/* Rules and backends in one policy file. */
#define EG_MAX_RULES 200000
#define EG_MAX_BACKENDS 256
/* Segments in one policy path pattern or request path. */
#define EG_MAX_SEGMENTS 64
/* Size of a header value eidgate builds (assertion, forwarded-for). */
#define EG_MAX_HEADER 8192
/* Default cap on a forwarded request body when the backend names none. */
#define EG_DEFAULT_MAX_BODY (64ULL * 1024 * 1024)
/* Bytes buffered per direction per proxied request before back-pressure applies. */
#define EG_PROXY_BUF (256 * 1024)

#endif
