-- DORA derived state, maintained incrementally in the ingest transaction.

-- One row per production deployment: its verdict and why, recovery, rework.
CREATE TABLE IF NOT EXISTS deployment_facts (
    event_pk      BIGINT  PRIMARY KEY,
    service       TEXT    NOT NULL,
    at            BIGINT  NOT NULL,
    day           BIGINT  NOT NULL,
    rollback      BOOLEAN NOT NULL,
    failed        BOOLEAN NOT NULL,
    rule_failed   BOOLEAN NOT NULL,
    rules         TEXT    NOT NULL DEFAULT '',
    rollback_pk   BIGINT,
    incidents     TEXT    NOT NULL DEFAULT '',
    recovered_at  BIGINT,
    recovered_by  TEXT    NOT NULL DEFAULT '',
    rework        BOOLEAN NOT NULL,
    rework_reason TEXT    NOT NULL DEFAULT '',
    rework_by     TEXT    NOT NULL DEFAULT '',
    changes       INTEGER NOT NULL DEFAULT 0
);
--bun:split
CREATE INDEX IF NOT EXISTS deployment_facts_service_at ON deployment_facts (service, at);
--bun:split
CREATE INDEX IF NOT EXISTS deployment_facts_day ON deployment_facts (day);
--bun:split
-- The first production deployment that carried each change, per service.
CREATE TABLE IF NOT EXISTS change_deploys (
    service   TEXT   NOT NULL,
    change_id TEXT   NOT NULL,
    deploy_pk BIGINT NOT NULL,
    deploy_at BIGINT NOT NULL,
    day       BIGINT NOT NULL,
    PRIMARY KEY (service, change_id)
);
--bun:split
CREATE INDEX IF NOT EXISTS change_deploys_change ON change_deploys (change_id);
--bun:split
CREATE INDEX IF NOT EXISTS change_deploys_day ON change_deploys (day);
--bun:split
CREATE INDEX IF NOT EXISTS change_deploys_service_at ON change_deploys (service, deploy_at);
--bun:split
-- Which deployment each production incident made fail, or why none.
CREATE TABLE IF NOT EXISTS incident_attributions (
    incident_id TEXT   PRIMARY KEY,
    service     TEXT   NOT NULL DEFAULT '',
    deploy_pk   BIGINT,
    deploy_at   BIGINT,
    rule        TEXT   NOT NULL DEFAULT '',
    reason      TEXT   NOT NULL DEFAULT ''
);
--bun:split
CREATE INDEX IF NOT EXISTS incident_attributions_deploy ON incident_attributions (deploy_pk);
--bun:split
-- Editors' verdicts; keyed by event identity so that they survive rebuilds.
CREATE TABLE IF NOT EXISTS deployment_overrides (
    source   TEXT    NOT NULL,
    event_id TEXT    NOT NULL,
    failed   BOOLEAN NOT NULL,
    reason   TEXT    NOT NULL,
    by_user  TEXT    NOT NULL,
    at       BIGINT  NOT NULL,
    PRIMARY KEY (source, event_id)
);
--bun:split
-- Daily rollups per scope ('*', 'svc:<service>', 'team:<team>'). Sets of
-- durations are kept whole (sorted float64 arrays) so that medians stay exact.
CREATE TABLE IF NOT EXISTS dora_daily (
    scope        TEXT    NOT NULL,
    day          BIGINT  NOT NULL,
    deployments  INTEGER NOT NULL,
    non_rollback INTEGER NOT NULL,
    failed       INTEGER NOT NULL,
    rework       INTEGER NOT NULL,
    lead         BLOB    NOT NULL,
    start_merged BLOB    NOT NULL,
    merged_deploy BLOB   NOT NULL,
    recovery     BLOB    NOT NULL,
    restore      BLOB    NOT NULL,
    PRIMARY KEY (scope, day)
);
--bun:split
CREATE INDEX IF NOT EXISTS incidents_resolved ON incidents (resolved_at);
