/*
 * fcgiload.c: bench code, not calsync.  Sends bench/gen's signed
 * deliveries straight to calsync's FastCGI socket, as nginx would (one
 * connection a request, no keep-conn), keeping C requests in flight:
 *
 *	fcgiload -s SOCKET -c C -d SECONDS [-n MAX] FILE > LOG
 *
 * LOG gets one line a request, "uid status outcome start_us end_us", the
 * format bench/wrk.lua writes; status 0 is a socket error.  The summary
 * goes to stderr.  Connecting and writing block (a unix socket takes a
 * 3 KB request at once); only waiting for the answers is multiplexed with
 * poll(2), which is where the time goes.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

/* FastCGI 1.0 record types and the responder role. */
#define FCGI_BEGIN_REQUEST	1
#define FCGI_END_REQUEST	3
#define FCGI_PARAMS		4
#define FCGI_STDIN		5
#define FCGI_STDOUT		6
#define FCGI_RESPONDER		1
#define REQ_ID			1

#define MAX_CONNS		1024
#define ANSWER_MAX		8192
#define WAIT_TAIL_SECONDS	30	/* for answers still out at the end */

struct delivery {
	char	*uid, *sig, *body;
	size_t	 len;
};

struct conn {
	int		 fd;		/* -1: idle */
	size_t		 which;		/* index of its delivery */
	long long	 t0;
	unsigned char	 in[ANSWER_MAX];
	size_t		 inlen;
};

struct buf {
	unsigned char	*p;
	size_t		 len, size;
};

static struct delivery	*deliveries;
static size_t		 ndeliveries, next;
static const char	*socket_path;
static unsigned long	 requests_made, socket_errors;

static long long
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void __attribute__((noreturn))
fail(const char *what)
{
	perror(what);
	exit(1);
}

static void
load(const char *path, size_t max)
{
	FILE	*f;
	char	*line = NULL, *t1, *t2;
	size_t	 cap = 0, size = 0;
	ssize_t	 n;

	if ((f = fopen(path, "r")) == NULL)
		fail(path);
	while (ndeliveries < max && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if ((t1 = strchr(line, '\t')) == NULL ||
		    (t2 = strchr(t1 + 1, '\t')) == NULL) {
			fprintf(stderr, "%s: bad line %zu\n", path,
			    ndeliveries + 1);
			exit(1);
		}
		*t1 = *t2 = '\0';
		if (ndeliveries == size) {
			size = size ? size * 2 : 1024;
			if ((deliveries = realloc(deliveries,
			    size * sizeof(*deliveries))) == NULL)
				fail("realloc");
		}
		deliveries[ndeliveries].uid = strdup(line);
		deliveries[ndeliveries].sig = strdup(t1 + 1);
		deliveries[ndeliveries].body = strdup(t2 + 1);
		deliveries[ndeliveries].len = strlen(t2 + 1);
		ndeliveries++;
	}
	free(line);
	fclose(f);
}

static void
put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->size) {
		b->size = (b->len + n) * 2;
		if ((b->p = realloc(b->p, b->size)) == NULL)
			fail("realloc");
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
record(struct buf *b, int type, const void *content, size_t len)
{
	unsigned char	 h[8] = { 1, (unsigned char)type, 0, REQ_ID,
	    (unsigned char)(len >> 8), (unsigned char)len, 0, 0 };

	put(b, h, sizeof(h));
	put(b, content, len);
}

/* One name-value pair, in FastCGI's 1- or 4-byte length encoding. */
static void
pair(struct buf *b, const char *name, const char *value)
{
	size_t		 lens[2] = { strlen(name), strlen(value) };
	unsigned char	 l[4];
	int		 i;

	for (i = 0; i < 2; i++)
		if (lens[i] < 128) {
			l[0] = (unsigned char)lens[i];
			put(b, l, 1);
		} else {
			l[0] = (unsigned char)(0x80 | lens[i] >> 24);
			l[1] = (unsigned char)(lens[i] >> 16);
			l[2] = (unsigned char)(lens[i] >> 8);
			l[3] = (unsigned char)lens[i];
			put(b, l, 4);
		}
	put(b, name, lens[0]);
	put(b, value, lens[1]);
}

/* What nginx sends for a Cal.com delivery with bench's configuration. */
static void
build(struct buf *out, const struct delivery *d)
{
	static const unsigned char begin[8] = { 0, FCGI_RESPONDER, 0 };
	struct buf	 params = { 0 };
	char		 len[24], id[40];

	snprintf(len, sizeof(len), "%zu", d->len);
	snprintf(id, sizeof(id), "%032lx", ++requests_made);
	pair(&params, "REQUEST_METHOD", "POST");
	pair(&params, "REQUEST_URI", "/api/v1/webhooks/calcom");
	pair(&params, "CONTENT_TYPE", "application/json");
	pair(&params, "CONTENT_LENGTH", len);
	pair(&params, "REMOTE_ADDR", "127.0.0.1");
	pair(&params, "REQUEST_ID", id);
	pair(&params, "HTTP_HOST", "127.0.0.1");
	pair(&params, "HTTP_CONTENT_TYPE", "application/json");
	pair(&params, "HTTP_CONTENT_LENGTH", len);
	pair(&params, "HTTP_X_CAL_SIGNATURE_256", d->sig);

	out->len = 0;
	record(out, FCGI_BEGIN_REQUEST, begin, sizeof(begin));
	record(out, FCGI_PARAMS, params.p, params.len);
	record(out, FCGI_PARAMS, "", 0);
	/* A Cal.com body is a few KB: one record (at most 65535 bytes). */
	record(out, FCGI_STDIN, d->body, d->len);
	record(out, FCGI_STDIN, "", 0);
	free(params.p);
}

static int
send_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Start the next delivery on c; 0 when none is left. */
static int
start(struct conn *c, struct buf *req)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };

	if (next >= ndeliveries)
		return 0;
	c->which = next++;
	c->inlen = 0;
	c->t0 = now_us();
	build(req, &deliveries[c->which]);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", socket_path);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    send_all(c->fd, req->p, req->len) == -1) {
		if (c->fd != -1)
			close(c->fd);
		c->fd = -1;
		socket_errors++;
		printf("%s 0 - %lld %lld\n", deliveries[c->which].uid, c->t0,
		    now_us());
		return -1;
	}
	return 1;
}

