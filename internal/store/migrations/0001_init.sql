-- 0001: the first schema. Times are INTEGER Unix milliseconds (UTC), NULL
-- when unset. Tables are STRICT so a wrong type is an error, not a surprise.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent', 'operator')),
    password_hash TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE extensions (
    id           INTEGER PRIMARY KEY,
    number       TEXT    NOT NULL UNIQUE,
    -- An extension outlives the user who owned it (a desk phone).
    user_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    display_name TEXT    NOT NULL DEFAULT '',
    ha1          TEXT    NOT NULL,
    ha1_sha256   TEXT    NOT NULL,
    realm        TEXT    NOT NULL
) STRICT;

CREATE INDEX extensions_user_id ON extensions (user_id);

-- Registered contacts. No foreign key to extensions: the registrar owns the
-- live location service and persists it in batches, and one extension
-- deleted meanwhile must not make the whole batch fail.
CREATE TABLE bindings (
    extension   TEXT    NOT NULL,
    contact_uri TEXT    NOT NULL,
    source      TEXT    NOT NULL DEFAULT '',
    transport   TEXT    NOT NULL DEFAULT '',
    user_agent  TEXT    NOT NULL DEFAULT '',
    call_id     TEXT    NOT NULL DEFAULT '',
    cseq        INTEGER NOT NULL DEFAULT 0,
    expires_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (extension, contact_uri)
) STRICT;

CREATE INDEX bindings_expires_at ON bindings (expires_at);

CREATE TABLE trunks (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    host          TEXT    NOT NULL,
    transport     TEXT    NOT NULL,
    username      TEXT    NOT NULL DEFAULT '',
    password      TEXT    NOT NULL DEFAULT '',
    inbound_cidrs TEXT    NOT NULL DEFAULT '[]', -- JSON array of CIDR strings
    outbound      INTEGER NOT NULL DEFAULT 0 CHECK (outbound IN (0, 1))
) STRICT;

CREATE TABLE dids (
    id          INTEGER PRIMARY KEY,
    number      TEXT    NOT NULL UNIQUE, -- E.164
    trunk_id    INTEGER NOT NULL REFERENCES trunks (id) ON DELETE CASCADE,
    target_kind TEXT    NOT NULL CHECK (target_kind IN ('extension', 'queue')),
    target      TEXT    NOT NULL
) STRICT;

CREATE INDEX dids_trunk_id ON dids (trunk_id);

CREATE TABLE queues (
    id       INTEGER PRIMARY KEY,
    number   TEXT    NOT NULL UNIQUE,
    name     TEXT    NOT NULL,
    strategy TEXT    NOT NULL DEFAULT 'ringall'
) STRICT;

CREATE TABLE queue_members (
    queue_id  INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    extension TEXT    NOT NULL REFERENCES extensions (number) ON DELETE CASCADE ON UPDATE CASCADE,
    penalty   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (queue_id, extension)
) STRICT;

CREATE INDEX queue_members_extension ON queue_members (extension);

-- Extensions and queues share one number space: a dialled number must
-- resolve to exactly one of them.
CREATE TRIGGER extensions_number_free BEFORE INSERT ON extensions
WHEN EXISTS (SELECT 1 FROM queues WHERE number = NEW.number)
BEGIN
    SELECT RAISE(ABORT, 'number is taken by a queue');
END;

CREATE TRIGGER queues_number_free BEFORE INSERT ON queues
WHEN EXISTS (SELECT 1 FROM extensions WHERE number = NEW.number)
BEGIN
    SELECT RAISE(ABORT, 'number is taken by an extension');
END;

CREATE TABLE cdrs (
    id          INTEGER PRIMARY KEY,
    call_id     TEXT    NOT NULL,
    direction   TEXT    NOT NULL DEFAULT '',
    from_number TEXT    NOT NULL DEFAULT '',
    from_name   TEXT    NOT NULL DEFAULT '',
    to_number   TEXT    NOT NULL DEFAULT '',
    target      TEXT    NOT NULL DEFAULT '',
    trunk       TEXT    NOT NULL DEFAULT '',
    answered_by TEXT    NOT NULL DEFAULT '',
    started_at  INTEGER NOT NULL,
    answered_at INTEGER,
    ended_at    INTEGER,
    disposition TEXT    NOT NULL DEFAULT '',
    sip_code    INTEGER NOT NULL DEFAULT 0,
    hangup_by   TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX cdrs_started_at ON cdrs (started_at);
CREATE INDEX cdrs_call_id ON cdrs (call_id);
