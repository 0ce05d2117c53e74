-- What the work queue needs at any size (docs/benchmarks.md, "Indexes and plans").
--
-- `myTasks(filter: {status: [PENDING, IN_PROGRESS]}, orderBy: DUE_DATE_ASC)`: the viewer's open
-- tasks come out of this index already in the order's keyset (due_date ASC NULLS LAST, id), so a
-- page reads one page of index entries however many tasks the viewer has, open or closed, instead
-- of fetching and sorting all of them. Partial (open tasks only), as a work queue is: it stays as
-- small as the open work, and no closed task is read and filtered on the way. Prisma's schema
-- language cannot declare a partial index (schema.prisma names it beside Task).
-- Like every partial index, only a plan made with the status values known can use it: Prisma's
-- unnamed statements are planned with their parameters, so they can; a generic plan of a
-- prepared statement with `status IN ($1, $2)` could not.
CREATE INDEX "tasks_open_tenant_id_assigned_to_due_date_id_idx" ON "tasks"("tenant_id", "assigned_to", "due_date", "id")
  WHERE "status" IN ('pending', 'in_progress');

