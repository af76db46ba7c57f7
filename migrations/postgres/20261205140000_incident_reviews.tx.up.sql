-- Blameless post-incident reviews: what the team wrote about a production
-- incident, keyed by incident id so that it survives rebuilds. There is no
-- column naming a person: who wrote what is in the audit log.
CREATE TABLE IF NOT EXISTS incident_reviews (
    incident_id          TEXT    PRIMARY KEY,
    status               TEXT    NOT NULL CHECK (status IN ('draft', 'published')),
    summary              TEXT    NOT NULL DEFAULT '',
    impact               TEXT    NOT NULL DEFAULT '',
    contributing_factors TEXT    NOT NULL DEFAULT '',
    went_well            TEXT    NOT NULL DEFAULT '',
    learned              TEXT    NOT NULL DEFAULT '',
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    published_at         BIGINT
);
--bun:split
-- Follow-ups a review asks for; one may become an idea on the roadmap.
CREATE TABLE IF NOT EXISTS review_actions (
    id          BIGSERIAL PRIMARY KEY,
    incident_id TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    idea_key    TEXT    NOT NULL DEFAULT '',
    done        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT  NOT NULL,
    done_at     BIGINT
);
--bun:split
CREATE INDEX IF NOT EXISTS review_actions_incident ON review_actions (incident_id);
--bun:split
CREATE INDEX IF NOT EXISTS review_actions_idea ON review_actions (idea_key);
