-- The evidence a value stream's constraint needs (DESIGN.md 4, Flow): at
-- least constraint_min_items items passed through the stage in the window,
-- and its median time in stage at least constraint_min_ratio × the
-- next-longest stage's. Which stages are fixed-time is kept with the stages.
ALTER TABLE value_streams ADD COLUMN constraint_min_items INTEGER NOT NULL DEFAULT 5;
--bun:split
ALTER TABLE value_streams ADD COLUMN constraint_min_ratio REAL NOT NULL DEFAULT 1.5;
