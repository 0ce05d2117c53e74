import { createHash } from 'node:crypto';
import { hashMemberId } from '../domain/member-id.js';
import type {
  CaseStatus,
  CodeType,
  IngestionSourceType,
  IngestionStatus,
  Priority,
  Role,
  TaskStatus,
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

/**
 * The people of each seeded tenant, by the local part of their email: one user per role of the
 * clinic's staff, two more STAFF, and the intake pipeline's SERVICE user (`intake@<tenant>.com`).
 * Tasks are assigned among the people, never to the service.
 */
const PEOPLE: readonly { local: string; role: Role }[] = [
  { local: 'admin', role: 'admin' },
  { local: 'clinician', role: 'clinician' },
  { local: 'staff', role: 'staff' },
  { local: 'jordan', role: 'staff' },
  { local: 'riley', role: 'staff' },
];
const SERVICE_USER = { local: 'intake', role: 'service' } as const satisfies (typeof PEOPLE)[number];
const SEEDED_USERS = [...PEOPLE, SERVICE_USER];
const PAYERS = ['Aetna', 'Blue Cross Blue Shield', 'Cigna', 'Humana', 'UnitedHealthcare'];
// How often each word occurs among the seeded rows (cycled through by index; a case's priority and
// a task's assignee are cycled with another stride, so that every combination occurs).
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
// Confidences as written, two decimals: computed ones (0.7 + 0.2) would show 0.8999999999999999.
const OVERALL_CONFIDENCES = [0.7, 0.8, 0.9];
const CODES_CONFIDENCES = [0.6, 0.7, 0.8, 0.9];
const CASE_CODE_CONFIDENCES = [0.8, 0.85, 0.9];
const TASK_TITLES = [
  'Collect clinical notes',
  'Submit prior-auth request',
  'Call payer for status',
  'Upload imaging report',
  'Request peer-to-peer review',
];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The moment the demo data is written around: the seed time, rounded down to the whole hour (the
 * timestamps read as a clinic's would). Every created/updated/completed timestamp is at or before
 * it; only due dates lie after it.
 */
export function seedAnchor(now: Date): Date {
  return new Date(Math.floor(now.getTime() / HOUR) * HOUR);
}
/** A UUID derived from names (SHA-256, formatted with version 8 bits: custom, deterministic). */
export function stableUuid(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function seedEmail(role: string, slug: string): string {
  return `${role}@${slug}.com`;
}

/** Every seeded user's email, tenant by tenant. */
export function seedEmails(): string[] {
  return SEED_TENANTS.flatMap((tenant) => SEEDED_USERS.map(({ local }) => seedEmail(local, tenant.slug)));
}

/** The token subject and tenant of a seeded user, or undefined for any other email. */
export function seedIdentity(email: string): { authId: string; tenantId: string } | undefined {
  const match = /^([a-z]+)@([a-z-]+)\.com$/.exec(email.trim().toLowerCase());
  if (!match?.[1] || !match[2]) return undefined;
  const [, local, slug] = match;
  const tenant = SEED_TENANTS.find((t) => t.slug === slug);
  if (!tenant || !SEEDED_USERS.some((user) => user.local === local)) return undefined;
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
  const anchor = seedAnchor(options.now ?? new Date());
  let createdRows = 0;
  for (const tenant of SEED_TENANTS) {
    createdRows += await withTenant(
      prisma,
      stableUuid('tenant', tenant.slug),
      (db) => seedTenant(db, tenant, options.memberIdHashKey, anchor),
      { statementTimeoutMs: 60_000 },
    );
  }
  return { tenants: SEED_TENANTS.length, createdRows };
}

/** Between `from` and the anchor, `fraction` of the way: a later moment that is still in the past. */
function between(from: Date, anchor: Date, fraction: number): Date {
  return new Date(from.getTime() + Math.floor((anchor.getTime() - from.getTime()) * fraction));
}

async function seedTenant(
  db: TenantDb,
  tenant: (typeof SEED_TENANTS)[number],
  memberIdHashKey: string,
  anchor: Date,
): Promise<number> {
  const tenantId = stableUuid('tenant', tenant.slug);
  const id = (...parts: (string | number)[]) => stableUuid(tenant.slug, ...parts.map(String));
  const at = (daysAgo: number) => new Date(anchor.getTime() - daysAgo * DAY);
  let created = 0;

  const tenantCreatedAt = at(180);
  created += (
    await db.tenant.createMany({
      data: [{ id: tenantId, ...tenant, createdAt: tenantCreatedAt, updatedAt: tenantCreatedAt }],
      skipDuplicates: true,
    })
  ).count;

  // The staff's names as before the service user was added: `<Tenant> Admin`, `Jordan Staff`.
  const nameOf = ({ local, role }: (typeof SEEDED_USERS)[number]) =>
    local === role
      ? `${tenant.name} ${role[0]?.toUpperCase()}${role.slice(1)}`
      : role === 'service'
        ? `${tenant.name} Intake`
        : `${local[0]?.toUpperCase()}${local.slice(1)} Staff`;
  const people = SEEDED_USERS.map((user) => ({ ...user, name: nameOf(user) }));
  const users = people.map((p, i) => ({
    id: id('user', p.local),
    tenantId,
    email: seedEmail(p.local, tenant.slug),
    name: p.name,
    role: p.role,
    authId: `seed|${seedEmail(p.local, tenant.slug)}`,
    createdAt: at(90 - i),
    updatedAt: at(90 - i),
  }));
  created += (await db.user.createMany({ data: users, skipDuplicates: true })).count;
  const userId = (local: string) => id('user', local);
  // Slot 0 leaves a task unassigned; every seeded person, the admin included, has the others.
  const assigneeSlots = [null, ...PEOPLE.map((p) => userId(p.local))];

  const ingestions = Array.from({ length: 10 }, (_, i) => {
    const status: IngestionStatus = i === 9 ? 'failed' : i === 8 ? 'processing' : 'completed';
    const createdAt = at(60 - i * 5);
    return {
      id: id('ingestion', i),
      tenantId,
      sourceType: (i % 3 === 0 ? 'pdf' : 'email') satisfies IngestionSourceType,
      sourceMetadata:
        i % 3 === 0
          ? { filename: `referral-${i + 1}.pdf`, pages: 3 + (i % 4) }
          : { subject: `Referral #${i + 1}` },
      storagePath: `ingestions/${tenant.slug}/${i + 1}`,
      status,
      errorMessage: i === 9 ? 'Attachment could not be read' : null,
      createdAt,
      // Extraction took a few minutes; one is still running.
      updatedAt: status === 'processing' ? createdAt : new Date(createdAt.getTime() + (2 + i) * MINUTE),
    };
  });
  created += (await db.ingestion.createMany({ data: ingestions, skipDuplicates: true })).count;
  // The latest completed ingestion made before a case was created (one every 5 days from 60 days ago).
  const ingestionBefore = (daysAgo: number) => Math.min(7, Math.floor((60 - daysAgo) / 5));

  const cases = [];
  const codes = [];
  const tasks = [];
  const events = [];
  for (let i = 0; i < CASES_PER_TENANT; i++) {
    const caseId = id('case', i);
    const daysAgo = CASES_PER_TENANT - i;
    // One a day, the newest yesterday, at varied times of the day.
    const createdAt = new Date(at(daysAgo).getTime() + (i % 12) * HOUR + ((i * 17) % 60) * MINUTE);
    const payer = PAYERS[i % PAYERS.length] as string;
    const status = CASE_STATUS_MIX[i % CASE_STATUS_MIX.length] as CaseStatus;
    // Decided cases were decided a while after they came in; pending ones are as created.
    const updatedAt = status === 'pending' ? createdAt : between(createdAt, anchor, 0.25 + (i % 3) / 10);
    const creator = i % 2 === 0 ? userId('clinician') : userId('admin');
    cases.push({
      id: caseId,
      tenantId,
      ingestionId: i % 4 === 0 ? id('ingestion', ingestionBefore(daysAgo)) : null,
      createdBy: creator,
      memberIdHash: hashMemberId(memberIdHashKey, tenantId, `MBR${String(100000 + i * 7)}`),
      payer,
      status,
      // The stride of i / 5 pairs each status with every priority.
      priority: PRIORITY_MIX[
        (i * 3 + Math.floor(i / CASE_STATUS_MIX.length)) % PRIORITY_MIX.length
      ] as Priority,
      diagnosisCodes: [
        DIAGNOSES[i % DIAGNOSES.length] as string,
        ...(i % 3 === 0 ? [DIAGNOSES[(i + 3) % 8] as string] : []),
      ],
      confidenceJson: {
        overall: OVERALL_CONFIDENCES[i % OVERALL_CONFIDENCES.length],
        fields: { payer: 0.95, memberId: 0.9, codes: CODES_CONFIDENCES[i % CODES_CONFIDENCES.length] },
      },
      extractedData: { patientName: `Demo Patient ${i + 1}`, notes: 'Synthetic demo text, no real patient.' },
      metadataJson: i % 5 === 0 ? { source: 'fax', pages: 2 } : undefined,
      createdAt,
      updatedAt,
    });
    for (let c = 0; c < 1 + (i % 3); c++) {
      const proc = PROCEDURES[(i + c * 3) % PROCEDURES.length] as (typeof PROCEDURES)[number];
      codes.push({
        id: id('code', i, c),
        caseId,
        tenantId,
        ...proc,
        confidence: CASE_CODE_CONFIDENCES[c],
        createdAt,
      });
    }
    for (let k = 0; k < 1 + (i % 3); k++) {
      tasks.push(seedTask({ n: tasks.length, i, k, caseId, payer, caseCreatedAt: createdAt }));
    }
    events.push({
      id: id('event', i),
      tenantId,
      userId: creator,
      eventType: 'case.created',
      entityType: 'case',
      entityId: caseId,
      metadata: { payer },
      action: 'create',
      caseId,
      createdAt,
    });
    if (status !== 'pending') {
      // The decision's event, as transitionCaseStatus writes it, at the case's last update.
      events.push({
        id: id('event', i, 'status'),
        tenantId,
        userId: userId('clinician'),
        eventType: 'case.status_changed',
        entityType: 'case',
        entityId: caseId,
        metadata: { from: 'PENDING', to: status.toUpperCase() },
        action: 'update',
        caseId,
        createdAt: updatedAt,
      });
    }
  }
  created += (await db.case.createMany({ data: cases, skipDuplicates: true })).count;
  created += (await db.caseCode.createMany({ data: codes, skipDuplicates: true })).count;
  created += (await db.task.createMany({ data: tasks, skipDuplicates: true })).count;
  // Only the events not there yet: the change feed's trigger numbers every row offered, also one
  // the insert then skips (migration 20261205000000), which would leave a gap in the cursors.
  const seeded = new Set(
    (await db.event.findMany({ where: { id: { in: events.map((e) => e.id) } }, select: { id: true } })).map(
      (e) => e.id,
    ),
  );
  const newEvents = events.filter((event) => !seeded.has(event.id));
  created += (await db.event.createMany({ data: newEvents, skipDuplicates: true })).count;

  /**
   * Task `n` (0…89, in case order) of case `i`. Its status cycles by 5 and its assignee slot by 6,
   * so each 30 tasks pair every status with every slot; the three blocks of 30 are overdue, due
   * within the day, and due later: every seeded user has open tasks of each kind.
   */
  function seedTask(task: {
    n: number;
    i: number;
    k: number;
    caseId: string;
    payer: string;
    caseCreatedAt: Date;
  }) {
    const { n, i, k } = task;
    const status = TASK_STATUS_MIX[n % TASK_STATUS_MIX.length] as TaskStatus;
    const block = Math.floor(n / 30);
    const dueDate =
      block === 0
        ? new Date(anchor.getTime() - (1 + (n % 6)) * DAY) // overdue by 1 to 6 days
        : block === 1
          ? new Date(anchor.getTime() + (2 + (n % 18)) * HOUR) // due later today or tonight
          : n % 4 === 3
            ? null
            : new Date(anchor.getTime() + (1 + (n % 13)) * DAY);
    const createdAt = new Date(task.caseCreatedAt.getTime() + (k + 1) * 10 * MINUTE);
    const completedAt = status === 'completed' ? between(createdAt, anchor, 0.5) : null;
    const updatedAt =
      completedAt ??
      (status === 'pending' ? createdAt : between(createdAt, anchor, status === 'cancelled' ? 0.3 : 0.6));
    return {
      id: id('task', i, k),
      caseId: task.caseId,
      tenantId,
      assignedTo: assigneeSlots[n % assigneeSlots.length] ?? null,
      title: TASK_TITLES[(i + k) % TASK_TITLES.length] as string,
      description: k === 0 ? `Work item for ${task.payer}` : null,
      status,
      priority: PRIORITY_MIX[(i + k) % PRIORITY_MIX.length] as Priority,
      dueDate,
      completedAt,
      createdAt,
      updatedAt,
    };
  }

  const rulesets = PAYERS.flatMap((payer, p) =>
    PROCEDURES.map((proc, r) => {
      const isActive = (p + r) % 7 !== 0;
      const createdAt = at(120 - p * 8 - r);
      return {
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
        isActive,
        createdAt,
        // Deactivated some weeks after it was written.
        updatedAt: isActive ? createdAt : between(createdAt, anchor, 0.5),
      };
    }),
  );
  created += (await db.ruleset.createMany({ data: rulesets, skipDuplicates: true })).count;
  return created;
}
