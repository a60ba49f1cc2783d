-- 005-series.sql: schema version 5, weekly series: the key of the series
-- each event belongs to.  Run once, by tables.sql.

-- A recurring event type (a weekly series) makes one booking, with its
-- own uid, per occurrence; Cal.com ties them by recurringEventId, which
-- its webhook does not send.  What the bodies of one series share is the
-- organizer, the booker, the event type, the rule (recurringEvent's freq
-- and interval; its count is the event type's on a cancel, the booked
-- one elsewhere) and start times on the rule's grid: series is that key
-- (calsync.series_key), on the events that carry recurringEvent.  It
-- cannot tell two series of one student with one trainer and one event
-- type on the same weekday from one series: those are one to calsync.
-- The events recorded before are of no series (NULL): their recurringEvent
-- was not kept.
ALTER TABLE calsync.events ADD COLUMN series text,
	ADD COLUMN recurring integer[];
CREATE INDEX events_series_index ON calsync.events (series)
	WHERE series IS NOT NULL;
