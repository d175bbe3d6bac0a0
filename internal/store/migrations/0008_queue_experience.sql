-- 0008: what a queued caller hears and may choose (SPEC Q5, O3, M3).
--
-- announce_interval_s: a waiting caller hears their position and expected
-- wait every so many seconds (0: never; the greeting on entry still
-- plays); announce_position / announce_ewt: what that announcement says;
-- offer_voicemail / offer_callback: whether it offers "press 1 to leave a
-- message" / "press 2 to be called back".
ALTER TABLE queues ADD COLUMN announce_interval_s INTEGER NOT NULL DEFAULT 30 CHECK (announce_interval_s BETWEEN 0 AND 3600);
ALTER TABLE queues ADD COLUMN announce_position INTEGER NOT NULL DEFAULT 1 CHECK (announce_position IN (0, 1));
ALTER TABLE queues ADD COLUMN announce_ewt INTEGER NOT NULL DEFAULT 1 CHECK (announce_ewt IN (0, 1));
ALTER TABLE queues ADD COLUMN offer_voicemail INTEGER NOT NULL DEFAULT 0 CHECK (offer_voicemail IN (0, 1));
ALTER TABLE queues ADD COLUMN offer_callback INTEGER NOT NULL DEFAULT 0 CHECK (offer_callback IN (0, 1));

-- Messages left by queued callers: an interaction the queue's agents
-- handle. The WAV files live in the data dir's recordings folder. The
-- queue is kept as a number, not a reference: a message outlives its queue.
CREATE TABLE voicemails (
    id            TEXT    PRIMARY KEY,
    queue         TEXT    NOT NULL,
    call_id       TEXT    NOT NULL,
    caller_number TEXT    NOT NULL DEFAULT '',
    caller_name   TEXT    NOT NULL DEFAULT '',
    path          TEXT    NOT NULL,
    duration_ms   INTEGER NOT NULL DEFAULT 0,
    bytes         INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'handled')),
    handled_by    TEXT    NOT NULL DEFAULT '', -- username who last changed the status
    handled_at    INTEGER
) STRICT;

CREATE INDEX voicemails_queue_created ON voicemails (queue, created_at);

-- Courtesy callbacks: a queued caller who asked to be called back keeps
-- their place (requested_at is when they entered the queue). Waiting ones
-- are put back in their queue after a restart.
CREATE TABLE callbacks (
    id           TEXT    PRIMARY KEY, -- the call ID of the call that asked
    queue        TEXT    NOT NULL,
    number       TEXT    NOT NULL,    -- the caller's number, dialled back
    name         TEXT    NOT NULL DEFAULT '',
    did          TEXT    NOT NULL DEFAULT '', -- the number they called, shown when dialling them
    requested_at INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0, -- times the customer was dialled and not reached
    status       TEXT    NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'connected', 'failed')),
    reason       TEXT    NOT NULL DEFAULT '',
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX callbacks_status ON callbacks (status, requested_at);
