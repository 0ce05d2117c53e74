import { createHash } from 'node:crypto';

/**
 * The benchmark's synthetic data, generated inside PostgreSQL (INSERT … SELECT generate_series).
 * No random(): every value is derived from row numbers, so two runs build identical rows.
 *
 * Per tenant: 25 users, 50 rulesets, 0.4 ingestions per case, and per case 3 codes and 3 tasks.
 * Row ids are md5 of a label (`case:<tenant>:<n>`, …), the same labels, timestamps and task
 * assignments as the peer harness's data set (../shared/peer-bench), with the vocabularies mapped
 * onto this schema's CHECK constraints. So a token the harness signs for a user (sub = auth_id)
 * finds that user here, and the harness's checks of Q1/Q3 (exact ids, in order) hold against it.
 */
export interface Scale {
  tenants: number;
  casesPerTenant: number;
}

export const DEFAULT_SCALE: Scale = { tenants: 20, casesPerTenant: 5000 };
export const MAX_CASES_PER_TENANT = 1_000_000;
export const USERS_PER_TENANT = 25;
export const RULESETS_PER_TENANT = 50;

const PAYERS = [
  'Aetna',
  'UnitedHealthcare',
  'Cigna',
  'Humana',
  'Anthem BCBS',
  'Kaiser Permanente',
  'Centene',
  'Molina Healthcare',
  'Medicare',
  'Medicaid',
];
/** Procedure codes rulesets are written for: CPT, then HCPCS. */
const RULED_CPT = ['27447', '29881', '72148', '70553', '93458', '45378'];
const RULED_HCPCS = ['J1745', 'E0601', 'L1832', 'A4253', 'J9355'];
/** Office visits, therapy and injections: codes no ruleset names. */
const OTHER_CPT = ['99213', '99214', '97110', '20610', '64483', '62323'];

const sqlArray = (values: string[]) => `ARRAY[${values.map((v) => `'${v}'`).join(', ')}]`;
const BASE = "timestamptz '2025-06-30 12:00:00+00'";

export function ingestionsPerTenant(scale: Scale): number {
  return Math.max(1, Math.floor((scale.casesPerTenant * 2) / 5));
}

