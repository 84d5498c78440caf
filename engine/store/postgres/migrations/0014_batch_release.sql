-- Resetting a sensor's offsets with --allow-reprocess (issue 15) releases
-- the batches runs carry from the new offset on: the runs keep them, but the
-- sensor no longer trims what it reads again by them, and the same offsets
-- may be stored again as a new batch. The key holds among live batches
-- only.
ALTER TABLE run_batches ADD COLUMN released_at BIGINT; -- Unix ns; NULL while live

DO $$
DECLARE c text;
BEGIN
    SELECT conname INTO c FROM pg_constraint
    WHERE conrelid = 'run_batches'::regclass AND contype = 'u';
    EXECUTE format('ALTER TABLE run_batches DROP CONSTRAINT %I', c);
END $$;

CREATE UNIQUE INDEX run_batches_key ON run_batches (dag, topic, partition, first_offset, last_offset)
    WHERE released_at IS NULL;
