-- Leases: a named task (SLO evaluation, a rebuild) runs on one instance at a
-- time. The holder renews its lease while it works; if it dies, the lease
-- expires and another instance takes the task over.
CREATE TABLE IF NOT EXISTS leases (
    name       TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