/** The INSERT statements, in dependency order. Run them as the schema owner (RLS does not apply). */
export function dataStatements(scale: Scale): { table: string; sql: string }[] {
  const T = scale.tenants;
  const C = scale.casesPerTenant;
  const I = ingestionsPerTenant(scale);
  const U = USERS_PER_TENANT;
  const R = RULESETS_PER_TENANT;
  const tenant = "md5('tenant:' || t)::uuid";
  return [
    {
      table: 'tenants',
      sql: `INSERT INTO tenants (id, slug, name, created_at, updated_at)
SELECT ${tenant}, 'tenant-' || lpad(t::text, 2, '0'), 'Tenant ' || lpad(t::text, 2, '0') || ' Health Partners',
       ${BASE} - interval '400 days' + t * interval '1 day', ${BASE} - interval '400 days' + t * interval '1 day'
FROM generate_series(1, ${T}) t`,
    },
    {
      // Every tenant has its change-feed counter row, as migration 20261205000000 gives every
      // tenant: the writes lock it before any other row (src/services/audited-statements.ts).
      table: 'change_cursors',
      sql: `INSERT INTO change_cursors (tenant_id, last) SELECT id, 0 FROM tenants`,
    },
    {
      table: 'users',
      sql: `INSERT INTO users (id, tenant_id, email, name, role, auth_id, created_at, updated_at)
SELECT md5('user:' || t || ':' || u)::uuid, ${tenant},
       'user' || u || '@tenant-' || lpad(t::text, 2, '0') || '.example.com',
       CASE WHEN u % 7 = 0 THEN NULL ELSE 'User ' || u || ' of Tenant ' || t END,
       CASE WHEN u = 1 THEN 'admin' WHEN u % 3 = 0 THEN 'clinician' ELSE 'staff' END,
       'auth0|' || md5('auth:' || t || ':' || u),
       ${BASE} - interval '390 days' + u * interval '1 hour', ${BASE} - interval '390 days' + u * interval '1 hour'
FROM generate_series(1, ${T}) t, generate_series(1, ${U}) u`,
    },
    {
      table: 'ingestions',
      sql: `INSERT INTO ingestions (id, tenant_id, source_type, source_metadata, storage_path, status, error_message,
                        created_at, updated_at)
SELECT md5('ing:' || t || ':' || i)::uuid, ${tenant},
       (ARRAY['pdf', 'email'])[1 + i % 2],
       jsonb_build_object('pages', 1 + i % 12, 'sender', 'sender-' || (i % 50),
                          'receivedAt', ${BASE} - i * interval '2 hours', 'checksum', md5('ingsum:' || t || ':' || i)),
       CASE WHEN i % 10 = 0 THEN NULL ELSE 'tenants/' || t || '/ingestions/' || i || '.pdf' END,
       CASE WHEN i % 25 = 0 THEN 'failed' WHEN i % 40 = 1 THEN 'pending' ELSE 'completed' END,
       CASE WHEN i % 25 = 0 THEN 'OCR failed: page ' || (1 + i % 12) || ' unreadable' END,
       ${BASE} - i * interval '2 hours' - t * interval '1 second',
       ${BASE} - i * interval '2 hours' - t * interval '1 second' + interval '5 minutes'
FROM generate_series(1, ${T}) t, generate_series(1::bigint, ${I}) i`,
    },
    {
      table: 'cases',
      sql: `INSERT INTO cases (id, tenant_id, ingestion_id, created_by, member_id_hash, payer, status, priority,
                   diagnosis_codes, confidence_json, extracted_data, metadata_json, created_at, updated_at)
SELECT md5('case:' || t || ':' || n)::uuid, ${tenant},
       CASE WHEN n % 10 = 0 THEN NULL ELSE md5('ing:' || t || ':' || (1 + (n * 7) % ${I}))::uuid END,
       md5('user:' || t || ':' || (1 + (n * 13) % ${U}))::uuid,
       encode(sha256(convert_to('member:' || t || ':' || (n % 1500), 'UTF8')), 'hex'),
       (${sqlArray(PAYERS)})[1 + (n * 31 + t) % 10],
       (ARRAY['pending', 'pending', 'more_info_needed', 'pending', 'approved', 'denied'])[1 + (n * 17) % 6],
       (ARRAY['low', 'normal', 'normal', 'high', 'urgent'])[1 + (n * 11) % 5],
       ARRAY[(ARRAY['M17.11', 'M54.5', 'E11.9', 'I10', 'J45.909', 'C50.911', 'G47.33', 'K21.9'])[1 + n % 8],
             (ARRAY['Z79.4', 'E78.5', 'F32.9', 'N18.3', 'M25.561'])[1 + (n * 3) % 5]]::varchar(20)[],
       jsonb_build_object('overall', 0.70 + (n % 30) / 100.0,
                          'fields', jsonb_build_object('payer', 0.80 + (n % 20) / 100.0,
                                                       'member', 0.85 + (n % 15) / 100.0,
                                                       'diagnosis', 0.70 + (n % 30) / 100.0,
                                                       'procedure', 0.75 + (n % 25) / 100.0)),
       jsonb_build_object(
         'member', jsonb_build_object('dobYear', 1940 + n % 60, 'sex', (ARRAY['F', 'M'])[1 + n % 2],
                                      'planId', 'PLN-' || lpad((n % 997)::text, 4, '0')),
         'provider', jsonb_build_object('npi', (1000000000 + (n * 7919) % 899999999)::text,
                                        'name', 'Provider ' || (n % 300),
                                        'specialty', (ARRAY['orthopedics', 'cardiology', 'oncology', 'neurology'])[1 + n % 4]),
         'procedure', jsonb_build_object('cpt', (${sqlArray(RULED_CPT)})[1 + n % 6],
                                         'units', 1 + n % 3,
                                         'site', (ARRAY['outpatient', 'inpatient', 'office'])[1 + n % 3]),
         'notes', 'Synthetic clinical summary for case ' || n || ' of tenant ' || t ||
                  '. Conservative therapy tried for ' || (4 + n % 20) || ' weeks.'),
       CASE WHEN n % 3 = 0 THEN NULL
            ELSE jsonb_build_object('channel', (ARRAY['fax', 'portal', 'email', 'api'])[1 + n % 4], 'pages', 1 + n % 12) END,
       ${BASE} - n * interval '97 minutes' - t * interval '1 second',
       ${BASE} - n * interval '97 minutes' - t * interval '1 second' + interval '1 hour'
FROM generate_series(1, ${T}) t, generate_series(1::bigint, ${C}) n`,
    },
    {
      table: 'case_codes',
      sql: `INSERT INTO case_codes (id, case_id, tenant_id, code_type, code, description, confidence, created_at)
SELECT md5('code:' || t || ':' || n || ':' || k)::uuid, md5('case:' || t || ':' || n)::uuid, ${tenant},
       CASE WHEN k = 3 THEN 'HCPCS' ELSE 'CPT' END,
       CASE k WHEN 1 THEN (${sqlArray(OTHER_CPT)})[1 + (n * 7) % 6]
              WHEN 2 THEN (${sqlArray(RULED_CPT)})[1 + n % 6]
              ELSE (${sqlArray(RULED_HCPCS)})[1 + (n * 3) % 5] END,
       CASE WHEN n % 5 = 0 THEN NULL ELSE 'Synthetic description for code ' || k || ' of case ' || n END,
       CASE WHEN n % 9 = 0 THEN NULL ELSE 0.50 + ((n * k) % 50) / 100.0 END,
       ${BASE} - n * interval '97 minutes' - t * interval '1 second' + k * interval '1 second'
FROM generate_series(1, ${T}) t, generate_series(1::bigint, ${C}) n, generate_series(1, 3) k`,
    },
    {
      table: 'tasks',
      sql: `INSERT INTO tasks (id, case_id, tenant_id, assigned_to, title, description, status, priority, due_date,
                   completed_at, created_at, updated_at)
SELECT md5('task:' || t || ':' || n || ':' || k)::uuid, md5('case:' || t || ':' || n)::uuid, ${tenant},
       md5('user:' || t || ':' || (1 + ((n * 3 + k) * 2654435761) % ${U}))::uuid,
       (ARRAY['Request clinical notes', 'Verify eligibility', 'Submit to payer', 'Follow up with payer',
              'Schedule peer-to-peer review'])[1 + (n + k) % 5],
       CASE WHEN (n + k) % 4 = 0 THEN NULL ELSE 'Synthetic task ' || k || ' for case ' || n END,
       s.status,
       (ARRAY['low', 'normal', 'normal', 'high', 'urgent'])[1 + (n * 5 + k) % 5],
       CASE WHEN (n * k) % 11 = 0 THEN NULL
            ELSE ${BASE} + (((n * k * 37) % 120) - 30) * interval '1 day' + ((n * 7 + k) % 24) * interval '1 hour' END,
       CASE WHEN s.status = 'completed' THEN ${BASE} - n * interval '97 minutes' + interval '3 days' END,
       ${BASE} - n * interval '97 minutes' - t * interval '1 second' + k * interval '1 minute',
       ${BASE} - n * interval '97 minutes' - t * interval '1 second' + k * interval '1 minute'
FROM generate_series(1, ${T}) t, generate_series(1::bigint, ${C}) n, generate_series(1, 3) k,
     LATERAL (SELECT CASE WHEN (n * 7 + k * 3 + t) % 10 < 3 THEN 'pending'
                          WHEN (n * 7 + k * 3 + t) % 10 < 5 THEN 'in_progress'
                          WHEN (n * 7 + k * 3 + t) % 10 < 9 THEN 'completed'
                          ELSE 'cancelled' END AS status) s`,
    },
    {
      // Five rulesets per payer, each for another procedure (r / 10 differs), so at most one is
      // active per (payer, procedure). About one in seven is inactive.
      table: 'rulesets',
      sql: `INSERT INTO rulesets (id, tenant_id, payer, procedure, rules_json, is_active, created_at, updated_at)
SELECT md5('ruleset:' || t || ':' || r)::uuid, ${tenant},
       (${sqlArray(PAYERS)})[1 + r % 10],
       (${sqlArray([...RULED_CPT, ...RULED_HCPCS])})[1 + (r / 10 + r % 10) % ${RULED_CPT.length + RULED_HCPCS.length}],
       jsonb_build_object(
         'requirements', jsonb_build_array('Documented failure of conservative therapy',
                                           'Imaging within the last 6 months',
                                           'BMI below 40 or documented exception'),
         'documentation', jsonb_build_array('Clinical notes', 'Imaging report', 'Letter of medical necessity'),
         'typical_turnaround', (1 + r % 10) || ' business days',
         'notes', CASE WHEN r % 3 = 0 THEN NULL ELSE 'Synthetic ruleset ' || r || ' of tenant ' || t END),
       r % 7 <> 0,
       ${BASE} - interval '300 days' + r * interval '1 day', ${BASE} - interval '300 days' + r * interval '1 day'
FROM generate_series(1, ${T}) t, generate_series(1, ${R}) r`,
    },
  ];
}

/** Changes whenever the rows would: stored with the database, so an unchanged data set is reused. */
export function dataFingerprint(scale: Scale): string {
  const text = JSON.stringify(dataStatements(scale));
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Tables the generator fills (and empties first), children before parents for TRUNCATE. */
export const BENCH_TABLES = [
  'audit_logs',
  'events',
  // The change feed's per-tenant counters (migration 20261205000000) reference tenants.
  'change_cursors',
  'tasks',
  'case_codes',
  'cases',
  'ingestions',
  'rulesets',
  'users',
  'tenants',
];
