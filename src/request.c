/*
 * request.c: one FastCGI request: accepting it, routing on method and
 * path, reading exactly CONTENT_LENGTH bytes of body, and writing the
 * answer.  The only file that uses libfcgi.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "calsync.h"

struct fcgi {
	FCGX_Request	 req;
	unsigned long	 served;	/* for request ids nginx did not give */
};

static const char *const status_text[] = {
	[200] = "OK", [202] = "Accepted", [400] = "Bad Request",
	[401] = "Unauthorized", [404] = "Not Found",
	[405] = "Method Not Allowed", [411] = "Length Required",
	[413] = "Content Too Large", [415] = "Unsupported Media Type",
	[422] = "Unprocessable Content", [500] = "Internal Server Error",
	[503] = "Service Unavailable",
};

struct fcgi *
fcgi_new(int listen_fd)
{
	struct fcgi	*f;

	if (FCGX_Init() != 0 || (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if (FCGX_InitRequest(&f->req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR)
	    != 0) {
		free(f);
		return NULL;
	}
	return f;
}

void
fcgi_free(struct fcgi *f)
{
	if (f == NULL)
		return;
	FCGX_Free(&f->req, 1);
	free(f);
}

/*
 * The listening socket is non-blocking, and the worker only calls this
 * when poll(2) said a connection waits: another worker may have taken
 * it, which is EAGAIN here, not an error.  Returns 1 with a request, 0
 * for nothing to do, -1 on a real failure.
 */
int
fcgi_accept(struct fcgi *f)
{
	int	 rc;

	if ((rc = FCGX_Accept_r(&f->req)) == 0) {
		f->served++;
		return 1;
	}
	if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR ||
	    rc == -ECONNABORTED)
		return 0;
	errno = rc < 0 && rc > -4096 ? -rc : EIO;
	return -1;
}

static const char *
param(struct fcgi *f, const char *name)
{
	return FCGX_GetParam(name, f->req.envp);
}

/* Whether REQUEST_URI, without its query string, is path. */
static int
path_is(const char *uri, const char *path)
{
	size_t	 len = strlen(path);

	return uri != NULL && strncmp(uri, path, len) == 0 &&
	    (uri[len] == '\0' || uri[len] == '?');
}

static void
copy_id(struct request *r, struct fcgi *f)
{
	const char	*id = param(f, "REQUEST_ID");
	const char	*remote = param(f, "REMOTE_ADDR");
	size_t		 len = id != NULL ? strlen(id) : 0;

	if (len > 0 && len <= REQUEST_ID_MAX &&
	    strspn(id, "0123456789abcdefABCDEF-") == len)
		memcpy(r->id, id, len + 1);
	else
		snprintf(r->id, sizeof(r->id), "%d-%lu", (int)getpid(),
		    f->served);
	log_escape(r->remote, sizeof(r->remote), remote,
	    remote != NULL ? strlen(remote) : 0);
}

/* Read exactly len bytes of body; a body that is shorter or longer lies. */
static enum outcome
read_body(struct fcgi *f, struct request *r, size_t len, char *err,
    size_t errsz)
{
	size_t	 got = 0;
	int	 n;

	if ((r->body = malloc(len + 1)) == NULL)
		return OUTCOME_INTERNAL;
	while (got < len) {
		n = FCGX_GetStr(r->body + got, len - got > INT32_MAX ?
		    INT32_MAX : (int)(len - got), f->req.in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != len) {
		snprintf(err, errsz, "body is %zu bytes, shorter than "
		    "Content-Length %zu", got, len);
		return OUTCOME_BAD_REQUEST;
	}
	if (FCGX_GetChar(f->req.in) != EOF) {
		snprintf(err, errsz, "body is longer than Content-Length %zu",
		    len);
		return OUTCOME_BAD_REQUEST;
	}
	r->body[len] = '\0';
	r->len = len;
	return OUTCOME_APPLIED;
}

/*
 * method -> path -> Content-Length -> body.  On anything but
 * OUTCOME_APPLIED, err holds the reason to answer with.
 */
enum outcome
request_read(struct fcgi *f, size_t max_body, struct request *r, char *err,
    size_t errsz)
{
	const char	*method, *uri, *length;
	uint64_t	 len;

	memset(r, 0, sizeof(*r));
	r->fcgi = f;
	copy_id(r, f);
	err[0] = '\0';

	method = param(f, "REQUEST_METHOD");
	uri = param(f, "REQUEST_URI");
	if (path_is(uri, "/healthz"))
		r->route = ROUTE_HEALTH;
	else if (path_is(uri, "/metrics"))
		r->route = ROUTE_METRICS;
	else if (!path_is(uri, WEBHOOK_PATH))
		return OUTCOME_NOT_FOUND;
	if (r->route != ROUTE_WEBHOOK)
		return method != NULL && strcmp(method, "GET") == 0 ?
		    OUTCOME_APPLIED : OUTCOME_BAD_METHOD;
	if (method == NULL || strcmp(method, "POST") != 0)
		return OUTCOME_BAD_METHOD;
	length = param(f, "CONTENT_LENGTH");
	if (length == NULL || *length == '\0')
		return OUTCOME_LENGTH_REQUIRED;
	if (parse_decimal(length, UINT64_MAX, &len) == -1) {
		snprintf(err, errsz, "Content-Length is not a decimal number");
		return OUTCOME_BAD_REQUEST;
	}
	if (len > max_body) {
		snprintf(err, errsz, "request body of %llu bytes is over the "
		    "limit of %zu", (unsigned long long)len, max_body);
		return OUTCOME_TOO_LARGE;
	}
	r->signature = param(f, "HTTP_X_CAL_SIGNATURE_256");
	r->content_type = param(f, "CONTENT_TYPE");
	return read_body(f, r, (size_t)len, err, errsz);
}

/*
 * Whether the request said it sends JSON (application/json, parameters
 * such as a charset allowed after ';'): Cal.com's payload templates may
 * send form encoding instead.
 */
int
request_is_json(const struct request *r)
{
	const char	*type = r->content_type;
	size_t		 len = strlen("application/json");

	if (type == NULL || strncasecmp(type, "application/json", len) != 0)
		return 0;
	type += len;
	type += strspn(type, " \t");
	return *type == '\0' || *type == ';';
}

void
request_answer(struct request *r, enum outcome o, const char *type,
    const char *body)
{
	int	 status = outcome_info(o)->status;

	FCGX_FPrintF(r->fcgi->req.out, "Status: %d %s\r\n", status,
	    status_text[status]);
	if (o == OUTCOME_BAD_METHOD)
		FCGX_PutS(r->route == ROUTE_WEBHOOK ? "Allow: POST\r\n" :
		    "Allow: GET\r\n", r->fcgi->req.out);
	FCGX_FPrintF(r->fcgi->req.out, "Content-Type: %s\r\n"
	    "Cache-Control: no-store\r\n\r\n", type);
	if (body != NULL) {
		FCGX_PutS(body, r->fcgi->req.out);
		if (*body != '\0' && body[strlen(body) - 1] != '\n')
			FCGX_PutChar('\n', r->fcgi->req.out);
	}
}

/* Frees what the request owns and ends it with the web server. */
void
request_finish(struct request *r)
{
	free(r->body);
	r->body = NULL;
	if (r->fcgi != NULL)
		FCGX_Finish_r(&r->fcgi->req);
}
