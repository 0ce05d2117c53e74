-- The change feed (docs/realtime.md): every events row gets a cursor, dense and increasing per
-- tenant in commit order, and what a subscriber filters on (the audit action, the case, the task's
-- assignees before and after). Hand-written: a trigger and a counter Prisma cannot declare.
--
-- Why a counter row rather than a sequence: a sequence hands out numbers in the order
-- transactions ask, not the order they commit, so a replay `WHERE cursor > $seen` could skip a
-- change that committed late. The insert of an event increments its tenant's `change_cursors`
-- row, and the row lock it takes is held until the transaction ends: the tenant's next writer waits
-- there, then reads the committed number. Cursors are therefore given out in commit order, and a
-- rolled-back transaction gives its number back (no gaps): a subscriber that has seen cursor n
-- has seen everything up to n. The cost: a tenant's writes serialize, from their first write
-- statement (an update or delete locks the counter row with the row it reads, so that every
-- writer takes the counter first and two writers never deadlock) to COMMIT.

CREATE TABLE "change_cursors" (
    "tenant_id" UUID NOT NULL,
    "last" BIGINT NOT NULL,

    CONSTRAINT "change_cursors_pkey" PRIMARY KEY ("tenant_id"),
    CONSTRAINT "change_cursors_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id")
      ON DELETE CASCADE ON UPDATE CASCADE
);

ALTER TABLE "events"
  ADD COLUMN "cursor" BIGINT,
  ADD COLUMN "action" VARCHAR(100),
  ADD COLUMN "case_id" UUID,
  ADD COLUMN "assignee_ids" UUID[];

-- The events of the previous release: numbered in the order they were written, their action read
-- from the event type, their case and assignee from the rows that still exist. The owner is
-- subject to the forced RLS of migration 20261122000100: lifted for these statements only.
ALTER TABLE "events" NO FORCE ROW LEVEL SECURITY;
UPDATE "events" e SET
  "cursor" = n."cursor",
  "action" = CASE
    WHEN e."event_type" LIKE '%.created' OR e."event_type" LIKE '%.added' THEN 'create'
    WHEN e."event_type" LIKE '%.deleted' OR e."event_type" LIKE '%.removed' THEN 'delete'
    ELSE 'update' END,
  "case_id" = CASE e."entity_type"
    WHEN 'case' THEN e."entity_id"
    WHEN 'task' THEN (SELECT t."case_id" FROM "tasks" t WHERE t."id" = e."entity_id")
    WHEN 'case_code' THEN (SELECT c."case_id" FROM "case_codes" c WHERE c."id" = e."entity_id")
    END,
  "assignee_ids" = CASE WHEN e."entity_type" = 'task' THEN
    (SELECT array_remove(ARRAY[t."assigned_to"], NULL) FROM "tasks" t WHERE t."id" = e."entity_id") END
FROM (SELECT "id", row_number() OVER (PARTITION BY "tenant_id" ORDER BY "created_at", "id") AS "cursor" FROM "events") n
WHERE n."id" = e."id";
-- Every tenant has its row from now on (the events trigger makes the row of a new tenant): the
-- writes lock it before anything else (src/services/audited-statements.ts, lockRow).
INSERT INTO "change_cursors" ("tenant_id", "last")
  SELECT t."id", COALESCE((SELECT max(e."cursor") FROM "events" e WHERE e."tenant_id" = t."id"), 0) FROM "tenants" t;
ALTER TABLE "events" FORCE ROW LEVEL SECURITY;

-- A replay reads `tenant_id = $1 AND cursor > $2 ORDER BY cursor`; unique: one change per cursor.
CREATE UNIQUE INDEX "events_tenant_id_cursor_key" ON "events"("tenant_id", "cursor");

-- Numbers each new event (whatever the client sent as its cursor) and tells the listening server
-- instances `<tenant>:<cursor>` at COMMIT (nothing for a rollback). A server whose fan-out is
-- Redis sets app.change_notify to 'off' for its transactions: NOTIFY takes a cluster-wide lock at
-- commit, which is worth saving when nobody listens.
CREATE FUNCTION "events_assign_cursor"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "change_cursors" AS c ("tenant_id", "last") VALUES (NEW."tenant_id", 1)
    ON CONFLICT ("tenant_id") DO UPDATE SET "last" = c."last" + 1
    RETURNING c."last" INTO NEW."cursor";
  IF current_setting('app.change_notify', true) IS DISTINCT FROM 'off' THEN
    PERFORM pg_notify('changes', NEW."tenant_id"::text || ':' || NEW."cursor"::text);
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER "events_assign_cursor" BEFORE INSERT ON "events"
  FOR EACH ROW EXECUTE FUNCTION "events_assign_cursor"();

GRANT SELECT, INSERT, UPDATE ON "change_cursors" TO prior_auth_app;
ALTER TABLE "change_cursors" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "change_cursors" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "change_cursors"
  USING ("tenant_id" = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
  WITH CHECK ("tenant_id" = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
