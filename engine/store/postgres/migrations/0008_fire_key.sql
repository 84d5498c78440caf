-- Several instances, one platform (issue 16): one run per (DAG, cron fire
-- time). Every instance's scheduler fires every schedule; the first insert
-- wins, the others learn the run's id. (Batches have been unique per DAG
-- and offset range since 0001.)
CREATE UNIQUE INDEX runs_fire ON runs (dag, scheduled_for)
    WHERE trigger = 'schedule' AND scheduled_for IS NOT NULL;
