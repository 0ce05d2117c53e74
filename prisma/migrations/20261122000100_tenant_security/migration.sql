-- What Prisma's schema language cannot say: vocabulary CHECKs, the runtime role and its grants,
-- and row-level security. Hand-written; `prisma migrate dev` keeps it as it is.

-- Vocabularies: the plan's lower-case values. GraphQL shows them as enums.
ALTER TABLE "users" ADD CONSTRAINT "users_role_check" CHECK ("role" IN ('admin', 'clinician', 'staff'));
ALTER TABLE "ingestions" ADD CONSTRAINT "ingestions_source_type_check" CHECK ("source_type" IN ('email', 'pdf'));
ALTER TABLE "ingestions" ADD CONSTRAINT "ingestions_status_check"
  CHECK ("status" IN ('pending', 'processing', 'completed', 'failed'));
ALTER TABLE "cases" ADD CONSTRAINT "cases_status_check"
  CHECK ("status" IN ('pending', 'approved', 'denied', 'more_info_needed'));
ALTER TABLE "cases" ADD CONSTRAINT "cases_priority_check" CHECK ("priority" IN ('low', 'normal', 'high', 'urgent'));
ALTER TABLE "case_codes" ADD CONSTRAINT "case_codes_code_type_check" CHECK ("code_type" IN ('CPT', 'HCPCS'));
ALTER TABLE "case_codes" ADD CONSTRAINT "case_codes_confidence_check" CHECK ("confidence" BETWEEN 0 AND 1);
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_status_check"
  CHECK ("status" IN ('pending', 'in_progress', 'completed', 'cancelled'));
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_priority_check" CHECK ("priority" IN ('low', 'normal', 'high', 'urgent'));
ALTER TABLE "audit_logs" ADD CONSTRAINT "audit_logs_action_check"
  CHECK ("action" IN ('create', 'update', 'delete', 'view'));

-- The runtime role. Roles belong to the whole cluster, so it is created only when absent; the
-- server's login role is made a member of it (see README). It never owns a table, is no
-- superuser and cannot bypass RLS, so every policy below applies to it.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'prior_auth_app') THEN
    CREATE ROLE prior_auth_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO prior_auth_app', current_schema());
END
$$;

-- Exactly what the API does, no more: tenants, users and ingestions are read-only to it, the
-- audit trail is append-only, and only the worked-on tables can be changed.
GRANT SELECT ON "tenants", "users", "ingestions" TO prior_auth_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON "cases", "case_codes", "tasks", "rulesets" TO prior_auth_app;
GRANT SELECT, INSERT ON "events", "audit_logs" TO prior_auth_app;
-- /readyz compares the applied migrations with the ones the server was built with.
GRANT SELECT ON "_prisma_migrations" TO prior_auth_app;

-- Row-level security. The server sets app.tenant_id per transaction (set_config(..., true)).
-- Unset or empty, the setting is NULL and no row matches. The sub-select makes PostgreSQL
-- evaluate the setting once per statement (an InitPlan), not once per row, and lets the
-- planner use it as an index key.
ALTER TABLE "tenants" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "tenants" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "tenants"
  USING ("id" = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
  WITH CHECK ("id" = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'ingestions', 'cases', 'case_codes', 'tasks', 'rulesets', 'events', 'audit_logs']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY "tenant_isolation" ON %I'
      ' USING ("tenant_id" = (SELECT NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid))'
      ' WITH CHECK ("tenant_id" = (SELECT NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid))',
      t);
  END LOOP;
END
$$;
