-- 0005: the ACD (SPEC Q1–Q4, A1–A2, S1–S2). Queue configuration for the
-- strategies, RONA and wrap-up; per-queue membership state; admin-defined
-- reason codes; each agent's chosen status and its history (time per
-- reason can be reported from it); wrap-up codes per queue, stored with the
-- CDR; which supervisors supervise which queues.
--
-- The state the system drives (offered, busy, wrap-up, RONA) is not stored:
-- after a restart every agent is idle with the status they chose.

-- Durations are whole seconds. ring_time_s: how long an offer rings one
-- agent; wrapup_time_s: after-call work (0: none); max_waiting: callers
-- waiting or being offered at most (0: no limit); max_wait_s: then the call
-- goes to overflow_destination (0: no limit; '' lets the call layer end
-- it); join_empty: whether a caller may join while no member is logged
-- in; service_level_s: the "answered within" of the service level.
ALTER TABLE queues ADD COLUMN ring_time_s INTEGER NOT NULL DEFAULT 20 CHECK (ring_time_s BETWEEN 1 AND 600);
ALTER TABLE queues ADD COLUMN wrapup_time_s INTEGER NOT NULL DEFAULT 0 CHECK (wrapup_time_s BETWEEN 0 AND 3600);
ALTER TABLE queues ADD COLUMN max_waiting INTEGER NOT NULL DEFAULT 0 CHECK (max_waiting >= 0);
ALTER TABLE queues ADD COLUMN max_wait_s INTEGER NOT NULL DEFAULT 0 CHECK (max_wait_s BETWEEN 0 AND 86400);
ALTER TABLE queues ADD COLUMN overflow_destination TEXT NOT NULL DEFAULT '';
ALTER TABLE queues ADD COLUMN join_empty INTEGER NOT NULL DEFAULT 1 CHECK (join_empty IN (0, 1));
ALTER TABLE queues ADD COLUMN service_level_s INTEGER NOT NULL DEFAULT 20 CHECK (service_level_s BETWEEN 1 AND 3600);

-- Membership state per queue and extension, changed by the agent or a
-- supervisor. Existing members stay logged in, as they rang before.
ALTER TABLE queue_members ADD COLUMN state TEXT NOT NULL DEFAULT 'logged_in'
    CHECK (state IN ('logged_in', 'paused', 'logged_out'));
ALTER TABLE queue_members ADD COLUMN state_changed_at INTEGER; -- NULL: never changed

CREATE TABLE reason_codes (
    id    INTEGER PRIMARY KEY,
    code  TEXT    NOT NULL UNIQUE, -- what history rows and agents' statuses refer to
    label TEXT    NOT NULL DEFAULT '',
    kind  TEXT    NOT NULL CHECK (kind IN ('break', 'offline'))
) STRICT;

-- The status each agent chose. No row: the agent never chose one.
CREATE TABLE agent_status (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    status      TEXT    NOT NULL CHECK (status IN ('available', 'break', 'offline', 'logged_out')),
    reason_code TEXT    NOT NULL DEFAULT '',
    changed_at  INTEGER NOT NULL,
    changed_by  INTEGER -- the user who made the change; NULL: the system
) STRICT;

-- Every change of what an agent is available for: their chosen status, and
-- RONA, which the system sets and only the agent's next choice ends. No
-- foreign key: the history outlives a deleted user, for reports.
CREATE TABLE agent_status_history (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    from_state  TEXT    NOT NULL,
    to_state    TEXT    NOT NULL,
    reason_code TEXT    NOT NULL DEFAULT '',
    changed_by  INTEGER -- NULL: the system
) STRICT;

CREATE INDEX agent_status_history_user_at ON agent_status_history (user_id, at);

CREATE TABLE queue_wrapup_codes (
    id       INTEGER PRIMARY KEY,
    queue_id INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    code     TEXT    NOT NULL,
    label    TEXT    NOT NULL DEFAULT '',
    UNIQUE (queue_id, code)
) STRICT;

CREATE TABLE queue_supervisors (
    queue_id INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (queue_id, user_id)
) STRICT;

CREATE INDEX queue_supervisors_user_id ON queue_supervisors (user_id);

-- The wrap-up code the agent chose for a queue call. The call layer writes
-- CDRs behind a queue, so the code may be chosen before the CDR exists: it
-- then waits in cdr_wrapup_pending and the trigger applies it on insert.
ALTER TABLE cdrs ADD COLUMN wrapup_code TEXT NOT NULL DEFAULT '';

CREATE TABLE cdr_wrapup_pending (
    call_id TEXT    PRIMARY KEY,
    code    TEXT    NOT NULL,
    set_at  INTEGER NOT NULL
) STRICT;

CREATE TRIGGER cdrs_wrapup_pending AFTER INSERT ON cdrs
WHEN EXISTS (SELECT 1 FROM cdr_wrapup_pending WHERE call_id = NEW.call_id)
BEGIN
    UPDATE cdrs SET wrapup_code = (SELECT code FROM cdr_wrapup_pending WHERE call_id = NEW.call_id)
        WHERE id = NEW.id;
    DELETE FROM cdr_wrapup_pending WHERE call_id = NEW.call_id;
END;
