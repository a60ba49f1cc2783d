/*
 * gen.c: bench code, not calsync.  Writes COUNT distinct BOOKING_CREATED
 * deliveries made from a tests/data/e2e template, each signed as Cal.com
 * signs it, one per line:  uid TAB signature TAB body.
 *
 *	STACK_SECRET=... gen -t created.json -p UIDPREFIX -f FIRST -n COUNT
 *
 * Delivery FIRST+i has uid UIDPREFIX<FIRST+i>, student (FIRST+i) mod 1000
 * (student0001@bench.example ...) and its own start time.  C rather than
 * openssl(1) or calsyncctl per body: one process and one HMAC of 2.5 KB
 * each is microseconds, where a process per body would take minutes for
 * 100,000 deliveries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define STUDENTS	1000
#define SLOT_SECONDS	(30 * 60)	/* distinct start times, 30 min apart */
#define START_EPOCH	1798761600	/* 2027-01-01T00:00:00Z */

struct fill {
	const char	*key;		/* the placeholder, without its @s */
	char		 value[128];
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: STACK_SECRET=... gen -t template -p prefix "
	    "-f first -n count\n");
	exit(1);
}

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*buf;
	long	 len;

	if ((f = fopen(path, "r")) == NULL || fseek(f, 0, SEEK_END) == -1 ||
	    (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) == -1 ||
	    (buf = malloc((size_t)len + 1)) == NULL ||
	    fread(buf, 1, (size_t)len, f) != (size_t)len) {
		perror(path);
		exit(1);
	}
	fclose(f);
	/* The template's trailing newline is not part of a compact body. */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (strchr(buf, '\n') != NULL || strchr(buf, '\t') != NULL) {
		fprintf(stderr, "%s: not compact JSON on one line\n", path);
		exit(1);
	}
	return buf;
}

static void
iso8601(time_t t, int ms, char *out, size_t outsz)
{
	struct tm	 tm;
	char		 s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	if (ms >= 0)
		snprintf(out, outsz, "%s.%03dZ", s, ms);
	else
		snprintf(out, outsz, "%sZ", s);
}

struct out {
	char	*buf;
	size_t	 len, size;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->size) {
		fprintf(stderr, "gen: body over %zu bytes\n", o->size);
		exit(1);
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

/*
 * The template with every @KEY@ of fills replaced.  An @ that starts no
 * known key is the JSON's own (an email address) and stays.
 */
static void
expand(const char *tpl, const struct fill *fills, size_t nfills,
    struct out *o)
{
	const char	*p = tpl, *at, *end;
	size_t		 klen, i;

	o->len = 0;
	while ((at = strchr(p, '@')) != NULL) {
		put(o, p, (size_t)(at - p));
		p = at + 1;
		if ((end = strchr(p, '@')) == NULL)
			break;
		klen = (size_t)(end - p);
		for (i = 0; i < nfills; i++)
			if (strlen(fills[i].key) == klen &&
			    memcmp(fills[i].key, p, klen) == 0)
				break;
		if (i == nfills) {
			put(o, "@", 1);
			continue;
		}
		put(o, fills[i].value, strlen(fills[i].value));
		p = end + 1;
	}
	put(o, p, strlen(p));
}

static void
sign(const char *secret, const char *body, size_t len, char hex[65])
{
	static const char	 digits[] = "0123456789abcdef";
	unsigned char		 mac[32];
	unsigned int		 maclen = sizeof(mac);
	int			 i;

	if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)body, len, mac,
	    &maclen) == NULL || maclen != sizeof(mac)) {
		fprintf(stderr, "gen: HMAC failed\n");
		exit(1);
	}
	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 0xf];
	}
	hex[64] = '\0';
}

int
main(int argc, char *argv[])
{
	struct fill	 f[] = {
		{ "UID", "" }, { "STUDENT", "" }, { "START", "" },
		{ "END", "" }, { "CREATED_AT", "" },
		{ "ORGANIZER", "guilherme@gapersonal.com" },
		{ "EVENT", "Personal Training Session" },
		{ "LOCATION", "GA Personal Studio" },
		{ "NOTES", "" },
	};
	const char	*tpl_path = NULL, *prefix = NULL, *secret;
	char		*tpl, body[16384], sig[65];
	struct out	 o = { body, 0, sizeof(body) };
	unsigned long	 first = 0, count = 0, n, i;
	struct timespec	 now;
	time_t		 start;
	int		 ch;

	while ((ch = getopt(argc, argv, "f:n:p:t:")) != -1)
		switch (ch) {
		case 'f':
			first = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			prefix = optarg;
			break;
		case 't':
			tpl_path = optarg;
			break;
		default:
			usage();
		}
	/* The secret comes from the environment, never argv (ps shows it). */
	if (tpl_path == NULL || prefix == NULL || count == 0 ||
	    (secret = getenv("STACK_SECRET")) == NULL || *secret == '\0')
		usage();
	tpl = slurp(tpl_path);
	clock_gettime(CLOCK_REALTIME, &now);

	for (i = 0; i < count; i++) {
		n = first + i;
		snprintf(f[0].value, sizeof(f[0].value), "%s%06lu", prefix, n);
		snprintf(f[1].value, sizeof(f[1].value),
		    "student%04lu@bench.example", n % STUDENTS + 1);
		start = (time_t)START_EPOCH + (time_t)n * SLOT_SECONDS;
		iso8601(start, -1, f[2].value, sizeof(f[2].value));
		iso8601(start + 3600, -1, f[3].value, sizeof(f[3].value));
		/* createdAt: "now", as Cal.com stamps the sending time. */
		iso8601(now.tv_sec, (int)(now.tv_nsec / 1000000), f[4].value,
		    sizeof(f[4].value));
		expand(tpl, f, sizeof(f) / sizeof(f[0]), &o);
		sign(secret, body, o.len, sig);
		printf("%s\t%s\t%s\n", f[0].value, sig, body);
	}
	free(tpl);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("gen: stdout");
		return 1;
	}
	return 0;
}
