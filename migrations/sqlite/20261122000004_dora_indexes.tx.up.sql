-- Drill-downs list deployments and incidents newest first across all
-- services; these indexes keep that a range scan at any history size.
CREATE INDEX IF NOT EXISTS deployment_facts_at ON deployment_facts (at);
--bun:split
CREATE INDEX IF NOT EXISTS deployment_facts_failed_at ON deployment_facts (failed, at);
--bun:split
CREATE INDEX IF NOT EXISTS incidents_started ON incidents (started_at);
--bun:split
CREATE INDEX IF NOT EXISTS change_deploys_deploy ON change_deploys (deploy_pk);
