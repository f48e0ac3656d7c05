/*
 * log.h - the operational log on stderr (the journal under systemd).
 *
 * This is not the access log: log_* never records a decision (see audit.h). Lines carry a
 * level and, for requests, the request id and stage the caller puts in the message.
 * National numbers are masked before they reach this log: by the caller (log_mask_nrn) and,
 * for what slipped through, in every line (log_mask_text). A line break inside a message
 * becomes a space (text) or is escaped (json), so no input can forge a line.
 *
 * log_warn/log_fatal append strerror(errno); log_warnx/log_fatalx do not (relayd style).
 * Thread safety: every function may be called from any thread; a line is written with
 * a single write(2) so lines from different threads do not interleave.
 */
#ifndef EIDGATE_LOG_H
#define EIDGATE_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };
/* text: "eidgate: warn: message"; json: {"time","level","prog","msg"} for a SIEM. */
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Lines below `min` are dropped. Call once at startup, before threads start. */
void log_init(const char *progname, enum log_level min);
/* [log] format and level, once the configuration is read; before threads start. */
void log_configure(enum log_format fmt, enum log_level min);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "eidgate: <msg>" on stderr and exit(1). For startup only, never on a request. */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void log_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Writes "85*******60" style masking of an 11-digit national number into out (>= 12
 * bytes). Anything that is not 11 digits becomes "?". */
void log_mask_nrn(const char *nrn, char *out, size_t outlen);
/* Masks, in place, every national number in s that stands alone (11 digits, or the
 * printed form 85.07.30-033.61), keeping the first and last two digits. Every line
 * log_* writes goes through it. */
void log_mask_text(char *s);

#endif
