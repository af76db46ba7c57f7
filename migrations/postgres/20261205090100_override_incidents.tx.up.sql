-- An editor who marks a deployment failed may name the production incidents
-- it caused (a JSON array of incident ids): they count against it, and its
-- recovery is their resolution.
ALTER TABLE deployment_overrides ADD COLUMN incidents TEXT NOT NULL DEFAULT '[]';
