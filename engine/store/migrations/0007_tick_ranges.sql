-- What each tick persisted: per batch its topic, partition, first and last
-- offsets and the run it became, as a JSON array, so the console links a
-- tick to its runs. '' for ticks recorded before this column.

ALTER TABLE sensor_ticks ADD COLUMN ranges TEXT NOT NULL DEFAULT '';
