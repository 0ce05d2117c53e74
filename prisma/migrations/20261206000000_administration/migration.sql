-- Administration and the intake pipeline (API.md, "Administration and intake"): a clinic manages
-- its own users, the intake service writes ingestions. Hand-written: a CHECK, grants, a partial
-- index and a function Prisma cannot declare. The previous release runs against this schema
-- unchanged (rolling deploys): it reads users and ingestions only, and `begin_request` keeps its
-- signature.

-- The intake pipeline's machine principal.
ALTER TABLE "users" DROP CONSTRAINT "users_role_check";
ALTER TABLE "users" ADD CONSTRAINT "users_role_check" CHECK ("role" IN ('admin', 'clinician', 'staff', 'service'));

-- A deactivated user keeps their row (their tasks, cases and audit trail point at it) and is
-- refused from the moment this is set.
ALTER TABLE "users" ADD COLUMN "deactivated_at" TIMESTAMPTZ(6);

-- Stored at millisecond precision like every other timestamp (migration 20261122000300).
CREATE FUNCTION "user_timestamps_to_milliseconds"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."created_at" := date_trunc('milliseconds', NEW."created_at");
  NEW."updated_at" := date_trunc('milliseconds', NEW."updated_at");
  NEW."deactivated_at" := date_trunc('milliseconds', NEW."deactivated_at");
  RETURN NEW;
END
$$;
DROP TRIGGER "milliseconds" ON "users";
CREATE TRIGGER "milliseconds" BEFORE INSERT OR UPDATE ON "users"
  FOR EACH ROW EXECUTE FUNCTION "user_timestamps_to_milliseconds"();

-- The last-ADMIN rule counts a tenant's active admins on every demotion and deactivation.
CREATE INDEX "users_active_admins_idx" ON "users"("tenant_id") WHERE "role" = 'admin' AND "deactivated_at" IS NULL;

-- The new writes, and only those: users are created and have their name, role and deactivation
-- changed (never their tenant, email or subject); ingestions are created and move through their
-- workflow. Row-level security (forced) keeps every one of them inside the request's tenant.
GRANT INSERT ON "users", "ingestions" TO prior_auth_app;
GRANT UPDATE ("name", "role", "deactivated_at", "updated_at") ON "users" TO prior_auth_app;
GRANT UPDATE ("status", "error_message", "updated_at") ON "ingestions" TO prior_auth_app;

-- A request's user must be active: a deactivated user's token is refused on its next request,
-- on every server instance, whatever the instance remembers about the token (it remembers the
-- token's signature, never the user). Same signature as before: the previous release calls it too.
-- It also records the role the request was admitted with (app.user_role, for this transaction
-- only), which the events trigger below holds every write of the request to.
CREATE OR REPLACE FUNCTION "begin_request"(p_tenant_id uuid, p_auth_id text, p_statement_timeout_ms integer)
RETURNS TABLE ("id" uuid, "tenant_id" uuid, "role" varchar)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  admitted record;
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant_id::text, true),
          set_config('statement_timeout', p_statement_timeout_ms::text, true);
  SELECT u."id", u."tenant_id", u."role" INTO admitted FROM "users" u
    WHERE u."auth_id" = p_auth_id AND u."tenant_id" = p_tenant_id AND u."deactivated_at" IS NULL;
  IF FOUND THEN
    PERFORM set_config('app.user_role', admitted."role", true);
    RETURN QUERY SELECT admitted."id", admitted."tenant_id", admitted."role";
  END IF;
END
$$;

