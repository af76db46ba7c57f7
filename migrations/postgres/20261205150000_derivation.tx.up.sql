-- Derivation follows the stored log asynchronously (DESIGN.md section 1):
-- an event is stored with applied_gen = 0 and derived when a derivation
-- transaction sets applied_gen to the projection generation together with
-- the facts and rollups it derives. The partial index holds only the events
-- not derived yet, in storage order, so finding the next ones and counting
-- them costs nothing once derivation has caught up.
CREATE INDEX IF NOT EXISTS events_underived ON events (id) WHERE applied_gen = 0;
--bun:split
-- Events a rebuild re-derived whose DORA verdicts and flow signals it has not
-- recomputed yet: not counted as derived until the rebuild finishes.
ALTER TABLE projection_state ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;