/* The stdout records of a complete answer, concatenated; -1 if there is
 * no END_REQUEST. */
static int
parse(const struct conn *c, char *out, size_t outsz)
{
	size_t	 off = 0, n, len = 0;
	int	 ended = 0;

	while (off + 8 <= c->inlen) {
		n = (size_t)c->in[off + 4] << 8 | c->in[off + 5];
		if (off + 8 + n + c->in[off + 6] > c->inlen)
			break;
		if (c->in[off + 1] == FCGI_STDOUT && len + n < outsz) {
			memcpy(out + len, c->in + off + 8, n);
			len += n;
		} else if (c->in[off + 1] == FCGI_END_REQUEST)
			ended = 1;
		off += 8 + n + c->in[off + 6];
	}
	out[len] = '\0';
	return ended ? 0 : -1;
}

/* Log the answer: its Status: line and the JSON's "status" (outcome). */
static void
finish(struct conn *c)
{
	char		 out[ANSWER_MAX + 1], outcome[64] = "-";
	const char	*p;
	int		 status = 0;

	if (parse(c, out, sizeof(out)) == 0) {
		status = 200;	/* FastCGI: no Status: line means 200 */
		if ((p = strstr(out, "Status: ")) != NULL)
			status = atoi(p + 8);
		if ((p = strstr(out, "\"status\":\"")) != NULL ||
		    (p = strstr(out, "\"outcome\":\"")) != NULL) {
			p = strchr(p + 3, ':') + 2;
			snprintf(outcome, sizeof(outcome), "%.*s",
			    (int)strcspn(p, "\""), p);
		}
	} else
		socket_errors++;
	printf("%s %d %s %lld %lld\n", deliveries[c->which].uid, status,
	    outcome, c->t0, now_us());
	close(c->fd);
	c->fd = -1;
}

static void
run(int nconns, int seconds)
{
	struct conn	*conns;
	struct pollfd	 pfd[MAX_CONNS];
	struct buf	 req = { 0 };
	long long	 stop_at = now_us() + (long long)seconds * 1000000;
	long long	 give_up = stop_at + WAIT_TAIL_SECONDS * 1000000LL;
	int		 i, active, more = 1;
	ssize_t		 n;

	if ((conns = calloc((size_t)nconns, sizeof(*conns))) == NULL)
		fail("calloc");
	for (i = 0; i < nconns; i++)
		conns[i].fd = -1;
	for (;;) {
		more = more && now_us() < stop_at;
		active = 0;
		for (i = 0; i < nconns; i++) {
			while (more && conns[i].fd == -1)
				if (start(&conns[i], &req) == 0)
					more = 0;
			pfd[i].fd = conns[i].fd;
			pfd[i].events = POLLIN;
			active += conns[i].fd != -1;
		}
		if (active == 0 || now_us() > give_up)
			break;
		if (poll(pfd, (nfds_t)nconns, 1000) == -1 && errno != EINTR)
			fail("poll");
		for (i = 0; i < nconns; i++) {
			if (conns[i].fd == -1 || pfd[i].revents == 0)
				continue;
			n = read(conns[i].fd, conns[i].in + conns[i].inlen,
			    ANSWER_MAX - conns[i].inlen);
			if (n > 0 && conns[i].inlen + (size_t)n < ANSWER_MAX) {
				conns[i].inlen += (size_t)n;
				continue;
			}
			/* calsync closes after END_REQUEST (no keep-conn). */
			finish(&conns[i]);
		}
	}
	free(req.p);
	free(conns);
}

int
main(int argc, char *argv[])
{
	int		 ch, nconns = 1, seconds = 10;
	unsigned long	 max = (unsigned long)-1;

	while ((ch = getopt(argc, argv, "c:d:n:s:")) != -1)
		switch (ch) {
		case 'c':
			nconns = atoi(optarg);
			break;
		case 'd':
			seconds = atoi(optarg);
			break;
		case 'n':
			max = strtoul(optarg, NULL, 10);
			break;
		case 's':
			socket_path = optarg;
			break;
		default:
			goto usage;
		}
	if (socket_path == NULL || optind + 1 != argc || nconns < 1 ||
	    nconns > MAX_CONNS || seconds < 1)
		goto usage;
	load(argv[optind], max);
	run(nconns, seconds);
	if (fflush(stdout) == EOF)
		fail("stdout");
	fprintf(stderr, "fcgiload sent=%zu socket_errors=%lu\n", next,
	    socket_errors);
	return 0;
usage:
	fprintf(stderr, "usage: fcgiload -s socket [-c conns] [-d seconds] "
	    "[-n max] file\n");
	return 1;
}
