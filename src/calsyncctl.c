/*
 * calsyncctl.c: calsyncctl(8), the operator's tool: sign a body as
 * Cal.com would, check the configuration and the database, list the
 * recent deliveries, replay them, reconcile with Cal.com's own record.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calsync.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: calsyncctl sign FILE|-\n"
	    "       calsyncctl check\n"
	    "       calsyncctl deliveries [-n count] [-o outcome]\n"
	    "       calsyncctl replay -a | ID ...\n"
	    "       calsyncctl reconcile [--since DURATION | --from ISO --to ISO]"
	    " [--dry-run]\n");
	exit(2);
}

/* The whole of a file (or stdin), as sent: its bytes are what is signed.
 * NULL with errno set on failure; the caller frees. */
static char *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf = NULL, *bigger;
	size_t	 cap = 0, n;

	*len = 0;
	if ((f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((bigger = realloc(buf, cap)) == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
		}
		if ((n = fread(buf + *len, 1, cap - *len, f)) == 0)
			break;
		*len += n;
	}
	if (buf != NULL && ferror(f)) {
		free(buf);
		buf = NULL;
		errno = EIO;
	}
	if (f != stdin)
		fclose(f);
	return buf;
}

static int
cmd_sign(int argc, char *argv[])
{
	struct secret	 s[2] = { { NULL, 0 }, { NULL, 0 } };
	struct verifier	*v = NULL;
	char		 err[512], hex[SIGNATURE_HEX_LEN + 1], *body;
	size_t		 len;
	int		 rc = 1;

	if (argc != 2)
		usage();
	if (config_load_secrets(s, err, sizeof(err)) == -1) {
		fprintf(stderr, "calsyncctl: %s\n", err);
		return 1;
	}
	if ((body = slurp(argv[1], &len)) == NULL)
		fprintf(stderr, "calsyncctl: %s: %s\n", argv[1],
		    strerror(errno));
	else if ((v = verify_new(s)) == NULL)
		fprintf(stderr, "calsyncctl: out of memory\n");
	else {
		verify_sign(v, body, len, hex);
		printf("%s\n", hex);
		rc = 0;
	}
	verify_free(v);
	free(body);
	config_free_secret(&s[0]);
	config_free_secret(&s[1]);
	return rc;
}

/* The store named by DATABASE_URL; exits with one line if unusable. */
static struct store *
open_store(void)
{
	struct config	 cfg;
	struct store	*st;
	char		 err[512];

	if (config_load(&cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "calsyncctl: %s\n", err);
		exit(1);
	}
	st = store_new(cfg.database_url);
	config_free(&cfg);
	if (st == NULL) {
		fprintf(stderr, "calsyncctl: out of memory\n");
		exit(1);
	}
	return st;
}

static int
cmd_check(int argc, char *argv[])
{
	struct store	*st;
	char		 msg[512];
	int		 rc;

	(void)argv;
	if (argc != 1)
		usage();
	st = open_store();
	rc = store_check(st, msg, sizeof(msg));
	fprintf(rc == 0 ? stdout : stderr, "%s%s\n",
	    rc == 0 ? "ok: " : "calsyncctl: ", msg);
	store_free(st);
	return rc == 0 ? 0 : 1;
}

static int
cmd_deliveries(int argc, char *argv[])
{
	struct store	*st;
	const char	*outcome = NULL;
	enum outcome	 o;
	uint64_t	 n = 20;
	int		 ch, rc = 0;

	while ((ch = getopt(argc, argv, "n:o:")) != -1)
		switch (ch) {
		case 'n':
			if (parse_decimal(optarg, 100000, &n) == -1 || n == 0)
				usage();
			break;
		case 'o':
			if (outcome_from_name(optarg, &o) == -1) {
				fprintf(stderr, "calsyncctl: no outcome %s\n",
				    optarg);
				return 2;
			}
			outcome = optarg;
			break;
		default:
			usage();
		}
	if (optind != argc)
		usage();
	st = open_store();
	if (store_print_deliveries(st, stdout, (int)n, outcome) == -1) {
		fprintf(stderr, "calsyncctl: %s\n", store_error(st));
		rc = 1;
	}
	store_free(st);
	return rc;
}

