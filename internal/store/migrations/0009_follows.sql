-- 0009: operator follow lists (SPEC X2). An operator sees and acts on the
-- calls of the users and queues they follow; an operator who follows
-- nobody sees every call, as before. Followed users and queues that are
-- deleted leave the lists with them.
CREATE TABLE follows_users (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followed_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, followed_id)
) STRICT;

CREATE TABLE follows_queues (
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    queue_id INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, queue_id)
) STRICT;

CREATE INDEX follows_queues_queue_id ON follows_queues (queue_id);
CREATE INDEX follows_users_followed_id ON follows_users (followed_id);
