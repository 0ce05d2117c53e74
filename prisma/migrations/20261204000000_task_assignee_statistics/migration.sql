-- The work queue's generic plan (docs/benchmarks.md, "Indexes and plans").
--
-- `myTasks` runs as a prepared statement with the tenant and the assignee as parameters. Its
-- generic plan estimates `tenant_id = $1 AND assigned_to = $2` as if the two were independent:
-- 1/tenants × 1/users of all tasks, 20 times too few at 20 tenants of 25 users (15 rows instead of
-- 300). With that estimate a bitmap scan and a sort of all the viewer's open tasks looks cheaper
-- than walking the partial index of open tasks in due-date order and stopping after a page.
-- An assignee belongs to one tenant: with the functional dependency known, the estimate is
-- 1/users, and the plan walks the index (Q3: 0.54 → 0.29 ms of execution on the bench data).
-- Prisma's schema language cannot declare statistics objects; `prisma migrate diff` ignores them.
CREATE STATISTICS "tasks_tenant_id_assigned_to_stats" (dependencies) ON "tenant_id", "assigned_to" FROM "tasks";

-- Until the next ANALYZE (autovacuum's, after enough changes) the object holds nothing.
ANALYZE "tasks";