/* One delivery again: settled in SQL if it was read once, else read again
 * and applied like a live one, its row then saying what became of it. */
static int
replay_one(struct store *st, struct verifier *v, struct parser *p,
    const struct replayable *r)
{
	struct delivery	 d;
	struct applied	 a;
	unsigned char	 digest[DIGEST_LEN];
	char		 id[32], err[256] = "body unreadable";
	int		 rc = 0;

	memset(&d, 0, sizeof(d));
	if (r->has_event)
		rc = store_replay_event(st, r->id, &a);
	else if (r->body == NULL || payload_parse(p, r->body, r->len, &d, err,
	    sizeof(err)) == -1) {
		memset(&a, 0, sizeof(a));
		a.outcome = OUTCOME_BAD_REQUEST;
		snprintf(a.detail, sizeof(a.detail), "%s", err);
		payload_free(&d);
		rc = store_mark_replayed(st, r->id, a.outcome, a.detail);
	} else {
		snprintf(id, sizeof(id), REPLAY_ID_PREFIX "%lld", r->id);
		if (verify_digest(v, r->body, r->len, digest) == -1) {
			fprintf(stderr, "calsyncctl: delivery %lld: out of "
			    "memory\n", r->id);
			payload_free(&d);
			return -1;
		}
		if ((rc = store_apply(st, id, &d, digest, r->body, r->len,
		    &a)) == 0)
			rc = store_mark_replayed(st, r->id, a.outcome,
			    "replayed");
		payload_free(&d);
	}
	if (rc == -1) {
		fprintf(stderr, "calsyncctl: delivery %lld: %s\n", r->id,
		    store_error(st));
		return -1;
	}
	printf("%-8lld %-12s %s\n", r->id, outcome_info(a.outcome)->name,
	    a.detail);
	return 0;
}

/* Replay delivery id, or (id 0) every unmatched or failed one. */
static int
replay(struct store *st, struct verifier *v, struct parser *p, long long id)
{
	struct replayable	*list;
	size_t			 n, i;
	int			 rc = 0;

	if (store_replayable(st, id, &list, &n) == -1) {
		fprintf(stderr, "calsyncctl: %s\n", store_error(st));
		return 1;
	}
	if (n == 0 && id != 0)
		fprintf(stderr, "calsyncctl: delivery %lld is not unmatched or "
		    "failed; nothing to replay\n", id);
	for (i = 0; i < n && rc == 0; i++)
		rc = replay_one(st, v, p, &list[i]) == -1 ? 1 : 0;
	store_free_replayable(list, n);
	return rc;
}

static int
cmd_replay(int argc, char *argv[])
{
	static const struct secret	 none[2];	/* a digest only */
	struct store			*st;
	struct verifier			*v;
	struct parser			*p;
	uint64_t			 id;
	int				 ch, all = 0, rc = 0, k;

	while ((ch = getopt(argc, argv, "a")) != -1)
		if (ch == 'a')
			all = 1;
		else
			usage();
	if (all == (optind < argc))
		usage();
	for (k = optind; k < argc; k++)
		if (parse_decimal(argv[k], INT64_MAX, &id) == -1 || id == 0)
			usage();
	st = open_store();
	v = verify_new(none);
	p = payload_parser_new();
	if (v == NULL || p == NULL) {
		fprintf(stderr, "calsyncctl: out of memory\n");
		rc = 1;
	}
	if (all && rc == 0)
		rc = replay(st, v, p, 0);
	for (k = optind; k < argc && rc == 0; k++)
		rc = replay(st, v, p, strtoll(argv[k], NULL, 10));
	payload_parser_free(p);
	verify_free(v);
	store_free(st);
	return rc;
}

