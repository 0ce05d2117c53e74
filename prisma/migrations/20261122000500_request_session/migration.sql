-- One statement opens a request: it sets the tenant that row-level security reads and the
-- statement timeout, both for this transaction only, and returns the authenticated user, looked up
-- under that tenant (so a user of another tenant is not found). One round trip instead of two.
-- SECURITY INVOKER (the default): the lookup runs as the caller, with row-level security.
CREATE FUNCTION "begin_request"(p_tenant_id uuid, p_auth_id text, p_statement_timeout_ms integer)
RETURNS TABLE ("id" uuid, "tenant_id" uuid, "role" varchar)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant_id::text, true),
          set_config('statement_timeout', p_statement_timeout_ms::text, true);
  RETURN QUERY
    SELECT u."id", u."tenant_id", u."role" FROM "users" u
    WHERE u."auth_id" = p_auth_id AND u."tenant_id" = p_tenant_id;
END
$$;

REVOKE ALL ON FUNCTION "begin_request"(uuid, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "begin_request"(uuid, text, integer) TO prior_auth_app;
