/*
 * main.c - eidgate-login: options, the login flow and its output (PRODUCT §1).
 *
 * Flow: choose the token, log in (PIN), find the Authentication key and certificate,
 * then fetch the challenge, sign "eidgate-login-v1\n<origin>\n<challenge>", check the
 * signature locally and exchange it for a session token. The challenge is fetched only
 * after the PIN so that the user's typing does not eat into its 60 s lifetime.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "eidgate/auth.h"
#include "eidgate/util.h"
#include "login/internal.h"

struct login_opts {
	const char *lo_url;
	const char *lo_module;
	const char *lo_label;
	const char *lo_jar;
	const char *lo_cacert;
	int lo_pin_stdin;
	int lo_list;
	int lo_sign;                    /* `eidgate-login sign` */
	struct login_intent_req lo_intent;
};

void
login_errx(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "eidgate: %s\n", msg);
}

void
login_sanitize(const char *s, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	if (outlen == 0)
		return;
	for (; *p != '\0' && n + 1 < outlen; p++) {
		/* C0 controls, DEL and UTF-8-encoded C1 controls (C2 80..C2 9F) can all move
		 * the cursor or retitle a terminal. */
		if (*p < 0x20 || *p == 0x7f) {
			out[n++] = '?';
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			out[n++] = '?';
			p++;
		} else {
			out[n++] = (char)*p;
		}
	}
	out[n] = '\0';
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: eidgate-login --url URL [--module PATH] [--token-label LABEL]\n"
	    "                     [--pin-stdin] [--cookie-jar FILE] [--cacert FILE]\n"
	    "       eidgate-login --list [--module PATH]\n"
	    "       eidgate-login sign --url URL --method M --path TARGET [--body-file F]\n"
	    "                     [--with-cert] [--module PATH] [--token-label L] [--pin-stdin]\n"
	    "\n"
	    "Logs in to an eidgate gateway with the Belgian eID card's Authentication key\n"
	    "and prints the session token on stdout.\n"
	    "\n"
	    "  --url URL          the gateway, https://host[:port][/prefix]\n"
	    "  --module PATH      PKCS#11 module (default: OpenSC's opensc-pkcs11.so, else\n"
	    "                     libbeidpkcs11.so.0)\n"
	    "  --token-label L    use the token labelled L (default: the BELPIC token)\n"
	    "  --pin-stdin        read the PIN as one line from stdin instead of the terminal\n"
	    "  --cookie-jar FILE  write a Netscape cookie file (mode 0600) instead of\n"
	    "                     printing the token\n"
	    "  --cacert FILE      trust these CA certificates (PEM) for the gateway's TLS\n"
	    "                     (default: the system store)\n"
	    "  --list             list tokens and their certificates, without logging in\n"
	    "\n"
	    "sign: prints the X-Eidgate-Intent header that a route marked `signed' needs,\n"
	    "the card's signature over method, target, the body's SHA-256, the time and the\n"
	    "gateway's origin; good once, for 60 seconds. --body-file: the exact body sent\n"
	    "(none: an empty body); --with-cert: add the certificate to the header.\n"
	    "  --help             this text\n"
	    "\n"
	    "Exit status: 0 logged in, 1 failed or refused, 2 bad usage.\n");
}

