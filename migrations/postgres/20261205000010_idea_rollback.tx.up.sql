-- An idea none of whose changes is in production any more is rolled back
-- (DESIGN.md 4): when, and the deployment that took the last of them out
-- (JSON: service, source, id, artifact, rollback). The rows are emptied so
-- that the start-up backfill derives every idea's flow again, rollbacks
-- included.
ALTER TABLE idea_flow ADD COLUMN rolled_back_at BIGINT;
--bun:split
ALTER TABLE idea_flow ADD COLUMN rolled_back_by TEXT NOT NULL DEFAULT '';
--bun:split
DELETE FROM idea_flow;
