-- 0003: call-associated data (CAD). A queue (the flow a call enters) defines
-- up to 30 typed variables; their values live on the call, in memory.

CREATE TABLE queue_variables (
    id       INTEGER PRIMARY KEY,
    queue_id INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    name     TEXT    NOT NULL,
    label    TEXT    NOT NULL DEFAULT '',
    type     TEXT    NOT NULL CHECK (type IN ('string', 'integer', 'boolean', 'datetime')),
    position INTEGER NOT NULL DEFAULT 0,  -- display order; ties by id
    editable INTEGER NOT NULL DEFAULT 0 CHECK (editable IN (0, 1)),
    secure   INTEGER NOT NULL DEFAULT 0 CHECK (secure IN (0, 1)),  -- PII: masked
    UNIQUE (queue_id, name)
) STRICT;
