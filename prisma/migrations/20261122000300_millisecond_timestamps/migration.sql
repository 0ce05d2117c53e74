-- Timestamps are stored at millisecond precision, whoever writes the row.
--
-- The API's keyset cursors and `expectedUpdatedAt` carry JavaScript dates (milliseconds). A row
-- written by another tool with microseconds (now(), clock_timestamp()) would sit between two
-- cursor values and could be skipped while paging, or never match an expected timestamp. The
-- columns stay timestamptz(6), as the database plan has them; these triggers round every value
-- written down to the millisecond, the precision Prisma writes anyway.

CREATE FUNCTION "timestamps_to_milliseconds"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."created_at" := date_trunc('milliseconds', NEW."created_at");
  NEW."updated_at" := date_trunc('milliseconds', NEW."updated_at");
  RETURN NEW;
END
$$;

CREATE FUNCTION "created_at_to_milliseconds"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."created_at" := date_trunc('milliseconds', NEW."created_at");
  RETURN NEW;
END
$$;

CREATE FUNCTION "task_timestamps_to_milliseconds"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."created_at" := date_trunc('milliseconds', NEW."created_at");
  NEW."updated_at" := date_trunc('milliseconds', NEW."updated_at");
  NEW."due_date" := date_trunc('milliseconds', NEW."due_date");
  NEW."completed_at" := date_trunc('milliseconds', NEW."completed_at");
  RETURN NEW;
END
$$;

CREATE TRIGGER "milliseconds" BEFORE INSERT OR UPDATE ON "tenants" FOR EACH ROW EXECUTE FUNCTION "timestamps_to_milliseconds"();
CREATE TRIGGER "milliseconds" BEFORE INSERT OR UPDATE ON "users" FOR EACH ROW EXECUTE FUNCTION "timestamps_to_milliseconds"();
CREATE TRIGGER "milliseconds" BEFORE INSERT OR UPDATE ON "ingestions" FOR EACH ROW EXECUTE FUNCTION "timestamps_to_milliseconds"();
CREATE TRIGGER "milliseconds" BEFORE INSERT OR UPDATE ON "cases" FOR EACH ROW EXECUTE FUNCTION "timestamps_to_milliseconds"();
CREATE TRIGGER "milliseconds" BEFORE INSERT OR UPDATE ON "rulesets" FOR EACH ROW EXECUTE FUNCTION "timestamps_to_milliseconds"();
CREATE TRIGGER "milliseconds" BEFORE INSERT OR UPDATE ON "tasks" FOR EACH ROW EXECUTE FUNCTION "task_timestamps_to_milliseconds"();
CREATE TRIGGER "milliseconds" BEFORE INSERT OR UPDATE ON "case_codes" FOR EACH ROW EXECUTE FUNCTION "created_at_to_milliseconds"();
CREATE TRIGGER "milliseconds" BEFORE INSERT OR UPDATE ON "events" FOR EACH ROW EXECUTE FUNCTION "created_at_to_milliseconds"();
CREATE TRIGGER "milliseconds" BEFORE INSERT OR UPDATE ON "audit_logs" FOR EACH ROW EXECUTE FUNCTION "created_at_to_milliseconds"();

-- Rows written before this migration.
UPDATE "tenants" SET "created_at" = "created_at" WHERE "created_at" <> date_trunc('milliseconds', "created_at") OR "updated_at" <> date_trunc('milliseconds', "updated_at");
UPDATE "users" SET "created_at" = "created_at" WHERE "created_at" <> date_trunc('milliseconds', "created_at") OR "updated_at" <> date_trunc('milliseconds', "updated_at");
UPDATE "ingestions" SET "created_at" = "created_at" WHERE "created_at" <> date_trunc('milliseconds', "created_at") OR "updated_at" <> date_trunc('milliseconds', "updated_at");
UPDATE "cases" SET "created_at" = "created_at" WHERE "created_at" <> date_trunc('milliseconds', "created_at") OR "updated_at" <> date_trunc('milliseconds', "updated_at");
UPDATE "rulesets" SET "created_at" = "created_at" WHERE "created_at" <> date_trunc('milliseconds', "created_at") OR "updated_at" <> date_trunc('milliseconds', "updated_at");
UPDATE "tasks" SET "created_at" = "created_at" WHERE "created_at" <> date_trunc('milliseconds', "created_at") OR "updated_at" <> date_trunc('milliseconds', "updated_at") OR "due_date" <> date_trunc('milliseconds', "due_date") OR "completed_at" <> date_trunc('milliseconds', "completed_at");
UPDATE "case_codes" SET "created_at" = "created_at" WHERE "created_at" <> date_trunc('milliseconds', "created_at");
UPDATE "events" SET "created_at" = "created_at" WHERE "created_at" <> date_trunc('milliseconds', "created_at");
UPDATE "audit_logs" SET "created_at" = "created_at" WHERE "created_at" <> date_trunc('milliseconds', "created_at");
