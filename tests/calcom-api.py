#!/usr/bin/env python3
"""tests/calcom-api.py: a stand-in for Cal.com's API v2, for tests/reconcile.sh.

It serves GET /v2/bookings over TLS on loopback in the shape Cal.com
documents, and nothing else of Cal.com.  The shapes follow calcom/cal.com:

  packages/platform/types/bookings/2024-08-13/inputs/get-bookings.input.ts
      the query: afterCreatedAt, beforeCreatedAt, afterUpdatedAt,
      beforeUpdatedAt (ISO 8601), sortCreated, take (1..250, default 100)
      and skip (default 0)
  packages/platform/types/bookings/2024-08-13/outputs/booking.output.ts
      each booking (BookingOutput_2024_08_13): optional fields are left out
      when unset, updatedAt is null until the booking is first changed
  packages/platform/types/bookings/2024-08-13/outputs/get-bookings.output.ts
  packages/platform/types/pagination/pagination.output.ts
      the answer: {"status": "success", "data": [...], "pagination":
      {totalItems, remainingItems, returnedItems, itemsPerPage,
      currentPage, totalPages, hasNextPage, hasPreviousPage}}
  apps/api/v2/src/ee/bookings/2024-08-13/controllers/bookings.controller.ts
      GET /v2/bookings, with the header cal-api-version: 2024-08-13 and
      Authorization: Bearer <API key>
  apps/api/v2/src/filters/http-exception.filter.ts
      errors: {"status": "error", "timestamp", "path",
      "error": {"code", "message", "details"}}

A reschedule is what Cal.com does: a new booking (new uid, rescheduledFromUid)
and the original cancelled with rescheduledToUid.  Its own control routes,
under /_standin/ (never Cal.com's), let a test book, reschedule and cancel,
and queue answers to give instead of the next requests (a 429 with
Retry-After, a 500, a body that is not JSON; "real" for a real answer).

usage: calcom-api.py CERT KEY API_KEY PORT_FILE
"""
import datetime
import json
import os
import secrets
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CERT, KEY, API_KEY, PORT_FILE = sys.argv[1:5]
LOCK = threading.Lock()
BOOKINGS = []          # in creation order
QUEUED = []            # canned answers for the next GET /v2/bookings
SERVED = {"count": 0}  # GET /v2/bookings answered, canned ones too


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def parse_iso(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def new_uid():
    return secrets.token_urlsafe(16).replace("-", "a").replace("_", "b")


def make_booking(spec, start, created):
    minutes = int(spec.get("minutes", 60))
    end = start + datetime.timedelta(minutes=minutes)
    organizer = spec.get("organizer", "guilherme@gapersonal.com")
    attendee = spec.get("attendee", "ana@example.com")
    b = {
        "id": len(BOOKINGS) + 1,
        "uid": new_uid(),
        "title": "Personal Training Session between Guilherme and Ana",
        "description": "",
        "hosts": [{"id": 1, "name": "Guilherme", "email": organizer,
                   "displayEmail": organizer, "username": "guilherme",
                   "timeZone": "America/Sao_Paulo"}],
        "status": "accepted",
        "start": iso(start),
        "end": iso(end),
        "duration": minutes,
        "eventTypeId": 7,
        "eventType": {"id": 7, "slug": spec.get("slug", "personal-training-session")},
        "location": spec.get("location", "GA Personal Studio"),
        "absentHost": False,
        "createdAt": iso(created),
        "updatedAt": None,
        "metadata": {},
        "attendees": [{"name": "Ana", "email": attendee, "displayEmail": attendee,
                       "timeZone": "America/Sao_Paulo", "language": "pt",
                       "absent": False}],
        "guests": [],
        "bookingFieldsResponses": {"name": "Ana", "email": attendee},
    }
    BOOKINGS.append(b)
    return b


def find(uid):
    for b in BOOKINGS:
        if b["uid"] == uid:
            return b
    return None


def error(handler, status, code, message):
    handler.answer(status, json.dumps({
        "status": "error", "timestamp": iso(now()), "path": handler.path,
        "error": {"code": code, "message": message,
                  "details": {"message": message, "statusCode": status}}}))


def list_bookings(handler, query):
    q = {k: v[-1] for k, v in parse_qs(query).items()}
    try:
        take = int(q.get("take", "100"))
        skip = int(q.get("skip", "0"))
        bounds = {k: parse_iso(q[k]) for k in ("afterCreatedAt", "beforeCreatedAt",
                                               "afterUpdatedAt", "beforeUpdatedAt")
                  if k in q}
    except ValueError as e:
        return error(handler, 400, "BadRequestException", str(e))
    if not 1 <= take <= 250 or skip < 0:
        return error(handler, 400, "BadRequestException",
                     "take must not be greater than 250")
    rows = []
    for b in BOOKINGS:
        created = parse_iso(b["createdAt"])
        updated = parse_iso(b["updatedAt"]) if b["updatedAt"] else None
        if "afterCreatedAt" in bounds and created < bounds["afterCreatedAt"]:
            continue
        if "beforeCreatedAt" in bounds and created > bounds["beforeCreatedAt"]:
            continue
        if "afterUpdatedAt" in bounds and (updated is None or updated < bounds["afterUpdatedAt"]):
            continue
        if "beforeUpdatedAt" in bounds and (updated is None or updated > bounds["beforeUpdatedAt"]):
            continue
        rows.append(b)
    rows.sort(key=lambda b: b["createdAt"], reverse=q.get("sortCreated") == "desc")
    page = rows[skip:skip + take]
    total = len(rows)
    handler.answer(200, json.dumps({
        "status": "success",
        "data": page,
        "pagination": {
            "totalItems": total,
            "remainingItems": max(total - (skip + len(page)), 0),
            "returnedItems": len(page),
            "itemsPerPage": take,
            "currentPage": skip // take + 1,
            "totalPages": (total + take - 1) // take,
            "hasNextPage": skip + len(page) < total,
            "hasPreviousPage": skip > 0,
        }}))


def control(handler, route, spec):
    t = now()
    if route == "book":
        start = parse_iso(spec["start"])
        made = []
        for i in range(int(spec.get("count", 1))):
            made.append(make_booking(spec, start + datetime.timedelta(hours=i), t))
        return handler.answer(200, json.dumps(made if len(made) > 1 else made[0]))
    if route in ("reschedule", "cancel", "reject"):
        old = find(spec["uid"])
        if old is None:
            return error(handler, 404, "NotFoundException", "no such booking")
        old["updatedAt"] = iso(t)
        if route == "reschedule":
            minutes = old["duration"]
            new = make_booking({"minutes": minutes,
                                "organizer": old["hosts"][0]["email"],
                                "attendee": old["attendees"][0]["email"],
                                "slug": old["eventType"]["slug"],
                                "location": old["location"]},
                               parse_iso(spec["start"]), t)
            new["rescheduledFromUid"] = old["uid"]
            new["reschedulingReason"] = spec.get("reason", "")
            old["status"] = "cancelled"
            old["rescheduledToUid"] = new["uid"]
            return handler.answer(200, json.dumps(new))
        old["status"] = "cancelled" if route == "cancel" else "rejected"
        old["cancellationReason"] = spec.get("reason", "")
        return handler.answer(200, json.dumps(old))
    if route == "queue":
        QUEUED.extend(spec["answers"])
        return handler.answer(200, "{}")
    if route == "served":
        return handler.answer(200, json.dumps(SERVED))
    return error(handler, 404, "NotFoundException", "no such route")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("calcom-api: " + (fmt % args) + "\n")

    def answer(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        with LOCK:
            if url.path == "/_standin/served":
                return control(self, "served", {})
            if url.path != "/v2/bookings":
                return error(self, 404, "NotFoundException", "Cannot GET " + url.path)
            SERVED["count"] += 1
            a = QUEUED.pop(0) if QUEUED else {"status": "real"}
            if a["status"] != "real":
                headers = [("Retry-After", str(a["retryAfter"]))] if "retryAfter" in a else []
                if "body" in a:
                    return self.answer(a["status"], a["body"], headers)
                return self.answer(a["status"], json.dumps({
                    "status": "error", "timestamp": iso(now()), "path": self.path,
                    "error": {"code": a.get("code", "InternalServerErrorException"),
                              "message": a.get("message", "Internal server error")}}),
                    headers)
            if self.headers.get("Authorization") != "Bearer " + API_KEY:
                return error(self, 401, "UnauthorizedException", "Invalid API key")
            if self.headers.get("cal-api-version") != "2024-08-13":
                return error(self, 400, "BadRequestException",
                             "this stand-in serves cal-api-version 2024-08-13 only")
            return list_bookings(self, url.query)

    def do_POST(self):
        url = urlsplit(self.path)
        n = int(self.headers.get("Content-Length", "0"))
        spec = json.loads(self.rfile.read(n) or b"{}")
        with LOCK:
            if not url.path.startswith("/_standin/"):
                return error(self, 404, "NotFoundException", "Cannot POST " + url.path)
            return control(self, url.path[len("/_standin/"):], spec)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    server.serve_forever()


if __name__ == "__main__":
    main()
