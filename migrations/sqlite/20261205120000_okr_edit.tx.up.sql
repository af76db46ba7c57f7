-- Objectives and key results edited for real: archived objectives and key
-- results leave the pages but keep their history; a retired key result is
-- no longer pursued; a key result's unit says how to show its values; each
-- re-baseline keeps the baseline it replaced.
ALTER TABLE objectives ADD COLUMN archived_at BIGINT;
--bun:split
ALTER TABLE key_results ADD COLUMN unit TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE key_results ADD COLUMN retired_at BIGINT;
--bun:split
ALTER TABLE key_results ADD COLUMN archived_at BIGINT;
--bun:split
CREATE TABLE IF NOT EXISTS key_result_baselines (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key_result_id BIGINT  NOT NULL REFERENCES key_results (id) ON DELETE CASCADE,
    baseline      REAL NOT NULL,
    replaced_at   BIGINT  NOT NULL,
    replaced_by   TEXT    NOT NULL DEFAULT '',
    note          TEXT    NOT NULL DEFAULT ''
);
--bun:split
CREATE INDEX IF NOT EXISTS key_result_baselines_kr ON key_result_baselines (key_result_id, replaced_at);
