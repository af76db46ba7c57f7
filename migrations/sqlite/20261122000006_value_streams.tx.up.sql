-- Value streams, and what the flow metrics need of every idea: when each
-- trigger of a stage rule happened to it (domain.Signals), kept current by
-- ingestion and by every idea edit. seq orders the changes so that readers
-- can keep an in-memory copy and load only what changed.
CREATE TABLE IF NOT EXISTS value_streams (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    teams       TEXT    NOT NULL DEFAULT '[]',
    services    TEXT    NOT NULL DEFAULT '[]',
    stages      TEXT    NOT NULL,
    revision    INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS value_streams_name ON value_streams (lower(name));
--bun:split
CREATE TABLE IF NOT EXISTS idea_flow (
    idea_key   TEXT    PRIMARY KEY REFERENCES ideas (key) ON DELETE CASCADE,
    seq        BIGINT  NOT NULL,
    title      TEXT    NOT NULL,
    flow_type  TEXT    NOT NULL,
    horizon    TEXT    NOT NULL,
    team       TEXT    NOT NULL DEFAULT '',
    services   TEXT    NOT NULL DEFAULT '',
    archived   BOOLEAN NOT NULL DEFAULT FALSE,
    has_kr     BOOLEAN NOT NULL DEFAULT FALSE,
    verdict_at BIGINT,
    sig_idea_created BIGINT,
    sig_idea_planned BIGINT,
    sig_change BIGINT,
    sig_change_created BIGINT,
    sig_change_reviewed BIGINT,
    sig_change_merged BIGINT,
    sig_build BIGINT,
    sig_test BIGINT,
    sig_artifact_packaged BIGINT,
    sig_artifact_published BIGINT,
    sig_deploy_nonproduction BIGINT,
    sig_deploy_production BIGINT,
    sig_operate BIGINT,
    sig_keyresult BIGINT,
    updated_at BIGINT  NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS idea_flow_seq ON idea_flow (seq);
--bun:split
CREATE TABLE IF NOT EXISTS flow_state (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT  NOT NULL
);
--bun:split
INSERT INTO flow_state (id, seq) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
--bun:split
-- When a change was first reviewed (a stage rule can start at it).
ALTER TABLE changes ADD COLUMN reviewed_at BIGINT;
