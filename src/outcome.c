/*
 * outcome.c: the one table that says, for every way a request can end,
 * its HTTP status, the word the journal and the logs use, and the
 * message a caller sees when nothing more specific is known.
 */
#include "config.h"

#include <string.h>

#include "calsync.h"

static const struct outcome_info outcomes[OUTCOME__MAX] = {
	[OUTCOME_APPLIED] = { 200, "applied", "applied" },
	[OUTCOME_DUPLICATE] = { 200, "duplicate",
	    "already applied; nothing changed" },
	[OUTCOME_IGNORED] = { 200, "ignored",
	    "received; calsync takes no action on this trigger" },
	[OUTCOME_PENDING] = { 202, "pending",
	    "recorded; applied when its booking arrives" },
	[OUTCOME_SPOOLED] = { 202, "spooled",
	    "accepted: kept on this host until the database is back" },
	[OUTCOME_BAD_REQUEST] = { 400, "invalid", "invalid request body" },
	[OUTCOME_UNAUTHORIZED] = { 401, "unauthorized",
	    "invalid or missing X-Cal-Signature-256" },
	[OUTCOME_NOT_FOUND] = { 404, "not_found",
	    "not found; Cal.com posts to " WEBHOOK_PATH },
	[OUTCOME_BAD_METHOD] = { 405, "bad_method",
	    "method not allowed: Cal.com POSTs; see the Allow header" },
	[OUTCOME_LENGTH_REQUIRED] = { 411, "length_required",
	    "Content-Length is required" },
	[OUTCOME_TOO_LARGE] = { 413, "too_large", "request body too large" },
	[OUTCOME_UNSUPPORTED_TYPE] = { 415, "unsupported_type",
	    "Content-Type must be application/json; "
	    "remove the payload template from the Cal.com webhook" },
	[OUTCOME_STALE] = { 200, "stale",
	    "older than a change already applied; nothing changed" },
	[OUTCOME_UNMATCHED] = { 422, "unmatched",
	    "trainer or student not found; delivery kept for replay" },
	/* Never an answer: what calsync.expire_pending journals. */
	[OUTCOME_EXPIRED] = { 200, "expired",
	    "pending too long: its booking never arrived" },
	[OUTCOME_UNAVAILABLE] = { 503, "unavailable",
	    "database unavailable" },
	[OUTCOME_INTERNAL] = { 500, "internal", "internal error" },
};

const struct outcome_info *
outcome_info(enum outcome o)
{
	if ((unsigned)o >= OUTCOME__MAX)
		o = OUTCOME_INTERNAL;
	return &outcomes[o];
}

int
outcome_from_name(const char *name, enum outcome *o)
{
	int	 i;

	for (i = 0; i < OUTCOME__MAX; i++)
		if (strcmp(outcomes[i].name, name) == 0) {
			*o = (enum outcome)i;
			return 0;
		}
	return -1;
}