/* 90s, 30m, 26h, 7d: a duration up to a year, in ms. */
static int
parse_duration(const char *s, int64_t *ms)
{
	static const struct { char unit; int64_t ms; } units[] = {
		{ 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 },
		{ 'd', 86400000 } };
	char		 num[16];
	size_t		 len = strlen(s), i;
	uint64_t	 n;

	if (len < 2 || len >= sizeof(num))
		return -1;
	memcpy(num, s, len - 1);
	num[len - 1] = '\0';
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (s[len - 1] == units[i].unit &&
		    parse_decimal(num, 366 * 86400000LL / units[i].ms, &n) == 0 &&
		    n > 0) {
			*ms = (int64_t)n * units[i].ms;
			return 0;
		}
	return -1;
}

static int
parse_when(const char *s, int64_t *ms)
{
	return timestamp_parse(s, strlen(s), ms);
}

/* Refused options: one line, exit 2 (usage and configuration alike). */
static int
refuse(const char *what)
{
	fprintf(stderr, "calsyncctl: %s\n", what);
	return 2;
}

static int
cmd_reconcile(int argc, char *argv[])
{
	static const struct option	 longopts[] = {
		{ "since",	required_argument,	NULL,	's' },
		{ "from",	required_argument,	NULL,	'f' },
		{ "to",		required_argument,	NULL,	't' },
		{ "dry-run",	no_argument,		NULL,	'n' },
		{ NULL,		0,			NULL,	0 }
	};
	struct reconcile_opts	 o = { TIME_NONE, TIME_NONE, 0 };
	struct calcom_config	 api;
	struct config		 cfg;
	struct store		*st;
	struct timespec		 now;
	int64_t			 since = 26 * 3600000LL;
	char			 err[512];
	int			 ch, rc;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		switch (ch) {
		case 's':
			if (parse_duration(optarg, &since) == -1)
				return refuse("--since takes a duration such as "
				    "90m, 26h or 7d (at most 366d)");
			break;
		case 'f':
		case 't':
			if (parse_when(optarg, ch == 'f' ? &o.from : &o.to) == -1)
				return refuse("--from and --to take ISO 8601 "
				    "times with a zone, such as "
				    "2026-03-01T00:00:00Z");
			break;
		case 'n':
			o.dry_run = 1;
			break;
		default:
			usage();
		}
	if (optind != argc)
		usage();
	if ((o.from == TIME_NONE) != (o.to == TIME_NONE))
		return refuse("give --from and --to together");
	if (o.from != TIME_NONE && o.from >= o.to)
		return refuse("--from must be before --to");
	if (o.from == TIME_NONE) {
		clock_gettime(CLOCK_REALTIME, &now);
		o.to = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
		o.from = o.to - since;
	}
	if (config_load_calcom(&api, err, sizeof(err)) == -1) {
		config_free_calcom(&api);
		return refuse(err);
	}
	if (config_load_database(&cfg, err, sizeof(err)) == -1) {
		config_free_calcom(&api);
		return refuse(err);
	}
	if ((st = store_new(cfg.database_url)) == NULL) {
		fprintf(stderr, "calsyncctl: out of memory\n");
		rc = 1;
	} else
		rc = reconcile_run(st, &api, cfg.spool_dir, &o);
	store_free(st);
	config_free(&cfg);
	config_free_calcom(&api);
	return rc;
}

static const struct {
	const char	*name;
	int		(*run)(int, char *[]);
} commands[] = {
	{ "sign",	cmd_sign },
	{ "check",	cmd_check },
	{ "deliveries",	cmd_deliveries },
	{ "replay",	cmd_replay },
	{ "reconcile",	cmd_reconcile },
};

int
main(int argc, char *argv[])
{
	size_t	 i;

	log_init("calsyncctl", 0);
	if (argc < 2)
		usage();
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	usage();
}
