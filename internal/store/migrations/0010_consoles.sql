-- 0010: what the web console keeps per user (SPEC C1, C6, X2).
--
-- can_use_console: the operator console (grid of widgets) per user; an
-- admin switches it off for a user who should only have the agent desktop.
-- On by default, like the other profile permissions: what a console shows
-- is narrowed by the role anyway.
ALTER TABLE users ADD COLUMN can_use_console INTEGER NOT NULL DEFAULT 1 CHECK (can_use_console IN (0, 1));

-- A user's consoles: a name and the widget grid as JSON (validated by the
-- API, bounded in size). version counts saves, for optimistic concurrency:
-- a save names the version it edited and is refused when another went first.
CREATE TABLE consoles (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    layout     TEXT    NOT NULL DEFAULT '[]',
    version    INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX consoles_user_id ON consoles (user_id);

-- Favourites: an ordered list per user of users, queues or numbers.
CREATE TABLE favourites (
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('user', 'queue', 'number')),
    target   TEXT    NOT NULL,
    label    TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, position)
) STRICT;

-- Recents: the targets a user last transferred, consulted or called to
-- through the API, one row per distinct target, trimmed to the newest few.
CREATE TABLE recents (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind    TEXT    NOT NULL CHECK (kind IN ('user', 'queue', 'number')),
    target  TEXT    NOT NULL,
    action  TEXT    NOT NULL DEFAULT '',
    used_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind, target)
) STRICT;
