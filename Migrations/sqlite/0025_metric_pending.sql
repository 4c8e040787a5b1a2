-- Metric rollups move out of the ingest transaction (Docs/SUITE.md, "System metrics"): an ingest stores its
-- raw points and one row here carrying the same points (per series, in time order) as a blob; a background
-- pass merges pending rows into metric_rollups and deletes them in one transaction. Queries that read rollups
-- merge the pending rows of their range at query time, so they answer as if the rollups were current.
-- low and high bound the points' times, so a query reads only the pending rows that can touch its range.
CREATE TABLE metric_pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    low INTEGER NOT NULL,
    high INTEGER NOT NULL,
    points BLOB NOT NULL                        -- per series: id, count, then (microseconds, value) pairs; little-endian
);
