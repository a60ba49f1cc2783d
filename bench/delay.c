/*
 * delay.c: bench code, not calsync.  A TCP relay on loopback that holds
 * every byte for a fixed time in each direction before passing it on, what
 * `tc qdisc add dev lo root netem delay 1ms` does to loopback (this
 * machine's kernel has no netem):
 *
 *	delay -l LISTEN_PORT -t TARGET_PORT -d MICROSECONDS
 *
 * bench/run --latency puts it between PostgreSQL and its clients (calsync's
 * workers, pgbench), once with -d 0 as the baseline, so that the relay's own
 * cost is in both figures and only the delay differs.  Bytes keep their
 * order; an end of stream is passed on after the same delay.  It runs until
 * killed.
 */
#define _GNU_SOURCE		/* ppoll */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define MAX_CONNS	512
#define CHUNK_MAX	65536

/* Bytes read from one side at one time, due at the other side later. */
struct chunk {
	struct chunk	*next;
	int64_t		 due;		/* us, CLOCK_MONOTONIC */
	size_t		 len, off;	/* len 0: the end of the stream */
	char		 data[];
};

/* One direction of a connection: from one socket to the other. */
struct flow {
	int		 from, to;
	int		 read_done;	/* end of stream or error read */
	int		 blocked;	/* the last send would have blocked */
	int		 done;		/* the end of stream was passed on */
	struct chunk	*head, *tail;
};

struct conn {
	int		 fd[2];		/* client, server; -1: a free slot */
	struct flow	 flow[2];	/* client -> server, server -> client */
};

static struct conn	 conns[MAX_CONNS];
static int64_t		 delay_us;
static uint16_t		 target_port;

