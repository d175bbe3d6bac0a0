-- 0007: calls in progress. A row is written (behind, in batches) when a
-- call starts and deleted in the same transaction that writes its CDR, so
-- after a crash the rows left are the calls that were cut off: start-up
-- turns each into a CDR saying so.
CREATE TABLE live_calls (
    call_id     TEXT    PRIMARY KEY,
    direction   TEXT    NOT NULL DEFAULT '',
    from_number TEXT    NOT NULL DEFAULT '',
    from_name   TEXT    NOT NULL DEFAULT '',
    to_number   TEXT    NOT NULL DEFAULT '',
    target      TEXT    NOT NULL DEFAULT '',
    trunk       TEXT    NOT NULL DEFAULT '',
    started_at  INTEGER NOT NULL
) STRICT;
