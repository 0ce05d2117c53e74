-- What the API's list orders and ruleset rule need.

-- PRIORITY_DESC is URGENT, HIGH, NORMAL, LOW: not the alphabetical order of the stored words.
-- A stored generated column gives it an index and a keyset; other tools never write it.
ALTER TABLE "cases" ADD COLUMN "priority_rank" SMALLINT GENERATED ALWAYS AS (
  CASE "priority" WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'normal' THEN 2 WHEN 'low' THEN 1 ELSE 0 END
) STORED;
ALTER TABLE "tasks" ADD COLUMN "priority_rank" SMALLINT GENERATED ALWAYS AS (
  CASE "priority" WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'normal' THEN 2 WHEN 'low' THEN 1 ELSE 0 END
) STORED;

-- Every list order is (tenant_id, <order column>, id): the first page and every next one are
-- index range scans, never a sort of the tenant's rows.
-- CreateIndex
CREATE INDEX "cases_tenant_id_updated_at_id_idx" ON "cases"("tenant_id", "updated_at", "id");
-- CreateIndex
CREATE INDEX "cases_tenant_id_priority_rank_id_idx" ON "cases"("tenant_id", "priority_rank", "id");
-- CreateIndex
CREATE INDEX "tasks_tenant_id_due_date_id_idx" ON "tasks"("tenant_id", "due_date", "id");
-- CreateIndex
CREATE INDEX "tasks_tenant_id_updated_at_id_idx" ON "tasks"("tenant_id", "updated_at", "id");
-- CreateIndex
CREATE INDEX "tasks_tenant_id_priority_rank_id_idx" ON "tasks"("tenant_id", "priority_rank", "id");
-- CreateIndex
CREATE INDEX "tasks_case_id_created_at_id_idx" ON "tasks"("case_id", "created_at", "id");
-- CreateIndex
CREATE INDEX "tasks_assigned_to_created_at_id_idx" ON "tasks"("assigned_to", "created_at", "id");

-- At most one active ruleset per (tenant, payer, procedure), procedures compared without case.
-- A partial expression index: Prisma's schema language cannot declare it.
CREATE UNIQUE INDEX "rulesets_one_active_per_payer_procedure" ON "rulesets"("tenant_id", "payer", upper("procedure"))
  WHERE "is_active";
