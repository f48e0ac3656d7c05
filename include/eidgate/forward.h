/*
 * forward.h - forwarding (forward/): an allowed request goes to its backend and the
 * backend's answer back to the client, streaming both ways with bounded buffers.
 *
 * What it does: builds the request head for the backend (the client's identity headers
 * removed, X-Request-Id, X-Forwarded-For/-Proto, the signed assertion of who the user
 * is (forward/assertion.c) and, once the decision is recorded, X-Eidgate-Record: where
 * its record is (record_position) added), sends it and the body over a kept-alive HTTP/1.1 or
 * HTTPS connection of the event-loop thread that owns the client (forward/exchange.c
 * over forward/conn.c; the transfer in forward/upstream.c), reads the answer with a
 * strict parser (forward/h1.c; 502 when its end is unclear) and streams it to the
 * client. An unreachable backend gives 502, a slow one 504. The request's decision is
 * recorded before anything is sent to the backend, its outcome after (record.h).
 *
 * What it owns: per event loop, a worker with its backend connections (idle pool, DNS
 * cache, TLS context), the transfers running on it, and the cache of signed assertions.
 * What it may call: record/, pages/ (error answers and security headers), the signer.
 *
 * Threads: a transfer lives on the event-loop thread of its client's connection, and
 * every function below but the pool's life cycle and the statistics runs on that
 * thread. The server's loop (server/loop.c) drives a worker through forward_worker_*.
 */
#ifndef EIDGATE_FORWARD_H
#define EIDGATE_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

struct request;
struct policy_backend;
struct upstream_pool;
struct up_worker;
struct assertion_cache;

/* ---- for the request pipeline -------------------------------------------------------- */

/* Starts forwarding r to backend b; r is answered from the backend's answer (or a 502,
 * 504, 413 or 503). Returns MHD_YES/MHD_NO for the access handler. */
enum MHD_Result forward_start(struct request *r, const struct policy_backend *b);
/* The access handler's later calls while forwarding: more of the upload. */
enum MHD_Result forward_continue(struct request *r, const char *upload, size_t *upload_size);
/* The request completed (client_gone: not normally); ends its transfer. */
void forward_done(struct request *r, int client_gone);

/* ---- for the server ------------------------------------------------------------------ */

/* A pool of nworkers workers, one per event loop. EG_OK or EG_ERR_NOMEM. */
int forward_pool_new(int nworkers, struct upstream_pool **out);
/* Refuses new transfers from now on; each loop ends its running ones when it stops. */
void forward_pool_shutdown(struct upstream_pool *p);
void forward_pool_free(struct upstream_pool *p);
struct up_worker *forward_worker(struct upstream_pool *p, int i);
/* The loop's epoll set and daemon, before the loop runs. The worker adds its backend
 * connections to epfd with their own pointer as data.ptr: every event whose data.ptr is
 * not one of the loop's own goes to forward_on_event. */
void forward_worker_attach(struct up_worker *w, int epfd, struct MHD_Daemon *daemon);
void forward_on_event(struct up_worker *w, void *ptr, uint32_t events);
/* Carries out what libmicrohttpd's callbacks asked for (start, unpause, cancel): after
 * every MHD_run, never inside a callback. */
void forward_run_pending(struct up_worker *w);
/* Gives up transfers whose backend or client is gone or silent, closes idle backend
 * connections; returns how long the loop may sleep before the next call (ms). */
int forward_tick(struct up_worker *w, int64_t now_ms);
/* Ends every transfer of the worker (shutdown). */
void forward_cancel_all(struct up_worker *w);

/* The cache of signed assertions, one per gateway, any thread. EG_OK or EG_ERR_NOMEM. */
int forward_assertions_new(struct assertion_cache **out);
void forward_assertions_free(struct assertion_cache *c);

/* ---- for /eidgate/metrics, any thread ----------------------------------------------- */

/* Transfers running now (gauge), transfers started and backend connections opened since
 * start (counters; their ratio shows connection reuse). */
void forward_stats(struct upstream_pool *p, long *active, unsigned long *requests,
    unsigned long *connects);
/* Assertions reused from the cache and signed, since start. */
void forward_assertion_stats(struct assertion_cache *c, unsigned long *hits,
    unsigned long *misses);

#endif
