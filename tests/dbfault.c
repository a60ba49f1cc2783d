/*
 * tests/dbfault.c: dbfault.c's table row by row: each failure calsync
 * meets between a verified signature and a commit (a crash, a failover, a
 * read-only host, a full disk, a timeout, the body's own values) and what
 * becomes of the delivery; and every row of the table is one of them.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../src/calsync.h"
#include "tap.h"

/* Written apart from the table: what the operator is promised. */
static const struct {
	const char	*sqlstate;	/* NULL: libpq gave none */
	int		 connected;
	const char	*action;
	const char	*row;		/* the key of the row that decides */
	const char	*what;
} cases[] = {
	{ "40001", 1, "retry", "40001", "serialization failure" },
	{ "40P01", 1, "retry", "40P01", "deadlock" },
	{ "40003", 1, "retry", "40", "statement completion unknown" },
	{ "08006", 0, "reconnect", "08", "connection failure" },
	{ "08003", 0, "reconnect", "08", "connection does not exist" },
	{ "57P01", 0, "reconnect", "57P01", "admin shutdown (pg_ctl -m fast)" },
	{ "57P01", 1, "reconnect", "57P01", "admin shutdown, seen first" },
	{ "57P02", 0, "reconnect", "57P02", "crash shutdown (-m immediate)" },
	{ "57P03", 0, "reconnect", "57P03", "cannot connect now" },
	{ "57P05", 0, "reconnect", "57P05", "idle session timeout" },
	{ "25006", 1, "reconnect", "25006", "read-only transaction" },
	{ "57014", 1, "spool", "57014", "statement timeout" },
	{ "57000", 1, "spool", "57", "operator intervention" },
	{ "55P03", 1, "spool", "55P03", "lock timeout" },
	{ "53100", 1, "spool", "53", "disk full" },
	{ "53200", 1, "spool", "53", "out of memory" },
	{ "53300", 1, "spool", "53", "too many connections" },
	{ "58030", 1, "spool", "58", "I/O error" },
	{ DBFAULT_CANNOT_CONNECT, 0, "spool", DBFAULT_CANNOT_CONNECT,
	    "no host takes a connection" },
	{ NULL, 0, "reconnect", DBFAULT_LOST,
	    "server closed the connection unexpectedly" },
	{ "XX000", 0, "reconnect", DBFAULT_LOST,
	    "an unknown code as the connection dies" },
	{ NULL, 1, "reconnect", DBFAULT_NO_SQLSTATE,
	    "libpq's error, connection still up" },
	{ "22001", 1, "refuse", "22", "string too long" },
	{ "22P02", 1, "refuse", "22", "invalid text representation" },
	{ "23505", 1, "refuse", "23", "unique violation" },
	{ "42883", 1, "refuse", "42", "function missing (old schema)" },
	{ "42501", 1, "refuse", "42", "insufficient privilege" },
	{ "XX000", 1, "refuse", "*", "internal error" },
	{ "P0001", 1, "refuse", "*", "raise_exception" },
	{ "2", 1, "refuse", "*", "a malformed SQLSTATE" },
};

#define NCASES	(sizeof(cases) / sizeof(cases[0]))

int
main(void)
{
	const struct dbfault_rule	*rules, *r;
	size_t				 i, j, n;
	int				 seen;

	for (i = 0; i < NCASES; i++) {
		r = dbfault_classify(cases[i].sqlstate, cases[i].connected);
		is_str(dbfault_action_name(r->action), cases[i].action,
		    "%s (%s, %s): %s", cases[i].what, cases[i].sqlstate ?
		    cases[i].sqlstate : "no SQLSTATE", cases[i].connected ?
		    "connected" : "connection lost", cases[i].action);
		is_str(r->key, cases[i].row, "%s: decided by the row %s",
		    cases[i].what, cases[i].row);
	}

	/* A row nobody tests is a promise nobody checks. */
	rules = dbfault_rules(&n);
	for (j = 0; j < n; j++) {
		for (seen = 0, i = 0; i < NCASES && !seen; i++)
			seen = strcmp(cases[i].row, rules[j].key) == 0;
		ok(seen, "the row %s (%s) has a case above", rules[j].key,
		    dbfault_action_name(rules[j].action));
		ok(rules[j].what != NULL && *rules[j].what != '\0',
		    "the row %s says what it is", rules[j].key);
	}
	is_str(dbfault_action_name((enum dbfault_action)99), "refuse",
	    "an unknown action is named refuse");
	return tap_done();
}
