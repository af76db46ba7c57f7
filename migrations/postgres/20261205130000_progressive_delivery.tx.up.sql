-- Progressive delivery and flags (DESIGN.md 4): rollout steps and flag
-- changes as they arrived, and on each deployment fact the abort that
-- failed it (rule rollout_aborted) and the flag switch-off that recovered it.
CREATE TABLE IF NOT EXISTS rollout_steps (
    event_pk    BIGINT  PRIMARY KEY,
    event_id    TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    rollout_id  TEXT    NOT NULL DEFAULT '',
    service     TEXT    NOT NULL,
    environment TEXT    NOT NULL,
    production  BOOLEAN NOT NULL,
    artifact_id TEXT    NOT NULL DEFAULT '',
    kind        TEXT    NOT NULL,
    weight      DOUBLE PRECISION,
    baseline    TEXT    NOT NULL DEFAULT '',
    canary      TEXT    NOT NULL DEFAULT '',
    message     TEXT    NOT NULL DEFAULT '',
    at          BIGINT  NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS rollout_steps_service_at ON rollout_steps (service, at);
--bun:split
CREATE TABLE IF NOT EXISTS flag_changes (
    event_pk    BIGINT  PRIMARY KEY,
    event_id    TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    flag_key    TEXT    NOT NULL,
    environment TEXT    NOT NULL,
    production  BOOLEAN NOT NULL,
    enabled     BOOLEAN NOT NULL,
    percentage  DOUBLE PRECISION NOT NULL,
    variant     TEXT    NOT NULL DEFAULT '',
    at          BIGINT  NOT NULL
);
--bun:split
CREATE TABLE IF NOT EXISTS flag_services (
    event_pk BIGINT NOT NULL,
    service  TEXT   NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (event_pk, service)
);
--bun:split
CREATE INDEX IF NOT EXISTS flag_services_service_at ON flag_services (service, at);
--bun:split
ALTER TABLE deployment_facts ADD COLUMN abort_pk BIGINT;
--bun:split
ALTER TABLE deployment_facts ADD COLUMN flag_off_pk BIGINT;
