/*
 * main.c: calsync(8): options and configuration, the listening socket,
 * privileges, and the supervisor that keeps N workers running and stops
 * them gracefully on SIGTERM.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "calsync.h"

#define MAX_WORKERS	256
#define BACKLOG		128
#define IO_TIMEOUT	10	/* seconds a client may stall */

struct options {
	const char	*socket;	/* NULL: inherited on fd 0 */
	int		 syslog;	/* -l syslog */
	int		 workers;
	const char	*user;		/* drop to this user when root */
	const char	*group;		/* socket group */
};

struct identity {
	int		 set;		/* -u given */
	const char	*name;
	uid_t		 uid;
	gid_t		 gid;
	gid_t		 sock_gid;
};

struct slot {
	pid_t		 pid;
	time_t		 started;
	int		 retiring;	/* sent SIGTERM to be replaced */
	int		 notifier;	/* the notifier, not a worker */
};

/* What the supervisor hands each child it forks. */
struct pool {
	const struct config	*cfg;
	int			 listen_fd;
	int			 wake_fd;	/* workers -> notifier */
	struct metrics		*metrics;
};

static void
usage(void)
{
	fprintf(stderr, "usage: calsync [-l stderr|syslog] [-s socket] "
	    "[-w workers] [-u user] [-g group]\n");
	exit(1);
}

static void __attribute__((noreturn))
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "calsync: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

/*
 * The socket is made at a temporary path, listening and owned as it should
 * be, then renamed over the path: nginx's next connection reaches it, with
 * no moment where nothing listens.  A socket left by a crash is replaced
 * so; one another calsync still listens on is taken over, and that calsync
 * (sent SIGTERM) serves what it had queued and exits.  Anything that is not
 * a socket is left alone.  libfcgi's FCGX_OpenSocket() exits on error and
 * unlinks whatever is at the path, so calsync does this itself.
 */
static int
listen_unix(const char *path, const struct identity *id)
{
	struct sockaddr_un	 sun, tmp;
	struct stat		 st;
	mode_t			 old;
	int			 fd, probe, live = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	tmp = sun;
	if (strlen(path) + 5 >= sizeof(sun.sun_path))
		die("socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s.new", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			die("%s exists and is not a socket", path);
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0))
		    != -1) {
			live = connect(probe, (struct sockaddr *)&sun,
			    sizeof(sun)) == 0;
			close(probe);
		}
	}
	if (lstat(tmp.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(tmp.sun_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket: %s", strerror(errno));
	old = umask(0117);	/* srw-rw----: the web server's group only */
	if (bind(fd, (struct sockaddr *)&tmp, sizeof(tmp)) == -1) {
		umask(old);
		fprintf(stderr, "calsync: bind %s: %s\n", tmp.sun_path,
		    strerror(errno));
		exit(1);
	}
	umask(old);
	if (listen(fd, BACKLOG) == -1)
		die("listen: %s", strerror(errno));
	if (id->set && chown(tmp.sun_path, id->uid, id->sock_gid) == -1)
		die("chown socket: %s", strerror(errno));
	if (rename(tmp.sun_path, path) == -1)
		die("rename socket: %s", strerror(errno));
	if (live)
		log_info("took over %s from the calsync listening there; stop "
		    "that one with SIGTERM: it serves what it has and exits",
		    path);
	return fd;
}

static int
listen_tcp(const char *spec)
{
	struct addrinfo	 hints, *res;
	char		 host[256];
	const char	*colon = strrchr(spec, ':');
	int		 fd, on = 1, rc;

	if (colon == NULL || colon == spec || (size_t)(colon - spec) >=
	    sizeof(host))
		die("%s: give HOST:PORT or a socket path", spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0)
		die("%s: give a numeric HOST:PORT", spec);
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof(on)) == -1 || bind(fd, res->ai_addr, res->ai_addrlen) ==
	    -1 || listen(fd, BACKLOG) == -1) {
		fprintf(stderr, "calsync: bind %s: %s\n", spec,
		    strerror(errno));
		exit(1);
	}
	freeaddrinfo(res);
	return fd;
}

