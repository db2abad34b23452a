-- The relay's durable event log: one row per published event, in sequence order.
--
-- `sequence` is the rowid (ordered, the primary key). AUTOINCREMENT makes SQLite remember the
-- highest sequence ever stored (in sqlite_sequence) even after retention deletes every row, so a
-- restarted registry never hands out a sequence twice. The registry assigns sequences itself and
-- inserts them explicitly; SQLite still advances sqlite_sequence to match.
-- Headers and trace context are JSON objects; the payload is stored as given.

CREATE TABLE events (
    sequence        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    source_service  TEXT    NOT NULL,
    target_service  TEXT    NOT NULL,
    tenant_id       TEXT    NOT NULL,
    priority        INTEGER NOT NULL,
    create_time     REAL    NOT NULL,
    trace_id        TEXT    NOT NULL,
    trace_context   TEXT    NOT NULL,  -- JSON {str: str}: traceparent, tracestate, baggage
    idempotency_key TEXT    NOT NULL,
    content_type    TEXT    NOT NULL,
    headers         TEXT    NOT NULL,  -- JSON {str: str}
    payload         BLOB    NOT NULL
) STRICT;

-- Age retention and "start at a time" find their first row through this index.
CREATE INDEX events_by_create_time ON events (create_time);
