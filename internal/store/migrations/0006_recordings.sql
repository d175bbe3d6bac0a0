-- 0006: call recordings (SPEC D5). The WAV files live in the data dir;
-- this table says which call each belongs to, so the CDR links them and
-- the API can check who may fetch one.
CREATE TABLE recordings (
    id          TEXT    PRIMARY KEY,
    call_id     TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    bytes       INTEGER NOT NULL DEFAULT 0,
    started_by  TEXT    NOT NULL DEFAULT '',
    parties     TEXT    NOT NULL DEFAULT '' -- comma-separated extensions on the call while recorded
) STRICT;

CREATE INDEX recordings_call_id ON recordings (call_id);