static int
open_listener(const struct options *o, const struct identity *id)
{
	static const struct timeval	 io_timeout = { IO_TIMEOUT, 0 };
	int	 fd, on = 0;
	socklen_t len = sizeof(on);

	if (o->socket == NULL) {
		/* spawn-fcgi hands the listening socket over as fd 0. */
		if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == -1 ||
		    !on)
			die("%s", "no socket: give -s PATH or -s HOST:PORT, or "
			    "start calsync under spawn-fcgi");
		fd = 0;
	} else {
		fd = strchr(o->socket, '/') != NULL ?
		    listen_unix(o->socket, id) : listen_tcp(o->socket);
	}
	/* Workers poll(2) it and then accept: another may get there first. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		die("fcntl: %s", strerror(errno));
	/*
	 * A client that stops sending or reading must not hold a worker
	 * (nginx sends its buffered request at once).  Accepted sockets
	 * inherit these on Linux, from the first byte libfcgi reads.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &io_timeout,
	    sizeof(io_timeout)) == -1 || setsockopt(fd, SOL_SOCKET,
	    SO_SNDTIMEO, &io_timeout, sizeof(io_timeout)) == -1)
		die("setsockopt: %s", strerror(errno));
	return fd;
}

/*
 * Started as root with -u: the socket goes to that user and the socket
 * group (-g, else the user's own), then calsync becomes that user.
 */
static void
resolve_identity(const struct options *o, struct identity *id)
{
	struct passwd	*pw;
	struct group	*gr;

	memset(id, 0, sizeof(*id));
	if (o->user == NULL) {
		if (o->group != NULL)
			die("%s", "-g needs -u");
		return;
	}
	if (geteuid() != 0)
		die("%s", "-u needs calsync to be started as root");
	if ((pw = getpwnam(o->user)) == NULL)
		die("no such user: %s", o->user);
	id->set = 1;
	id->name = o->user;
	id->uid = pw->pw_uid;
	id->gid = id->sock_gid = pw->pw_gid;
	if (o->group != NULL) {
		if ((gr = getgrnam(o->group)) == NULL)
			die("no such group: %s", o->group);
		id->sock_gid = gr->gr_gid;
	}
}

static void
drop_privileges(const struct identity *id)
{
	if (!id->set)
		return;
	if (setgroups(1, &id->gid) == -1 || setgid(id->gid) == -1 ||
	    setuid(id->uid) == -1)
		die("cannot become %s", id->name);
	if (setuid(0) != -1)
		die("%s", "could not drop root privileges");
}

/*
 * A worker waits for its database round trip, so one a CPU leaves both the
 * CPUs and PostgreSQL idle: four a CPU keep them busy (bench/run).
 */
static int
default_workers(void)
{
	long	 n = sysconf(_SC_NPROCESSORS_ONLN) * 4;

	return n < 1 ? 4 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

static void
parse_options(int argc, char *argv[], struct options *o)
{
	uint64_t	 n;
	int		 ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt(argc, argv, "g:l:s:u:w:")) != -1)
		switch (ch) {
		case 'l':
			if (strcmp(optarg, "syslog") == 0)
				o->syslog = 1;
			else if (strcmp(optarg, "stderr") != 0)
				die("-l %s: give stderr or syslog", optarg);
			break;
		case 'g':
			o->group = optarg;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'w':
			if (parse_decimal(optarg, MAX_WORKERS, &n) == -1 ||
			    n == 0)
				die("-w %s: give a number of workers from 1 "
				    "to 256", optarg);
			o->workers = (int)n;
			break;
		default:
			usage();
		}
	if (optind != argc)
		usage();
	if (o->workers == 0)
		o->workers = default_workers();
}

static pid_t
start_child(const struct pool *p, const struct slot *slot)
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		log_warn("fork");
		return -1;
	}
	/* exit(), not _exit(): LeakSanitizer and valgrind check at exit. */
	if (pid == 0)
		exit(slot->notifier ? notifier_run(p->cfg, p->wake_fd,
		    p->metrics) :
		    worker_run(p->cfg, p->listen_fd, p->wake_fd, p->metrics));
	return pid;
}

static void
log_exit(const struct slot *slot, pid_t pid, int status)
{
	const char	*what = slot->notifier ? "notifier" : "worker";

	if (WIFSIGNALED(status))
		log_warnx("%s %d killed by signal %d; starting another",
		    what, (int)pid, WTERMSIG(status));
	else
		log_warnx("%s %d exited with status %d; starting another",
		    what, (int)pid, WEXITSTATUS(status));
}

/*
 * A child that dies is replaced at once, unless it had run for under a
 * second: then after a second, so a broken setup does not fork in a loop.
 */
static void
keep_children(const struct pool *p, struct slot *slots, int n)
{
	time_t	 now = time(NULL);
	int	 i;

	for (i = 0; i < n; i++)
		if (slots[i].pid == 0 && now - slots[i].started >= 1) {
			slots[i].pid = start_child(p, &slots[i]);
			slots[i].started = now;
			if (slots[i].pid == -1)
				slots[i].pid = 0;
		}
}

