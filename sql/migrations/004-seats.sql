-- 004-seats.sql: schema version 4, the seats of group classes: whom each
-- event concerns.  Run once, by tables.sql.

-- A seated event type (a group class) keeps one uid for all its seats:
-- each BOOKING_CREATED adds one person, with its attendeeSeatId, and a
-- BOOKING_CANCELLED naming one person is that person leaving.  seat is
-- whom an event concerns: the attendeeSeatId when sent, else the first
-- attendee's email in lower case (calsync.apply_delivery).
ALTER TABLE calsync.events ADD COLUMN attendee_seat_id text,
	ADD COLUMN seat text;
-- The events recorded before kept no attendeeSeatId: their seat is their
-- first attendee, as apply_delivery would have it.
UPDATE calsync.events SET seat = lower(attendee_emails[1]);
