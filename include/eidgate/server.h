/*
 * proxy.h - the gateway: TLS listener, request pipeline, forwarding, built-in pages.
 *
 * proxy/ drives auth/, policy/ (with the directory resolver) and audit/; none of them
 * calls back into proxy/.
 */
#ifndef EIDGATE_PROXY_H
#define EIDGATE_PROXY_H

/* Runs `eidgate serve -c FILE` in the foreground until SIGTERM or SIGINT. Returns the
 * process exit code: 0 after a clean shutdown, 1 when startup failed (with the reason on
 * stderr). */
int proxy_serve(const char *config_path);

#endif
