-- Coverage: the earliest context.timestamp of any stored delivery event
-- (every CDEvent; telemetry does not count). Rates per day divide by the days
-- since then (DESIGN.md 4, Coverage). Kept as one row that only ever moves
-- earlier, so reading it costs nothing however large the log grows.
CREATE TABLE IF NOT EXISTS coverage (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    from_at BIGINT  NOT NULL
);
--bun:split
INSERT INTO coverage (id, from_at)
SELECT 1, MIN(at) FROM events WHERE kind <> 'telemetry.samples' HAVING MIN(at) IS NOT NULL
ON CONFLICT (id) DO NOTHING;
