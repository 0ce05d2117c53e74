import { createHash } from 'node:crypto';
import { hashMemberId } from '../domain/member-id.js';
import {
  type CaseStatus,
  type CodeType,
  type IngestionSourceType,
  type IngestionStatus,
  type Priority,
  ROLES,
  type Role,
  type TaskStatus,
} from '../domain/vocabulary.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { type TenantDb, withTenant } from './tenant.js';

/**
 * Demo data for development and tests. Every id is derived from a name, and every insert skips
 * rows that exist, so seeding twice changes nothing. Identities are derivable without the
 * database (`seedIdentity`): `npm run token` signs tokens for seeded users from that alone.
 */
export const SEED_TENANTS = [
  { slug: 'test-clinic', name: 'Test Clinic' },
  { slug: 'second-clinic', name: 'Second Clinic' },
] as const;

export const CASES_PER_TENANT = 45;

const EXTRA_STAFF = ['jordan', 'riley'];
const PAYERS = ['Aetna', 'Blue Cross Blue Shield', 'Cigna', 'Humana', 'UnitedHealthcare'];
// How often each word occurs among the seeded rows (cycled through by index).
const CASE_STATUS_MIX: readonly CaseStatus[] = [
  'pending',
  'pending',
  'more_info_needed',
  'approved',
  'denied',
];
const PRIORITY_MIX: readonly Priority[] = ['normal', 'normal', 'high', 'low', 'urgent'];
const TASK_STATUS_MIX: readonly TaskStatus[] = [
  'pending',
  'in_progress',
  'completed',
  'pending',
  'cancelled',
];
const PROCEDURES: readonly { codeType: CodeType; code: string; description: string }[] = [
  { codeType: 'CPT', code: '72148', description: 'MRI lumbar spine without contrast' },
  { codeType: 'CPT', code: '70553', description: 'MRI brain with and without contrast' },
  { codeType: 'CPT', code: '27447', description: 'Total knee arthroplasty' },
  { codeType: 'CPT', code: '29881', description: 'Knee arthroscopy with meniscectomy' },
  { codeType: 'CPT', code: '97110', description: 'Therapeutic exercise, each 15 minutes' },
  { codeType: 'HCPCS', code: 'E0601', description: 'Continuous positive airway pressure device' },
  { codeType: 'HCPCS', code: 'J1745', description: 'Infliximab injection, 10 mg' },
  { codeType: 'HCPCS', code: 'L3960', description: 'Shoulder elbow wrist hand orthosis' },
];
const DIAGNOSES = ['M54.5', 'M17.11', 'G47.33', 'K50.90', 'M23.205', 'G43.909', 'S83.241A', 'M75.101'];
const TASK_TITLES = [
  'Collect clinical notes',
  'Submit prior-auth request',
  'Call payer for status',
  'Upload imaging report',
  'Request peer-to-peer review',
];

const DAY = 86_400_000;

