/*
 * pin.c - reading the card's PIN.
 *
 * The PIN is read with read(2) one byte at a time straight into the caller's buffer:
 * stdio would keep a second copy in its own buffer that nobody wipes. On a terminal the
 * echo is switched off, and switched back on whatever happens: normal return, error, or
 * a signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT), whose handler restores the terminal and
 * then lets the signal kill the process as it would have.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "login/internal.h"

static const int pin_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define PIN_NSIG (sizeof(pin_signals) / sizeof(pin_signals[0]))

/* Shared with the signal handler: only written while the handlers are not installed. */
static volatile sig_atomic_t pin_tty_fd = -1;
static struct termios pin_saved_tio;

static void
pin_on_signal(int sig)
{
	/* tcsetattr, signal and raise are async-signal-safe (POSIX 2.4.3). */
	if (pin_tty_fd >= 0)
		tcsetattr(pin_tty_fd, TCSAFLUSH, &pin_saved_tio);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
pin_handlers_install(struct sigaction *old)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pin_on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < PIN_NSIG; i++)
		sigaddset(&sa.sa_mask, pin_signals[i]);
	for (i = 0; i < PIN_NSIG; i++)
		sigaction(pin_signals[i], &sa, &old[i]);
}

static void
pin_handlers_restore(const struct sigaction *old)
{
	size_t i;

	for (i = 0; i < PIN_NSIG; i++)
		sigaction(pin_signals[i], &old[i], NULL);
}

/* Reads one line from fd into pin. Returns its length, or -1 (message printed). */
static int
pin_read_line(int fd, const char *what, char *pin)
{
	size_t n = 0;
	int toolong = 0;
	char c;

	for (;;) {
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			login_errx("reading the PIN from %s: %s", what, strerror(errno));
			goto fail;
		}
		if (r == 0 || c == '\n')
			break;
		if (n < LOGIN_MAX_PIN - 1)
			pin[n++] = c;
		else
			toolong = 1; /* keep reading to the end of the line, then refuse */
	}
	/* At EOF without a newline the last byte read is a PIN digit. */
	explicit_bzero(&c, sizeof(c));
	if (n > 0 && pin[n - 1] == '\r')
		n--;
	pin[n] = '\0';
	if (toolong) {
		login_errx("the PIN read from %s is longer than %d characters", what,
		    LOGIN_MAX_PIN - 1);
		goto fail;
	}
	if (n == 0) {
		login_errx("empty PIN read from %s; refusing to try it", what);
		goto fail;
	}
	return (int)n;
fail:
	explicit_bzero(pin, LOGIN_MAX_PIN);
	return -1;
}

/* Prompts on /dev/tty with echo off. */
static int
pin_read_tty(const char *token_label, char *pin)
{
	struct sigaction old[PIN_NSIG];
	struct termios tio;
	char prompt[LOGIN_LABEL_LEN + 32];
	int fd, r, n;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		login_errx("cannot open /dev/tty to ask for the PIN (%s); use --pin-stdin "
		    "in scripts", strerror(errno));
		return -1;
	}
	if (tcgetattr(fd, &pin_saved_tio) < 0) {
		login_errx("/dev/tty: %s", strerror(errno));
		close(fd);
		return -1;
	}
	tio = pin_saved_tio;
	tio.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	tio.c_lflag |= ICANON;
	pin_tty_fd = fd;
	pin_handlers_install(old);
	r = -1;
	if (tcsetattr(fd, TCSAFLUSH, &tio) < 0) {
		login_errx("/dev/tty: cannot switch echo off: %s", strerror(errno));
		goto out;
	}
	n = snprintf(prompt, sizeof(prompt), "PIN for %s: ", token_label);
	if (n > 0 && write(fd, prompt, strlen(prompt)) < 0) {
		login_errx("/dev/tty: %s", strerror(errno));
		goto out;
	}
	r = pin_read_line(fd, "the terminal", pin);
	/* The user's Enter was not echoed: end the prompt line ourselves. */
	if (write(fd, "\n", 1) < 0) {
		/* Cosmetic only: the PIN has been read either way. */
	}
out:
	tcsetattr(fd, TCSAFLUSH, &pin_saved_tio);
	pin_tty_fd = -1;
	pin_handlers_restore(old);
	close(fd);
	return r < 0 ? -1 : 0;
}

int
login_pin_read(int from_stdin, const char *token_label, char *pin)
{
	char label[LOGIN_LABEL_LEN];

	explicit_bzero(pin, LOGIN_MAX_PIN);
	if (from_stdin)
		return pin_read_line(STDIN_FILENO, "stdin", pin) < 0 ? -1 : 0;
	login_sanitize(token_label, label, sizeof(label));
	return pin_read_tty(label, pin);
}
