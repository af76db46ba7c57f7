-- The outcome roadmap: objectives, key results, ideas.
CREATE TABLE IF NOT EXISTS objectives (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL
);
--bun:split
CREATE TABLE IF NOT EXISTS key_results (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    objective_id BIGINT  NOT NULL REFERENCES objectives (id) ON DELETE CASCADE,
    title        TEXT    NOT NULL,
    metric       TEXT    NOT NULL,
    attrs        TEXT    NOT NULL DEFAULT '{}',
    baseline     REAL    NOT NULL,
    target       REAL    NOT NULL,
    direction    TEXT    NOT NULL CHECK (direction IN ('increase', 'decrease')),
    due          BIGINT,
    created_at   BIGINT  NOT NULL
);
--bun:split
CREATE TABLE IF NOT EXISTS ideas (
    key          TEXT    PRIMARY KEY,
    title        TEXT    NOT NULL,
    problem      TEXT    NOT NULL DEFAULT '',
    hypothesis   TEXT    NOT NULL DEFAULT '',
    horizon      TEXT    NOT NULL CHECK (horizon IN ('now', 'next', 'later')),
    flow_type    TEXT    NOT NULL CHECK (flow_type IN ('feature', 'defect', 'risk', 'debt')),
    team         TEXT    NOT NULL DEFAULT '',
    services     TEXT    NOT NULL DEFAULT '',
    reach        REAL    NOT NULL DEFAULT 0,
    impact       REAL    NOT NULL DEFAULT 0,
    confidence   REAL    NOT NULL DEFAULT 0,
    effort       REAL    NOT NULL DEFAULT 0,
    archived     BOOLEAN NOT NULL DEFAULT FALSE,
    verdict      TEXT    NOT NULL DEFAULT '',
    verdict_by   TEXT    NOT NULL DEFAULT '',
    verdict_at   BIGINT,
    verdict_note TEXT    NOT NULL DEFAULT '',
    planned_at   BIGINT,
    position     INTEGER NOT NULL DEFAULT 0,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS ideas_horizon ON ideas (horizon, position);
--bun:split
CREATE TABLE IF NOT EXISTS idea_key_results (
    idea_key      TEXT   NOT NULL REFERENCES ideas (key) ON DELETE CASCADE,
    key_result_id BIGINT NOT NULL REFERENCES key_results (id) ON DELETE CASCADE,
    PRIMARY KEY (idea_key, key_result_id)
);
--bun:split
CREATE INDEX IF NOT EXISTS event_ideas_ref ON event_ideas (ref);
--bun:split
CREATE INDEX IF NOT EXISTS runs_kind_at ON runs (kind, at);
--bun:split
CREATE INDEX IF NOT EXISTS deployments_artifact_env ON deployments (artifact_id, production);
