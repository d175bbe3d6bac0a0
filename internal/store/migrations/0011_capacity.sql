-- 0011: capacity planning and historical reports (issue 7, R2).
--
-- service_level_target_pct: the share of callers the queue aims to answer
-- within service_level_s (80 in the common "80/20"); what the Erlang C
-- estimate sizes the agents for. max_occupancy_pct: the estimate also keeps
-- agents busy at most this share of their time (0: no limit).
ALTER TABLE queues ADD COLUMN service_level_target_pct INTEGER NOT NULL DEFAULT 80
    CHECK (service_level_target_pct BETWEEN 1 AND 99);
ALTER TABLE queues ADD COLUMN max_occupancy_pct INTEGER NOT NULL DEFAULT 0
    CHECK (max_occupancy_pct BETWEEN 0 AND 100);

-- Reports read a queue's calls over a time range.
CREATE INDEX cdrs_target_started_at ON cdrs (target, started_at);
-- Reports read every agent's status history over a time range.
CREATE INDEX agent_status_history_at ON agent_status_history (at);