-- Every tenant has its change-feed counter row from its creation on: every write of a tenant
-- locks that row first (src/services/audited-statements.ts, lockRow), which is what makes the
-- last-ADMIN rule and the check below hold under concurrency. Before, a tenant made by an
-- operator got the row with its first event only, and until then the lock locked nothing: two
-- ADMINs demoting themselves at once could both succeed. Made under the new tenant's own
-- app.tenant_id (the table's row-level security is forced), and the caller's setting put back.
CREATE FUNCTION "tenants_create_change_cursor"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  caller_tenant text := current_setting('app.tenant_id', true);
BEGIN
  PERFORM set_config('app.tenant_id', NEW."id"::text, true);
  INSERT INTO "change_cursors" ("tenant_id", "last") VALUES (NEW."id", 0) ON CONFLICT ("tenant_id") DO NOTHING;
  PERFORM set_config('app.tenant_id', coalesce(caller_tenant, ''), true);
  RETURN NEW;
END
$$;
CREATE TRIGGER "create_change_cursor" AFTER INSERT ON "tenants"
  FOR EACH ROW EXECUTE FUNCTION "tenants_create_change_cursor"();

ALTER TABLE "change_cursors" NO FORCE ROW LEVEL SECURITY;
INSERT INTO "change_cursors" ("tenant_id", "last")
  SELECT t."id", COALESCE((SELECT max(e."cursor") FROM "events" e WHERE e."tenant_id" = t."id"), 0) FROM "tenants" t
  ON CONFLICT ("tenant_id") DO NOTHING;
ALTER TABLE "change_cursors" FORCE ROW LEVEL SECURITY;

-- A request's rights are those of its user when it writes, not only when it began: a request
-- admitted before its user was deactivated, or before their role changed, and queued behind the
-- change on the tenant's counter row, must not write after it. The event row every write inserts
-- takes that lock (below, or earlier in the transaction); once it is held, the user is read
-- again, in a statement of its own and so with a snapshot that sees what committed while this
-- one waited. The request is then refused whole: `events_actor_active` becomes 401, and
-- `events_actor_role` a conflict to retry (src/db/errors.ts). Writes outside a request (the seed,
-- an operator's SQL) have no app.user_role and are not checked.
CREATE OR REPLACE FUNCTION "events_assign_cursor"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  admitted_role text := current_setting('app.user_role', true);
  actor record;
BEGIN
  INSERT INTO "change_cursors" AS c ("tenant_id", "last") VALUES (NEW."tenant_id", 1)
    ON CONFLICT ("tenant_id") DO UPDATE SET "last" = c."last" + 1
    RETURNING c."last" INTO NEW."cursor";
  IF admitted_role IS NOT NULL AND admitted_role <> '' AND NEW."user_id" IS NOT NULL THEN
    SELECT u."role", u."deactivated_at" INTO actor FROM "users" u WHERE u."id" = NEW."user_id";
    IF NOT FOUND OR actor."deactivated_at" IS NOT NULL THEN
      RAISE EXCEPTION 'the acting user was deactivated' USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'events_actor_active';
    END IF;
    IF actor."role" <> admitted_role THEN
      IF NEW."entity_type" = 'user' AND NEW."entity_id" = NEW."user_id" THEN
        -- The request changed its own user's role (an ADMIN stepping down while others remain;
        -- src/services/users.ts checked that the role it changed was still the admitted one): its
        -- later writes hold to the new role. Rolled back with the change if the change is.
        PERFORM set_config('app.user_role', actor."role", true);
      ELSE
        RAISE EXCEPTION 'the acting user''s role changed' USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'events_actor_role';
      END IF;
    END IF;
  END IF;
  IF current_setting('app.change_notify', true) IS DISTINCT FROM 'off' THEN
    PERFORM pg_notify('changes', NEW."tenant_id"::text || ':' || NEW."cursor"::text);
  END IF;
  RETURN NEW;
END
$$;

-- Tasks go to active people: a deactivated user keeps the tasks they have, and a SERVICE user
-- (the intake pipeline) works none. Checked by the database, which sees the user as the
-- write's transaction does: every write of a tenant takes the tenant's change counter row first
-- (src/services/audited-statements.ts), so an assignment and a deactivation take turns, and the
-- one that comes second sees the other. An update that keeps the assignee (a new title) passes.
-- SECURITY INVOKER: the lookup runs under the writer's row-level security.
CREATE FUNCTION "tasks_assignee_may_work"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  assignee record;
BEGIN
  IF NEW."assigned_to" IS NULL OR (TG_OP = 'UPDATE' AND NEW."assigned_to" IS NOT DISTINCT FROM OLD."assigned_to") THEN
    RETURN NEW;
  END IF;
  SELECT u."role", u."deactivated_at" INTO assignee FROM "users" u
    WHERE u."id" = NEW."assigned_to" AND u."tenant_id" = NEW."tenant_id";
  -- No such user: the foreign key (assigned_to, tenant_id) refuses it, as "Assignee not found".
  IF FOUND AND assignee."deactivated_at" IS NOT NULL THEN
    RAISE EXCEPTION 'the assignee is deactivated' USING ERRCODE = 'check_violation', CONSTRAINT = 'tasks_assignee_active';
  END IF;
  IF FOUND AND assignee."role" = 'service' THEN
    RAISE EXCEPTION 'the assignee is a service' USING ERRCODE = 'check_violation', CONSTRAINT = 'tasks_assignee_person';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER "assignee_may_work" BEFORE INSERT OR UPDATE OF "assigned_to" ON "tasks"
  FOR EACH ROW EXECUTE FUNCTION "tasks_assignee_may_work"();
