-- Service level objectives (ratio SLIs from two telemetry metrics) and the
-- alert state last published for each, so that a restart does not publish
-- the same state again.
CREATE TABLE IF NOT EXISTS slos (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    display_name TEXT    NOT NULL DEFAULT '',
    description  TEXT    NOT NULL DEFAULT '',
    service      TEXT    NOT NULL,
    good_metric  TEXT    NOT NULL,
    good_attrs   TEXT    NOT NULL DEFAULT '{}',
    total_metric TEXT    NOT NULL,
    total_attrs  TEXT    NOT NULL DEFAULT '{}',
    target       DOUBLE PRECISION NOT NULL,
    window_days  INTEGER NOT NULL,
    alert_key    TEXT    NOT NULL DEFAULT '',
    posture      TEXT    NOT NULL DEFAULT '',
    alert_at     BIGINT  NOT NULL DEFAULT 0,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS slos_name ON slos (name);
--bun:split
CREATE INDEX IF NOT EXISTS slos_service ON slos (service);