static void
reap(struct slot *slots, int n, int stopping, struct metrics *m)
{
	pid_t	 pid;
	int	 status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < n; i++)
			if (slots[i].pid == pid) {
				slots[i].pid = 0;
				if (!stopping && !slots[i].retiring) {
					log_exit(&slots[i], pid, status);
					metrics_restart(m);
				}
				slots[i].retiring = 0;
			}
}

/*
 * SIGHUP: read the secret files again (a rotation) and replace the
 * workers, each finishing the request in hand first.  A bad secret file
 * keeps the old configuration.
 */
static void
reload(struct config *cfg, struct slot *slots, int n)
{
	char	 err[512];
	int	 i;

	if (config_reload_secrets(cfg, err, sizeof(err)) == -1) {
		log_warnx("SIGHUP: %s; keeping the running configuration", err);
		return;
	}
	log_info("SIGHUP: secrets read again%s; replacing the workers",
	    cfg->secrets[1].key != NULL ? " (with a previous one)" : "");
	for (i = 0; i < n; i++)
		if (slots[i].pid != 0) {
			slots[i].retiring = 1;
			kill(slots[i].pid, SIGTERM);
		}
}

static int
running(const struct slot *slots, int n)
{
	int	 i, count = 0;

	for (i = 0; i < n; i++)
		count += slots[i].pid != 0;
	return count;
}

/* The workers, then the notifier: n + 1 children. */
static int
supervise(struct config *cfg, const struct pool *p, int n,
    const sigset_t *set)
{
	struct slot	*slots;
	struct timespec	 tick = { 1, 0 };
	int		 sig, i, stopping = 0;

	if ((slots = calloc((size_t)n + 1, sizeof(*slots))) == NULL) {
		log_warnx("out of memory");
		return 1;
	}
	for (i = 0; i <= n; i++)
		slots[i].started = time(NULL) - 1;
	slots[n].notifier = 1;
	log_info("started: %d workers", n);
	for (;;) {
		if (!stopping)
			keep_children(p, slots, n + 1);
		sig = sigtimedwait(set, NULL, &tick);
		if (sig == SIGCHLD || sig == -1)
			reap(slots, n + 1, stopping, p->metrics);
		/* The workers only: the notifier reads no secret. */
		if (sig == SIGHUP && !stopping)
			reload(cfg, slots, n);
		if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
			/* Workers finish the request in hand, then exit. */
			log_info("stopping: waiting for %d workers",
			    running(slots, n));
			stopping = 1;
			for (i = 0; i <= n; i++)
				if (slots[i].pid != 0)
					kill(slots[i].pid, SIGTERM);
		}
		if (stopping && running(slots, n + 1) == 0)
			break;
	}
	free(slots);
	log_info("stopped");
	return 0;
}

int
main(int argc, char *argv[])
{
	struct options	 o;
	struct identity	 id;
	struct config	 cfg;
	struct pool	 pool;
	char		 err[512];
	sigset_t	 set;
	int		 rc;

	parse_options(argc, argv, &o);
	log_init("calsync", o.syslog);
	if (config_load(&cfg, err, sizeof(err)) == -1)
		die("%s", err);
	resolve_identity(&o, &id);
	pool.cfg = &cfg;
	pool.listen_fd = open_listener(&o, &id);
	drop_privileges(&id);
	/* Deliveries are kept there while the database is away. */
	if (access(cfg.spool_dir, W_OK | X_OK) == -1)
		die("spool directory %s must exist and be writable by calsync's "
		    "user (or set CALSYNC_SPOOL_DIR)", cfg.spool_dir);

	/* Signals are taken synchronously: sigtimedwait() here, a signalfd
	 * in each worker.  Nothing runs in a signal handler. */
	/* A shell starting us in the background may have set SIGINT to be
	 * ignored, and an ignored signal never reaches sigtimedwait(). */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);

	/* The socket file stays: the next start finds it stale and replaces
	 * it, whatever user calsync runs as by then. */
	if ((pool.metrics = metrics_new()) == NULL)
		die("cannot map the shared counters: %s", strerror(errno));
	if ((pool.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		die("eventfd: %s", strerror(errno));
	rc = supervise(&cfg, &pool, o.workers, &set);
	close(pool.wake_fd);
	metrics_free(pool.metrics);
	config_free(&cfg);
	return rc;
}
