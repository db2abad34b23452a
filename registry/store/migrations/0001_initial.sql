-- Initial schema: one row per instance, registry bookkeeping in `meta`.
--
-- Nested parts of a registration (endpoints, tags, metadata, dependencies) are JSON text: the
-- registry always loads and writes an instance whole, so normalising them into child tables
-- would only add joins. Enum values are stored as their proto numbers, which never change.
-- STRICT makes SQLite reject a value of the wrong type instead of silently storing it.

CREATE TABLE instances (
    service_name           TEXT    NOT NULL,
    instance_id            TEXT    NOT NULL,
    endpoints              TEXT    NOT NULL,  -- JSON [{"name","host","port","protocol"}]
    version                TEXT    NOT NULL,
    tags                   TEXT    NOT NULL,  -- JSON [str]
    metadata               TEXT    NOT NULL,  -- JSON {str: str}, insertion order kept
    zone                   TEXT    NOT NULL,
    weight                 INTEGER NOT NULL,
    dependencies           TEXT    NOT NULL,  -- JSON [{"service_name","kind"}]
    heartbeat_interval     REAL    NOT NULL,
    heartbeat_timeout      REAL    NOT NULL,
    heartbeat_max_failures INTEGER NOT NULL,
    status                 INTEGER NOT NULL,
    create_time            REAL    NOT NULL,
    update_time            REAL    NOT NULL,
    status_time            REAL    NOT NULL,
    create_revision        INTEGER NOT NULL,
    mod_revision           INTEGER NOT NULL,
    -- The primary key is the index by service name: service_name is its leading column, and a
    -- WITHOUT ROWID table is stored in key order, so one service's rows are read contiguously.
    PRIMARY KEY (service_name, instance_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE meta (
    key   TEXT    NOT NULL PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO meta (key, value) VALUES ('revision_ceiling', 0);
