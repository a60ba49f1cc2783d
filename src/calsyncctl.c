/*
 * calsyncctl.c: calsyncctl(8), the operator's tool: sign a body as
 * Cal.com would, check the configuration and the database, list the
 * recent deliveries.
 */
#include "config.h"

#include <errno.h>
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
	    "       calsyncctl deliveries [-n count]\n");
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
	struct secret	 s = { NULL, 0 };
	char		 err[512], hex[SIGNATURE_HEX_LEN + 1], *body;
	size_t		 len;

	if (argc != 2)
		usage();
	if (config_load_secret(&s, err, sizeof(err)) == -1) {
		fprintf(stderr, "calsyncctl: %s\n", err);
		return 1;
	}
	if ((body = slurp(argv[1], &len)) == NULL) {
		fprintf(stderr, "calsyncctl: %s: %s\n", argv[1],
		    strerror(errno));
		free(s.key);
		return 1;
	}
	verify_sign(&s, body, len, hex);
	printf("%s\n", hex);
	free(body);
	explicit_bzero(s.key, s.len);
	free(s.key);
	return 0;
}

static int
with_store(int (*fn)(struct store *, int), int arg)
{
	struct config	 cfg;
	struct store	*st;
	char		 err[512];
	int		 rc;

	if (config_load(&cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "calsyncctl: %s\n", err);
		return 1;
	}
	if ((st = store_new(cfg.database_url)) == NULL) {
		fprintf(stderr, "calsyncctl: out of memory\n");
		config_free(&cfg);
		return 1;
	}
	rc = fn(st, arg);
	store_free(st);
	config_free(&cfg);
	return rc;
}

static int
check(struct store *st, int unused)
{
	char	 msg[512];
	int	 rc = store_check(st, msg, sizeof(msg));

	(void)unused;
	fprintf(rc == 0 ? stdout : stderr, "%s%s\n",
	    rc == 0 ? "ok: " : "calsyncctl: ", msg);
	return rc == 0 ? 0 : 1;
}

static int
deliveries(struct store *st, int count)
{
	if (store_print_deliveries(st, stdout, count) == -1) {
		fprintf(stderr, "calsyncctl: %s\n", store_error(st));
		return 1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	uint64_t	 n = 20;
	int		 ch;

	log_init("calsyncctl");
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0) {
		if (argc != 2)
			usage();
		return with_store(check, 0);
	}
	if (strcmp(argv[1], "deliveries") == 0) {
		optind = 2;
		while ((ch = getopt(argc, argv, "n:")) != -1)
			if (ch != 'n' || parse_decimal(optarg, 100000, &n) == -1
			    || n == 0)
				usage();
		if (optind != argc)
			usage();
		return with_store(deliveries, (int)n);
	}
	usage();
}