/** A UUID derived from names (SHA-256, formatted with version 8 bits: custom, deterministic). */
export function stableUuid(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function seedEmail(role: string, slug: string): string {
  return `${role}@${slug}.com`;
}

/** The token subject and tenant of a seeded user, or undefined for any other email. */
export function seedIdentity(email: string): { authId: string; tenantId: string } | undefined {
  const match = /^([a-z]+)@([a-z-]+)\.com$/.exec(email.trim().toLowerCase());
  if (!match?.[1] || !match[2]) return undefined;
  const [, local, slug] = match;
  const tenant = SEED_TENANTS.find((t) => t.slug === slug);
  if (!tenant || !([...ROLES, ...EXTRA_STAFF] as string[]).includes(local)) return undefined;
  return { authId: `seed|${local}@${slug}.com`, tenantId: stableUuid('tenant', slug) };
}

export interface SeedResult {
  tenants: number;
  createdRows: number;
}

export async function seedDatabase(
  prisma: PrismaClient,
  options: { memberIdHashKey: string; now?: Date },
): Promise<SeedResult> {
  const now = options.now ?? new Date();
  let createdRows = 0;
  for (const tenant of SEED_TENANTS) {
    createdRows += await withTenant(
      prisma,
      stableUuid('tenant', tenant.slug),
      (db) => seedTenant(db, tenant, options.memberIdHashKey, now),
      { statementTimeoutMs: 60_000 },
    );
  }
  return { tenants: SEED_TENANTS.length, createdRows };
}

async function seedTenant(
  db: TenantDb,
  tenant: (typeof SEED_TENANTS)[number],
  memberIdHashKey: string,
  now: Date,
): Promise<number> {
  const tenantId = stableUuid('tenant', tenant.slug);
  const id = (...parts: (string | number)[]) => stableUuid(tenant.slug, ...parts.map(String));
  const at = (daysAgo: number) => new Date(now.getTime() - daysAgo * DAY);
  let created = 0;

  created += (await db.tenant.createMany({ data: [{ id: tenantId, ...tenant }], skipDuplicates: true }))
    .count;

  const people: { local: string; role: Role; name: string }[] = [
    ...ROLES.map((role) => ({
      local: role,
      role,
      name: `${tenant.name} ${role[0]?.toUpperCase()}${role.slice(1)}`,
    })),
    ...EXTRA_STAFF.map((local) => ({
      local,
      role: 'staff' as const,
      name: `${local[0]?.toUpperCase()}${local.slice(1)} Staff`,
    })),
  ];
  const users = people.map((p, i) => ({
    id: id('user', p.local),
    tenantId,
    email: seedEmail(p.local, tenant.slug),
    name: p.name,
    role: p.role,
    authId: `seed|${seedEmail(p.local, tenant.slug)}`,
    createdAt: at(90 - i),
  }));
  created += (await db.user.createMany({ data: users, skipDuplicates: true })).count;
  const userId = (local: string) => id('user', local);
  const assignees = [userId('staff'), userId('clinician'), userId('jordan'), userId('riley')];

  const ingestions = Array.from({ length: 10 }, (_, i) => ({
    id: id('ingestion', i),
    tenantId,
    sourceType: (i % 3 === 0 ? 'pdf' : 'email') satisfies IngestionSourceType,
    sourceMetadata:
      i % 3 === 0
        ? { filename: `referral-${i + 1}.pdf`, pages: 3 + (i % 4) }
        : { subject: `Referral #${i + 1}` },
    storagePath: `ingestions/${tenant.slug}/${i + 1}`,
    status: (i === 9 ? 'failed' : i === 8 ? 'processing' : 'completed') satisfies IngestionStatus,
    errorMessage: i === 9 ? 'Attachment could not be read' : null,
    createdAt: at(60 - i * 5),
  }));
  created += (await db.ingestion.createMany({ data: ingestions, skipDuplicates: true })).count;

  const cases = [];
  const codes = [];
  const tasks = [];
  const events = [];
  for (let i = 0; i < CASES_PER_TENANT; i++) {
    const caseId = id('case', i);
    const createdAt = new Date(at(CASES_PER_TENANT - i).getTime() + i * 3_600_000);
    const payer = PAYERS[i % PAYERS.length] as string;
    cases.push({
      id: caseId,
      tenantId,
      ingestionId: i % 4 === 0 ? id('ingestion', i % 8) : null,
      createdBy: i % 2 === 0 ? userId('clinician') : userId('admin'),
      memberIdHash: hashMemberId(memberIdHashKey, tenantId, `MBR${String(100000 + i * 7)}`),
      payer,
      status: CASE_STATUS_MIX[i % CASE_STATUS_MIX.length] as CaseStatus,
      priority: PRIORITY_MIX[(i * 3) % PRIORITY_MIX.length] as Priority,
      diagnosisCodes: [
        DIAGNOSES[i % DIAGNOSES.length] as string,
        ...(i % 3 === 0 ? [DIAGNOSES[(i + 3) % 8] as string] : []),
      ],
      confidenceJson: {
        overall: 0.7 + (i % 3) / 10,
        fields: { payer: 0.95, memberId: 0.9, codes: 0.6 + (i % 4) / 10 },
      },
      extractedData: { patientName: `Demo Patient ${i + 1}`, notes: 'Synthetic demo text, no real patient.' },
      metadataJson: i % 5 === 0 ? { source: 'fax', pages: 2 } : undefined,
      createdAt,
    });
    for (let c = 0; c < 1 + (i % 3); c++) {
      const proc = PROCEDURES[(i + c * 3) % PROCEDURES.length] as (typeof PROCEDURES)[number];
      codes.push({ id: id('code', i, c), caseId, tenantId, ...proc, confidence: 0.8 + c / 20, createdAt });
    }
    for (let k = 0; k < 1 + (i % 3); k++) {
      const status = TASK_STATUS_MIX[(i + k) % TASK_STATUS_MIX.length] as TaskStatus;
      const dueInDays = ((i * 5 + k * 3) % 20) - 6; // negative: past due
      tasks.push({
        id: id('task', i, k),
        caseId,
        tenantId,
        assignedTo: (i + k) % 3 === 0 ? null : (assignees[(i + k) % assignees.length] as string),
        title: TASK_TITLES[(i + k) % TASK_TITLES.length] as string,
        description: k === 0 ? `Work item for ${payer}` : null,
        status,
        priority: PRIORITY_MIX[(i + k) % PRIORITY_MIX.length] as Priority,
        dueDate: (i + k) % 4 === 3 ? null : new Date(now.getTime() + dueInDays * DAY),
        completedAt: status === 'completed' ? new Date(createdAt.getTime() + DAY) : null,
        createdAt: new Date(createdAt.getTime() + k * 60_000),
      });
    }
    events.push({
      id: id('event', i),
      tenantId,
      userId: i % 2 === 0 ? userId('clinician') : userId('admin'),
      eventType: 'case.created',
      entityType: 'case',
      entityId: caseId,
      metadata: { payer },
      createdAt,
    });
  }
  created += (await db.case.createMany({ data: cases, skipDuplicates: true })).count;
  created += (await db.caseCode.createMany({ data: codes, skipDuplicates: true })).count;
  created += (await db.task.createMany({ data: tasks, skipDuplicates: true })).count;
  created += (await db.event.createMany({ data: events, skipDuplicates: true })).count;

  const rulesets = PAYERS.flatMap((payer, p) =>
    PROCEDURES.map((proc, r) => ({
      id: id('ruleset', payer, proc.code),
      tenantId,
      payer,
      procedure: proc.code,
      rulesJson: {
        requirements: ['Physician order', `Diagnosis supporting ${proc.description.toLowerCase()}`],
        documentation: ['Clinical notes from the last 60 days', ...(r % 2 === 0 ? ['Imaging report'] : [])],
        typical_turnaround: `${3 + ((p + r) % 10)} business days`,
        notes: r % 3 === 0 ? `${payer} accepts electronic submission` : null,
      },
      isActive: (p + r) % 7 !== 0,
      createdAt: at(120 - p * 8 - r),
    })),
  );
  created += (await db.ruleset.createMany({ data: rulesets, skipDuplicates: true })).count;
  return created;
}
