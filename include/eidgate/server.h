/*
 * server.h - the server (server/): `eidgate serve`. It makes the gateway's shared
 * services (access log, directory resolver, forwarding workers, caches), loads the
 * configuration snapshot, starts one event loop per thread (a libmicrohttpd daemon with
 * its TLS listener and that thread's backend connections in one epoll set), and drives
 * the request pipeline (request.h) through libmicrohttpd's callbacks. SIGHUP loads a new
 * snapshot (a bad one keeps the running one), SIGTERM and SIGINT stop it cleanly.
 *
 * The server drives the stages; no stage calls back into it.
 */
#ifndef EIDGATE_SERVER_H
#define EIDGATE_SERVER_H

/* Runs `eidgate serve -c FILE` in the foreground until SIGTERM or SIGINT. Returns the
 * process exit code: 0 after a clean shutdown, 1 when startup failed (with the reason on
 * stderr). */
int server_serve(const char *config_path);

#endif
