/*
 * location.c: what Cal.com's booking location becomes in
 * appointments.location: something a trainer or student can use.  The
 * one table of Cal.com location types (app ids such as integrations:daily,
 * and the kinds packages/app-store/locations.ts defines) and their names.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "calsync.h"

/*
 * Cal.com stores a location's type in place of its value when there is no
 * value: always for video apps (the link is then in metadata.videoCallUrl
 * or videoCallData.url), and for the other kinds when the value is hidden.
 * Labels as Cal.com shows them (its English locale).
 */
static const struct {
	const char	*type;
	const char	*name;
} names[] = {
	{ "integrations:daily",			"Cal Video" },
	{ "integrations:google:meet",		"Google Meet" },
	{ "integrations:zoom",			"Zoom" },
	{ "integrations:office365_video",	"Microsoft Teams" },
	{ "integrations:jitsi",			"Jitsi Meet" },
	{ "integrations:whereby_video",		"Whereby" },
	{ "integrations:around_video",		"Around" },
	{ "integrations:riverside_video",	"Riverside" },
	{ "integrations:webex_video",		"Webex" },
	{ "integrations:tandem",		"Tandem" },
	{ "integrations:huddle01",		"Huddle01" },
	{ "integrations:facetime_video",	"FaceTime" },
	{ "integrations:whatsapp_video",	"WhatsApp" },
	{ "integrations:skype_video",		"Skype" },
	{ "attendeeInPerson",	"In person (attendee address)" },
	{ "inPerson",		"In person (organizer address)" },
	{ "phone",		"Phone call (attendee phone number)" },
	{ "userPhone",		"Phone call (organizer phone number)" },
	{ "link",		"Link meeting" },
	{ "somewhereElse",	"Custom attendee location" },
	{ "conferencing",	"Organizer's default conferencing app" },
};

#define UNKNOWN_APP	"Online meeting"	/* integrations:<not above> */

/* The name of a Cal.com location type, or NULL if s is not one. */
static const char *
location_name(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].type) == 0)
			return names[i].name;
	if (strncmp(s, "integrations:", 13) == 0)
		return UNKNOWN_APP;
	return NULL;
}

/* An http(s) URL that fits the column whole: printable ASCII, no blanks. */
static int
usable_link(const char *s)
{
	size_t	 i, len;

	if (s == NULL || (strncasecmp(s, "https://", 8) != 0 &&
	    strncasecmp(s, "http://", 7) != 0))
		return 0;
	len = strlen(s);
	if (len > LOCATION_MAX_CHARS || len <= (s[4] == ':' ? 7u : 8u))
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/*
 * A link that is not an http(s) one calsync can store: "scheme://...", or
 * a scheme a browser runs rather than opens.
 */
static int
other_link(const char *s)
{
	static const char *const run[] = { "javascript:", "data:",
	    "vbscript:", "file:" };
	size_t	 i, n;

	for (i = 0; i < sizeof(run) / sizeof(run[0]); i++)
		if (strncasecmp(s, run[i], strlen(run[i])) == 0)
			return 1;
	n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789+.-");
	return n > 0 && strncmp(s + n, "://", 3) == 0;
}

/*
 * d->location from what the payload sent:
 *   an http(s) URL of at most 255 characters: as sent;
 *   a location type (integrations:*, inPerson, phone, ...) or a link that
 *   is not usable (another scheme, or too long to keep whole): the meeting
 *   URL of the payload if it has a usable one (metadata.videoCallUrl, the
 *   link Cal.com shows, else videoCallData.url), else the type's name
 *   ("Link meeting" for an unusable link);
 *   anything else (an address, a phone number, a place): as sent, cut to
 *   255 characters.
 */
void
location_resolve(struct delivery *d)
{
	const char	*s = d->location_sent, *use;
	size_t		 len, cut;

	if (s == NULL)
		return;
	if (usable_link(s))
		use = s;
	else if ((use = location_name(s)) != NULL ||
	    other_link(s) || strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0) {
		if (usable_link(d->video_url))
			use = d->video_url;
		else if (usable_link(d->video_data_url))
			use = d->video_data_url;
		else if (use == NULL)
			use = location_name("link");
	} else
		use = s;
	len = strlen(use);
	cut = utf8_truncate(use, len, LOCATION_MAX_CHARS);
	memcpy(d->location, use, cut);
	d->location[cut] = '\0';
	d->has_location = true;
}
