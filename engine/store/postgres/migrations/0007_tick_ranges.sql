-- What each tick persisted: per batch its topic, partition, first and last
-- offsets and the run it became, as a JSON array (the SQLite store's
-- migration 0006 too). '' for ticks recorded before this column.

ALTER TABLE sensor_ticks ADD COLUMN ranges TEXT NOT NULL DEFAULT '';
