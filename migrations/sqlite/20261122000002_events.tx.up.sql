-- Raw events: every CloudEvent stored once, by identity (source + id).
CREATE TABLE IF NOT EXISTS events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    subject_id  TEXT    NOT NULL DEFAULT '',
    at          BIGINT  NOT NULL,
    received_at BIGINT  NOT NULL,
    stream_seq  BIGINT  NOT NULL DEFAULT 0,
    applied_gen BIGINT  NOT NULL DEFAULT 0,
    data        BLOB    NOT NULL,
    UNIQUE (source, event_id)
);
--bun:split
-- Counters are sharded per writer so that concurrent instances never contend
-- on one row; the status sums the shards.
CREATE TABLE IF NOT EXISTS ingest_counters (
    name  TEXT   NOT NULL,
    shard TEXT   NOT NULL,
    value BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (name, shard)
);
--bun:split
CREATE TABLE IF NOT EXISTS dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_seq  BIGINT  NOT NULL DEFAULT 0,
    subject     TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    data        BLOB    NOT NULL,
    headers     TEXT    NOT NULL DEFAULT '{}',
    replayed_at BIGINT  NOT NULL DEFAULT 0
);
--bun:split
-- One dead letter per message on the events stream, however often it fails.
CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_stream_seq ON dead_letters (stream_seq) WHERE stream_seq > 0;
--bun:split
-- Projection generation: rebuild bumps it; events carry the generation whose
-- projections include them, so no event is applied twice in a generation.
CREATE TABLE IF NOT EXISTS projection_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
--bun:split
INSERT INTO projection_state (id, generation) VALUES (1, 1) ON CONFLICT (id) DO NOTHING;
--bun:split
CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
--bun:split
-- Projections (facts). All are order-independent functions of the events.
CREATE TABLE IF NOT EXISTS changes (
    change_id    TEXT   PRIMARY KEY,
    first_at     BIGINT NOT NULL,
    created_at   BIGINT,
    merged_at    BIGINT,
    abandoned_at BIGINT,
    repository   TEXT   NOT NULL DEFAULT '',
    source       TEXT   NOT NULL DEFAULT ''
);
--bun:split
CREATE TABLE IF NOT EXISTS artifact_changes (
    artifact_id TEXT   NOT NULL,
    change_id   TEXT   NOT NULL,
    packaged_at BIGINT NOT NULL,
    PRIMARY KEY (artifact_id, change_id)
);
--bun:split
CREATE INDEX IF NOT EXISTS artifact_changes_change ON artifact_changes (change_id);
--bun:split
CREATE TABLE IF NOT EXISTS artifacts (
    artifact_id  TEXT PRIMARY KEY,
    packaged_at  BIGINT,
    published_at BIGINT
);
--bun:split
CREATE TABLE IF NOT EXISTS deployments (
    event_pk    BIGINT  PRIMARY KEY,
    event_id    TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    environment TEXT    NOT NULL,
    artifact_id TEXT    NOT NULL DEFAULT '',
    at          BIGINT  NOT NULL,
    kind        TEXT    NOT NULL,
    production  BOOLEAN NOT NULL,
    rollback    BOOLEAN NOT NULL,
    hotfix      BOOLEAN NOT NULL,
    team        TEXT    NOT NULL DEFAULT ''
);
--bun:split
CREATE INDEX IF NOT EXISTS deployments_service_at ON deployments (service, at);
--bun:split
CREATE INDEX IF NOT EXISTS deployments_artifact ON deployments (artifact_id);
--bun:split
CREATE TABLE IF NOT EXISTS incident_events (
    event_pk    BIGINT PRIMARY KEY,
    incident_id TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    service     TEXT   NOT NULL DEFAULT '',
    artifact_id TEXT   NOT NULL DEFAULT '',
    environment TEXT   NOT NULL DEFAULT ''
);
--bun:split
CREATE INDEX IF NOT EXISTS incident_events_incident ON incident_events (incident_id);
--bun:split
CREATE TABLE IF NOT EXISTS incidents (
    incident_id TEXT    PRIMARY KEY,
    service     TEXT    NOT NULL DEFAULT '',
    artifact_id TEXT    NOT NULL DEFAULT '',
    environment TEXT    NOT NULL DEFAULT '',
    production  BOOLEAN NOT NULL,
    started_at  BIGINT,
    resolved_at BIGINT
);
--bun:split
CREATE INDEX IF NOT EXISTS incidents_service ON incidents (service, started_at);
--bun:split
CREATE TABLE IF NOT EXISTS runs (
    event_pk    BIGINT PRIMARY KEY,
    kind        TEXT   NOT NULL,
    subject_id  TEXT   NOT NULL,
    artifact_id TEXT   NOT NULL DEFAULT '',
    environment TEXT   NOT NULL DEFAULT '',
    pipeline    TEXT   NOT NULL DEFAULT '',
    outcome     TEXT   NOT NULL DEFAULT '',
    at          BIGINT NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS runs_artifact ON runs (artifact_id);
--bun:split
CREATE TABLE IF NOT EXISTS event_ideas (
    idea_key TEXT   NOT NULL,
    event_pk BIGINT NOT NULL,
    kind     TEXT   NOT NULL,
    ref      TEXT   NOT NULL DEFAULT '',
    at       BIGINT NOT NULL,
    PRIMARY KEY (idea_key, event_pk)
);
--bun:split
-- A service's team comes from the latest event that names one (customData.team),
-- unless someone set it on the service's page.
CREATE TABLE IF NOT EXISTS services (
    service      TEXT    PRIMARY KEY,
    team         TEXT    NOT NULL DEFAULT '',
    team_at      BIGINT  NOT NULL DEFAULT 0,
    team_by_user BOOLEAN NOT NULL DEFAULT FALSE
);
--bun:split
CREATE TABLE IF NOT EXISTS metric_series (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    metric TEXT NOT NULL,
    attrs  TEXT NOT NULL,
    UNIQUE (metric, attrs)
);
--bun:split
CREATE TABLE IF NOT EXISTS metric_rollups (
    series_id BIGINT NOT NULL,
    res       TEXT   NOT NULL,
    bucket    BIGINT NOT NULL,
    n         BIGINT NOT NULL,
    sum       REAL   NOT NULL,
    min       REAL   NOT NULL,
    max       REAL   NOT NULL,
    PRIMARY KEY (series_id, res, bucket)
);