/* Returns -1 to go on, else the exit code. */
static int
parse_opts(int argc, char **argv, struct login_opts *o)
{
	enum { O_URL = 1, O_MODULE, O_LABEL, O_PINSTDIN, O_JAR, O_CACERT, O_LIST, O_HELP,
		OPT_METHOD, OPT_TARGET, OPT_BODY, OPT_WITHCERT };
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, O_URL },
		{ "module", required_argument, NULL, O_MODULE },
		{ "token-label", required_argument, NULL, O_LABEL },
		{ "pin-stdin", no_argument, NULL, O_PINSTDIN },
		{ "cookie-jar", required_argument, NULL, O_JAR },
		{ "cacert", required_argument, NULL, O_CACERT },
		{ "list", no_argument, NULL, O_LIST },
		{ "help", no_argument, NULL, O_HELP },
		{ "method", required_argument, NULL, OPT_METHOD },
		{ "path", required_argument, NULL, OPT_TARGET },
		{ "body-file", required_argument, NULL, OPT_BODY },
		{ "with-cert", no_argument, NULL, OPT_WITHCERT },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	if (argc > 1 && strcmp(argv[1], "sign") == 0) {
		o->lo_sign = 1;
		argc--;
		argv++;
	}
	opterr = 0; /* our own messages, in the "eidgate: ..." form */
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_URL: o->lo_url = optarg; break;
		case O_MODULE: o->lo_module = optarg; break;
		case O_LABEL: o->lo_label = optarg; break;
		case O_PINSTDIN: o->lo_pin_stdin = 1; break;
		case O_JAR: o->lo_jar = optarg; break;
		case O_CACERT: o->lo_cacert = optarg; break;
		case O_LIST: o->lo_list = 1; break;
		case O_HELP: usage(stdout); return LOGIN_EXIT_OK;
		case OPT_METHOD: o->lo_intent.li_method = optarg; break;
		case OPT_TARGET: o->lo_intent.li_path = optarg; break;
		case OPT_BODY: o->lo_intent.li_body_file = optarg; break;
		case OPT_WITHCERT: o->lo_intent.li_with_cert = 1; break;
		default:
			login_errx("unknown option or missing argument: %s (see --help)",
			    argv[optind - 1]);
			return LOGIN_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		login_errx("unexpected argument: %s (see --help)", argv[optind]);
		return LOGIN_EXIT_USAGE;
	}
	if (!o->lo_list && o->lo_url == NULL) {
		login_errx("--url is required (see --help)");
		return LOGIN_EXIT_USAGE;
	}
	if (!o->lo_sign && (o->lo_intent.li_method != NULL || o->lo_intent.li_path != NULL ||
	    o->lo_intent.li_body_file != NULL || o->lo_intent.li_with_cert)) {
		login_errx("--method, --path, --body-file and --with-cert are for "
		    "`eidgate-login sign' (see --help)");
		return LOGIN_EXIT_USAGE;
	}
	if (o->lo_sign && (o->lo_list || o->lo_jar != NULL || o->lo_intent.li_method == NULL ||
	    o->lo_intent.li_path == NULL)) {
		login_errx("sign needs --url, --method and --path, and takes neither --list nor "
		    "--cookie-jar (see --help)");
		return LOGIN_EXIT_USAGE;
	}
	if (o->lo_sign && login_intent_check(&o->lo_intent) < 0)
		return LOGIN_EXIT_USAGE;
	if (o->lo_cacert != NULL && access(o->lo_cacert, R_OK) < 0) {
		login_errx("--cacert %s: %s", o->lo_cacert, strerror(errno));
		return LOGIN_EXIT_USAGE;
	}
	return -1;
}

