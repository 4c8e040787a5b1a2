-- The persistence suite, part 2: system metrics (Docs/SUITE.md, "System metrics"). Series are a name and a
-- sorted label set; points are raw values; rollups per minute and per hour keep count, sum, min, max, the
-- first and last values, the counter increase and a quantile sketch, so long ranges never scan raw points.

CREATE TABLE metric_series (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    labels TEXT NOT NULL,                     -- canonical JSON object, keys sorted
    created_at INTEGER NOT NULL,
    UNIQUE (name, labels)
);

CREATE TABLE system_metrics (
    series_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (series_id, ts)
);

CREATE TABLE metric_rollups (
    series_id INTEGER NOT NULL,
    resolution INTEGER NOT NULL,                 -- seconds: 60 or 3600
    bucket INTEGER NOT NULL,                      -- the bucket's start
    samples INTEGER NOT NULL,
    total REAL NOT NULL,
    lowest REAL NOT NULL,
    highest REAL NOT NULL,
    first_time INTEGER NOT NULL,
    first_value REAL NOT NULL,
    last_time INTEGER NOT NULL,
    last_value REAL NOT NULL,
    increase REAL NOT NULL,                  -- the rises within the bucket; a drop counts as a counter reset
    sketch BLOB NOT NULL,                    -- DDSketch, 1% relative accuracy
    PRIMARY KEY (series_id, resolution, bucket)
);
CREATE INDEX metric_rollups_by_time ON metric_rollups (resolution, bucket);

CREATE TABLE metric_retention (
    name TEXT PRIMARY KEY,
    raw_seconds INTEGER NOT NULL,                -- 0: kept
    minute_seconds INTEGER NOT NULL,
    hour_seconds INTEGER NOT NULL,
    max_series INTEGER NOT NULL,                 -- distinct label sets the metric may have
    updated_at INTEGER NOT NULL
);
