import { can } from '../../auth/permissions.js';
import { builder } from '../../builder.js';
import { CaseStatus, CodeType, Priority } from '../common/enums.js';
import { relatedMaxSize } from '../common/pagination.js';
import { nestedTaskQuery, TaskFilter, TaskOrderBy } from '../tasks/inputs.js';
import { TaskConnection } from '../tasks/types.js';

type Status = 'pending' | 'approved' | 'denied' | 'more_info_needed';
type Level = 'low' | 'normal' | 'high' | 'urgent';

interface ConfidenceShape {
  overall: number;
  fields: Record<string, number>;
}

const Confidence = builder.objectRef<ConfidenceShape>('Confidence').implement({
  description: 'How sure the extraction was, overall and per field (0..1)',
  fields: (t) => ({
    overall: t.exposeFloat('overall'),
    fields: t.expose('fields', { type: 'JSON', description: '{ [fieldName]: number 0..1 }' }),
  }),
});

/** `confidence_json` as written by the extractor or the API: `{ overall, fields }`. */
function toConfidence(json: unknown): ConfidenceShape {
  const value = (json ?? {}) as Partial<ConfidenceShape>;
  return { overall: typeof value.overall === 'number' ? value.overall : 0, fields: value.fields ?? {} };
}

export const CaseCode = builder.prismaNode('CaseCode', {
  description: 'A CPT or HCPCS procedure code on a case',
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.viewer.tenantId }),
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    codeType: t.field({ type: CodeType, resolve: (code) => code.codeType as 'CPT' | 'HCPCS' }),
    code: t.exposeString('code'),
    description: t.exposeString('description', { nullable: true }),
    confidence: t.exposeFloat('confidence', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const Case = builder.prismaNode('Case', {
  description: 'A prior-authorization case: one member, one payer, the procedures asked for',
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.viewer.tenantId }),
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    memberIdHash: t.exposeString('memberIdHash'),
    payer: t.exposeString('payer'),
    status: t.field({ type: CaseStatus, resolve: (c) => c.status as Status }),
    priority: t.field({ type: Priority, resolve: (c) => c.priority as Level }),
    // A list column written by another tool may be NULL; the API promises a list.
    diagnosisCodes: t.stringList({ resolve: (c) => c.diagnosisCodes ?? [] }),
    confidence: t.field({ type: Confidence, resolve: (c) => toConfidence(c.confidenceJson) }),
    extractedData: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'Extracted clinical text: null unless the viewer is CLINICIAN or ADMIN; every read is audited',
      resolve: async (c, _args, ctx) => {
        // Not an error for the others: the field is plainly null (API.md, Roles).
        if (!can(ctx.viewer.role, 'case:readExtractedData')) return null;
        await ctx.loaders.extractedDataView.load(c.id);
        return c.extractedData;
      },
    }),
    metadata: t.expose('metadataJson', { type: 'JSON', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    createdBy: t.relation('creator'),
    ingestion: t.relation('ingestion', { nullable: true }),
    codes: t.relation('codes', { query: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] } }),
    tasks: t.relatedConnection(
      'tasks',
      {
        description: "The case's tasks, newest first unless ordered otherwise",
        cursor: 'id',
        totalCount: true,
        maxSize: relatedMaxSize,
        args: { filter: t.arg({ type: TaskFilter }), orderBy: t.arg({ type: TaskOrderBy }) },
        query: (args) => nestedTaskQuery(args),
      },
      TaskConnection,
    ),
  }),
});

export const CaseConnection = builder.connectionObject(
  { type: Case, name: 'CaseConnection' },
  { name: 'CaseEdge' },
);