/* The Netscape cookie file curl and wget read: one __Host- cookie, Secure, path /. */
static int
write_cookie_jar(const char *path, const struct login_url *u, const struct login_token *t)
{
	long long expiry = (long long)time(NULL) + t->lt_expires;
	FILE *f;
	int fd;

	/* O_NOFOLLOW: a planted symlink must not redirect the token elsewhere. */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		login_errx("--cookie-jar %s: %s", path, strerror(errno));
		return -1;
	}
	/* An existing file keeps its mode through O_CREAT: make it private before the
	 * token is in it. */
	if (fchmod(fd, 0600) < 0 || (f = fdopen(fd, "w")) == NULL) {
		login_errx("--cookie-jar %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	fprintf(f, "# Netscape HTTP Cookie File\n%s\tFALSE\t/\tTRUE\t%lld\t__Host-eidgate\t%s\n",
	    u->lu_host, expiry, t->lt_token);
	if (ferror(f) || fclose(f) != 0) {
		login_errx("--cookie-jar %s: write failed: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
emit_token(const struct login_opts *o, const struct login_url *u,
    const struct login_token *t)
{
	if (o->lo_jar != NULL) {
		if (write_cookie_jar(o->lo_jar, u, t) < 0)
			return -1;
		if (t->lt_name[0] != '\0')
			login_errx("logged in as %s", t->lt_name);
		return 0;
	}
	if (printf("%s\n", t->lt_token) < 0 || fflush(stdout) != 0) {
		login_errx("writing the token to stdout: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Builds the message of the protocol into msg (msgcap bytes). */
static int
build_message(const struct login_url *u, const struct login_challenge *ch, char *msg,
    size_t msgcap, size_t *msglen)
{
	int n;

	/* The origin signed is ours, never the server's: a gateway (or whoever answered)
	 * that claims another origin is asking for a signature valid elsewhere. */
	if (strcmp(ch->lc_origin, u->lu_origin) != 0) {
		char theirs[LOGIN_MAX_ORIGIN];

		login_sanitize(ch->lc_origin, theirs, sizeof(theirs));
		login_errx("the gateway claims origin \"%s\" but we connected to \"%s\"; "
		    "refusing to sign", theirs, u->lu_origin);
		return -1;
	}
	n = snprintf(msg, msgcap, EG_LOGIN_MSG_PREFIX "%s\n%s", u->lu_origin, ch->lc_challenge);
	if (n < 0 || (size_t)n >= msgcap) {
		login_errx("challenge too long");
		return -1;
	}
	*msglen = (size_t)n;
	return 0;
}

/* Challenge, signature, local check, token. */
static int
sign_in(const struct login_opts *o, const struct login_url *u, struct login_p11 *p,
    enum login_alg alg, X509 *cert, X509 *ca)
{
	char msg[sizeof(EG_LOGIN_MSG_PREFIX) + LOGIN_MAX_ORIGIN + LOGIN_MAX_CHALLENGE + 2];
	unsigned char tbs[64], sig[LOGIN_MAX_SIG];
	struct login_challenge ch;
	struct login_token tok;
	size_t msglen, tbslen, siglen;
	int ret;

	if (login_http_challenge(u, o->lo_cacert, &ch) < 0 ||
	    build_message(u, &ch, msg, sizeof(msg), &msglen) < 0 ||
	    login_sig_tbs(alg, (unsigned char *)msg, msglen, tbs, &tbslen) < 0 ||
	    login_p11_sign(p, alg, tbs, tbslen, sig, &siglen, sizeof(sig)) < 0 ||
	    login_sig_to_wire(alg, cert, sig, &siglen, sizeof(sig)) < 0 ||
	    login_sig_verify(cert, alg, (unsigned char *)msg, msglen, sig, siglen) < 0 ||
	    login_http_token(u, o->lo_cacert, &ch, alg, sig, siglen, cert, ca, &tok) < 0)
		return -1;
	ret = emit_token(o, u, &tok);
	eg_freezero(tok.lt_token, strlen(tok.lt_token) + 1);
	return ret;
}

static int
run(const struct login_opts *o)
{
	struct login_url u;
	struct login_p11 *p = NULL;
	X509 *cert = NULL, *ca = NULL;
	enum login_alg alg;
	int ret = LOGIN_EXIT_FAIL;

	if (!o->lo_list && login_url_parse(o->lo_url, &u) < 0)
		return LOGIN_EXIT_USAGE;
	if (login_http_init() < 0)
		return LOGIN_EXIT_FAIL;
	if (login_p11_open(o->lo_module, &p) < 0)
		goto out;
	if (o->lo_list) {
		ret = login_p11_list(p) < 0 ? LOGIN_EXIT_FAIL : LOGIN_EXIT_OK;
		goto out;
	}
	if (login_p11_select(p, o->lo_label) < 0 ||
	    login_p11_login(p, o->lo_pin_stdin) < 0 ||
	    login_p11_find(p, &alg, &cert, &ca) < 0)
		goto out;
	if (o->lo_sign) {
		struct login_intent_req q = o->lo_intent;

		q.li_origin = u.lu_origin;
		if (login_intent_sign(&q, p, alg, cert) < 0)
			goto out;
	} else if (sign_in(o, &u, p, alg, cert, ca) < 0) {
		goto out;
	}
	ret = LOGIN_EXIT_OK;
out:
	X509_free(cert);
	X509_free(ca);
	login_p11_close(p);
	login_http_cleanup();
	return ret;
}

int
main(int argc, char **argv)
{
	struct rlimit nocore = { 0, 0 };
	struct login_opts o;
	int r;

	/* A core dump taken while the PIN is in memory would write it to disk. */
	if (setrlimit(RLIMIT_CORE, &nocore) < 0) {
		login_errx("cannot disable core dumps: %s", strerror(errno));
		return LOGIN_EXIT_FAIL;
	}
	r = parse_opts(argc, argv, &o);
	if (r >= 0)
		return r;
	return run(&o);
}
