-- The persistence suite, part 2: system metrics (Docs/SUITE.md, "System metrics"). Series are a name and a
-- sorted label set; points are raw values; rollups per minute and per hour keep count, sum, min, max, the
-- first and last values, the counter increase and a quantile sketch, so long ranges never scan raw points.

CREATE TABLE metric_series (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    labels TEXT NOT NULL,                     -- canonical JSON object, keys sorted
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (name, labels)
);

CREATE TABLE system_metrics (
    series_id BIGINT NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (series_id, ts)
);

CREATE TABLE metric_rollups (
    series_id BIGINT NOT NULL,
    resolution BIGINT NOT NULL,                 -- seconds: 60 or 3600
    bucket TIMESTAMPTZ NOT NULL,                      -- the bucket's start
    samples BIGINT NOT NULL,
    total DOUBLE PRECISION NOT NULL,
    lowest DOUBLE PRECISION NOT NULL,
    highest DOUBLE PRECISION NOT NULL,
    first_time TIMESTAMPTZ NOT NULL,
    first_value DOUBLE PRECISION NOT NULL,
    last_time TIMESTAMPTZ NOT NULL,
    last_value DOUBLE PRECISION NOT NULL,
    increase DOUBLE PRECISION NOT NULL,                  -- the rises within the bucket; a drop counts as a counter reset
    sketch BYTEA NOT NULL,                    -- DDSketch, 1% relative accuracy
    PRIMARY KEY (series_id, resolution, bucket)
);
CREATE INDEX metric_rollups_by_time ON metric_rollups (resolution, bucket);

CREATE TABLE metric_retention (
    name TEXT PRIMARY KEY,
    raw_seconds BIGINT NOT NULL,                -- 0: kept
    minute_seconds BIGINT NOT NULL,
    hour_seconds BIGINT NOT NULL,
    max_series BIGINT NOT NULL,                 -- distinct label sets the metric may have
    updated_at TIMESTAMPTZ NOT NULL
);
