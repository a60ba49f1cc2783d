/*
 * tap.h: the Test Anything Protocol, as automake's tap-driver.sh reads
 * it: "ok N - name" or "not ok N - name", then the plan.  Its functions
 * are inline: a test that uses only some of them builds without a warning.
 */
#ifndef TAP_H
#define TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((long long)(got), \
	(long long)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, \
	__LINE__, __VA_ARGS__)

static inline void __attribute__((format(printf, 4, 5)))
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list	 ap;

	printf("%sok %d - ", pass ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		tap_failed++;
		printf("# failed at %s:%d\n", file, line);
	}
}

#define tap_report(pass, file, line, fmt, diag) do {			\
	va_list	 ap;							\
	printf("%sok %d - ", (pass) ? "" : "not ", ++tap_n);		\
	va_start(ap, fmt);						\
	vprintf(fmt, ap);						\
	va_end(ap);							\
	printf("\n");							\
	if (!(pass)) {							\
		tap_failed++;						\
		printf("# failed at %s:%d: ", file, line);		\
		diag;							\
	}								\
} while (0)

static inline void __attribute__((format(printf, 5, 6)))
tap_is_int(long long got, long long want, const char *file, int line,
    const char *fmt, ...)
{
	tap_report(got == want, file, line, fmt,
	    printf("got %lld, want %lld\n", got, want));
}

static inline void __attribute__((format(printf, 5, 6)))
tap_is_str(const char *got, const char *want, const char *file, int line,
    const char *fmt, ...)
{
	int	 pass = (got == NULL && want == NULL) ||
	    (got != NULL && want != NULL && strcmp(got, want) == 0);

	tap_report(pass, file, line, fmt,
	    printf("got \"%s\", want \"%s\"\n", got ? got : "(null)",
	    want ? want : "(null)"));
}

static int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed == 0 ? 0 : 1;
}

#endif /* TAP_H */