static int64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
die(const char *what)
{
	fprintf(stderr, "delay: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
set_options(int fd)
{
	int	 one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static struct sockaddr_in
loopback(uint16_t port)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static void
flow_free(struct flow *f)
{
	struct chunk	*c;

	while ((c = f->head) != NULL) {
		f->head = c->next;
		free(c);
	}
	f->tail = NULL;
}

static void
conn_close(struct conn *c)
{
	close(c->fd[0]);
	close(c->fd[1]);
	flow_free(&c->flow[0]);
	flow_free(&c->flow[1]);
	c->fd[0] = c->fd[1] = -1;
}

/* A new client: its own connection to the target, two empty flows. */
static void
conn_accept(int lfd)
{
	struct sockaddr_in	 sin = loopback(target_port);
	struct conn		*c = NULL;
	int			 cfd, sfd, i;

	if ((cfd = accept(lfd, NULL, NULL)) == -1)
		return;
	for (i = 0; i < MAX_CONNS && c == NULL; i++)
		if (conns[i].fd[0] == -1)
			c = &conns[i];
	sfd = socket(AF_INET, SOCK_STREAM, 0);
	if (c == NULL || sfd == -1 ||
	    connect(sfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    set_options(cfd) == -1 || set_options(sfd) == -1) {
		fprintf(stderr, "delay: cannot relay a connection: %s\n",
		    c == NULL ? "too many connections" : strerror(errno));
		close(cfd);
		if (sfd != -1)
			close(sfd);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->fd[0] = cfd;
	c->fd[1] = sfd;
	c->flow[0].from = c->flow[1].to = cfd;
	c->flow[0].to = c->flow[1].from = sfd;
}

static void
flow_append(struct flow *f, struct chunk *ch)
{
	ch->next = NULL;
	ch->due = now_us() + delay_us;
	if (f->tail != NULL)
		f->tail->next = ch;
	else
		f->head = ch;
	f->tail = ch;
}

/* Read what is there; 0, or -1 when the connection is to be closed. */
static int
flow_read(struct flow *f)
{
	static char	 buf[CHUNK_MAX];
	struct chunk	*ch;
	ssize_t		 n;

	n = recv(f->from, buf, sizeof(buf), 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == -1 || (ch = malloc(sizeof(*ch) + (size_t)n)) == NULL)
		return -1;
	memcpy(ch->data, buf, (size_t)n);
	ch->len = (size_t)n;
	ch->off = 0;
	if (n == 0)
		f->read_done = 1;
	flow_append(f, ch);
	return 0;
}

/* Pass on what is due; 0, or -1 when the connection is to be closed. */
static int
flow_write(struct flow *f, int64_t now)
{
	struct chunk	*ch;
	ssize_t		 n;

	f->blocked = 0;
	while ((ch = f->head) != NULL && ch->due <= now) {
		if (ch->len == 0) {
			shutdown(f->to, SHUT_WR);
			f->done = 1;
		} else {
			n = send(f->to, ch->data + ch->off, ch->len - ch->off,
			    MSG_NOSIGNAL);
			if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
				f->blocked = 1;
				return 0;
			}
			if (n == -1)
				return -1;
			ch->off += (size_t)n;
			if (ch->off < ch->len)
				continue;
		}
		f->head = ch->next;
		if (f->head == NULL)
			f->tail = NULL;
		free(ch);
	}
	return 0;
}

/*
 * Until the next chunk that is waiting only for time, in *ts; NULL if none
 * is (ppoll's microsecond timeout: poll's milliseconds would add up to one).
 */
static struct timespec *
next_timeout(int64_t now, struct timespec *ts)
{
	int64_t		 wait = -1, w;
	int		 i, d;

	for (i = 0; i < MAX_CONNS; i++) {
		if (conns[i].fd[0] == -1)
			continue;
		for (d = 0; d < 2; d++) {
			const struct flow *f = &conns[i].flow[d];

			if (f->head == NULL || f->blocked)
				continue;
			w = f->head->due > now ? f->head->due - now : 0;
			if (wait == -1 || w < wait)
				wait = w;
		}
	}
	if (wait == -1)
		return NULL;
	ts->tv_sec = wait / 1000000;
	ts->tv_nsec = wait % 1000000 * 1000;
	return ts;
}

static void
relay(int lfd)
{
	static struct pollfd	 pfd[1 + 2 * MAX_CONNS];
	static struct conn	*owner[1 + 2 * MAX_CONNS];
	static int		 side[1 + 2 * MAX_CONNS];
	struct conn		*c;
	struct timespec		 ts;
	int64_t			 now;
	int			 i, d, n, np;

	for (;;) {
		now = now_us();
		for (i = 0; i < MAX_CONNS; i++) {
			c = &conns[i];
			if (c->fd[0] == -1)
				continue;
			if (flow_write(&c->flow[0], now) == -1 ||
			    flow_write(&c->flow[1], now) == -1 ||
			    (c->flow[0].done && c->flow[1].done))
				conn_close(c);
		}
		np = 0;
		pfd[np].fd = lfd;
		pfd[np++].events = POLLIN;
		for (i = 0; i < MAX_CONNS; i++) {
			c = &conns[i];
			if (c->fd[0] == -1)
				continue;
			for (d = 0; d < 2; d++) {
				/* fd[d] reads flow d and writes flow 1 - d;
				 * poll skips it (-1) when neither is to do. */
				pfd[np].events = (c->flow[d].read_done ? 0 : POLLIN) |
				    (c->flow[1 - d].blocked ? POLLOUT : 0);
				pfd[np].fd = pfd[np].events ? c->fd[d] : -1;
				pfd[np].revents = 0;
				side[np] = d;
				owner[np++] = c;
			}
		}
		n = ppoll(pfd, (nfds_t)np, next_timeout(now_us(), &ts), NULL);
		if (n == -1 && errno != EINTR)
			die("ppoll");
		if (n <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			conn_accept(lfd);
		for (i = 1; i < np; i++) {
			c = owner[i];
			d = side[i];
			if (c->fd[d] != pfd[i].fd ||
			    !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (!c->flow[d].read_done && flow_read(&c->flow[d]) == -1)
				conn_close(c);
		}
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: delay -l listen-port -t target-port -d microseconds\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin;
	long			 listen_port = 0, target = 0;
	int			 ch, lfd, one = 1, i;

	while ((ch = getopt(argc, argv, "l:t:d:")) != -1) {
		switch (ch) {
		case 'l':
			listen_port = strtol(optarg, NULL, 10);
			break;
		case 't':
			target = strtol(optarg, NULL, 10);
			break;
		case 'd':
			delay_us = strtoll(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (listen_port <= 0 || listen_port > 65535 || target <= 0 ||
	    target > 65535 || delay_us < 0 || optind != argc)
		usage();
	target_port = (uint16_t)target;
	for (i = 0; i < MAX_CONNS; i++)
		conns[i].fd[0] = conns[i].fd[1] = -1;
	signal(SIGPIPE, SIG_IGN);

	sin = loopback((uint16_t)listen_port);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("bind");
	if (listen(lfd, 128) == -1)
		die("listen");
	relay(lfd);
	return 0;
}
