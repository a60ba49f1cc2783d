/*
 * dbfault.c: the one table that says what a failed database call means
 * for a verified delivery: try again (on the same connection or a new
 * one), spool it until the database takes writes, or refuse it (journal
 * it as internal, for calsyncctl replay).  store.c consults it; it needs
 * nothing of libpq but the SQLSTATE and whether the connection survived.
 */
#include "config.h"

#include <string.h>

#include "calsync.h"

/*
 * Looked up in this order: the SQLSTATE itself, its class (two
 * characters), then what libpq says of the connection: "lost" (it broke:
 * a crash, a failover, a cut route) or "no-sqlstate" (an error libpq made
 * itself, with the connection seemingly up: trust it no more).  Anything
 * else is refused.  A delivery is idempotent, so trying it again is safe
 * even when the first try committed and only its answer was lost.
 */
static const struct dbfault_rule rules[] = {
	{ "40001", DBFAULT_RETRY, "serialization failure" },
	{ "40P01", DBFAULT_RETRY, "deadlock" },
	{ "40", DBFAULT_RETRY, "transaction rolled back" },
	{ "08", DBFAULT_RECONNECT, "connection exception" },
	{ "57P01", DBFAULT_RECONNECT, "server shutting down (admin)" },
	{ "57P02", DBFAULT_RECONNECT, "server crashed (crash shutdown)" },
	{ "57P03", DBFAULT_RECONNECT, "server starting or stopping" },
	{ "57P05", DBFAULT_RECONNECT, "idle session timeout" },
	{ "25006", DBFAULT_RECONNECT, "read-only (a standby, or "
	    "default_transaction_read_only): another host may take writes" },
	{ "57014", DBFAULT_SPOOL, "statement timeout or cancel" },
	{ "57", DBFAULT_SPOOL, "operator intervention" },
	{ "55P03", DBFAULT_SPOOL, "lock timeout" },
	{ "53", DBFAULT_SPOOL, "insufficient resources (disk full, out of "
	    "memory, too many connections)" },
	{ "58", DBFAULT_SPOOL, "system error (I/O)" },
	{ DBFAULT_CANNOT_CONNECT, DBFAULT_SPOOL, "no host takes a "
	    "connection (down, failing over, read-only, refused)" },
	{ DBFAULT_LOST, DBFAULT_RECONNECT, "connection lost mid-request" },
	{ DBFAULT_NO_SQLSTATE, DBFAULT_RECONNECT, "libpq's own error "
	    "(e.g. server closed the connection unexpectedly)" },
	{ "22", DBFAULT_REFUSE, "data exception: the body's values" },
	{ "23", DBFAULT_REFUSE, "integrity constraint: the body's values" },
	{ "42", DBFAULT_REFUSE, "schema or privilege (is sql/calsync.sql "
	    "current?)" },
	{ "*", DBFAULT_REFUSE, "anything else" },
};

#define NRULES	(sizeof(rules) / sizeof(rules[0]))

static const struct dbfault_rule *
find(const char *key, size_t len)
{
	size_t	 i;

	for (i = 0; i < NRULES; i++)
		if (strlen(rules[i].key) == len &&
		    strncmp(rules[i].key, key, len) == 0)
			return &rules[i];
	return NULL;
}

/*
 * sqlstate: the error's SQLSTATE, one of the DBFAULT_ keys, or NULL;
 * connected: whether libpq still calls the connection good.  Never NULL.
 */
const struct dbfault_rule *
dbfault_classify(const char *sqlstate, int connected)
{
	const struct dbfault_rule	*r = NULL;

	if (sqlstate != NULL && (r = find(sqlstate, strlen(sqlstate))) ==
	    NULL && strlen(sqlstate) == 5)
		r = find(sqlstate, 2);
	if (r == NULL && !connected)
		r = find(DBFAULT_LOST, strlen(DBFAULT_LOST));
	if (r == NULL && sqlstate == NULL)
		r = find(DBFAULT_NO_SQLSTATE, strlen(DBFAULT_NO_SQLSTATE));
	if (r == NULL)
		r = find("*", 1);
	return r;
}

/* The whole table, for its test and for anyone who prints it. */
const struct dbfault_rule *
dbfault_rules(size_t *n)
{
	*n = NRULES;
	return rules;
}

const char *
dbfault_action_name(enum dbfault_action a)
{
	static const char *const names[] = {
		[DBFAULT_RETRY] = "retry",
		[DBFAULT_RECONNECT] = "reconnect",
		[DBFAULT_SPOOL] = "spool",
		[DBFAULT_REFUSE] = "refuse",
	};

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ?
	    names[a] : "refuse";
}
