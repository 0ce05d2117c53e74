import { can } from '../../auth/permissions.js';
import { builder } from '../../builder.js';
import { relatedConnection } from '../../compiled/connections.js';
import { rowField, valueField } from '../../compiled/field-sql.js';
import {
  column,
  columnSql,
  enumOf,
  jsonColumn,
  jsonObject,
  timestamp,
  toMany,
  toOne,
} from '../../compiled/fields.js';
import { SENTINEL } from '../../compiled/sql.js';
import type { CodeType as Code, Priority as Level, CaseStatus as Status } from '../../domain/vocabulary.js';
import { extractedDataViews } from '../../services/audit.js';
import { CaseStatus, CodeType, Priority } from '../common/enums.js';
import { relatedMaxSize } from '../common/pagination.js';
import { nestedTaskQuery, TaskFilter, TaskOrderBy } from '../tasks/inputs.js';
import { TaskConnection } from '../tasks/types.js';

interface ConfidenceShape {
  overall: number;
  fields: Record<string, number>;
}

// Each field's SQL (over the jsonb `confidence_json`, `v`) is toConfidence's: overall when a
// number (else 0; beyond a double it would be a resolver error: fall back), fields unless
// null/undefined (else {}).
const Confidence = builder.objectRef<ConfidenceShape>('Confidence').implement({
  description: 'How sure the extraction was, overall and per field (0..1)',
  fields: (t) => ({
    overall: t.exposeFloat('overall', {
      extensions: {
        sql: valueField(
          (v) =>
            `CASE WHEN jsonb_typeof(${v}->'overall') = 'number' THEN CASE WHEN abs((${v}->>'overall')::numeric) < 1e308 THEN (${v}->'overall')::json ELSE ${SENTINEL} END ELSE '0'::json END`,
        ),
      },
    }),
    fields: t.expose('fields', {
      type: 'JSON',
      description: '{ [fieldName]: number 0..1 }',
      extensions: { sql: valueField((v) => `coalesce(nullif(${v}->'fields', 'null'::jsonb), '{}'::jsonb)`) },
    }),
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
    uuid: t.expose('id', { type: 'UUID', extensions: { sql: column('id') } }),
    codeType: t.field({
      type: CodeType,
      resolve: (code) => code.codeType as Code,
      extensions: { sql: enumOf('codeType') },
    }),
    code: t.exposeString('code', { extensions: { sql: column('code') } }),
    description: t.exposeString('description', {
      nullable: true,
      extensions: { sql: column('description') },
    }),
    confidence: t.exposeFloat('confidence', { nullable: true, extensions: { sql: column('confidence') } }),
    createdAt: t.expose('createdAt', { type: 'DateTime', extensions: { sql: timestamp('createdAt') } }),
  }),
});

/** Case.codes, oldest first. */
const CODE_ORDER = [{ createdAt: 'asc' }, { id: 'asc' }] as const;

export const Case = builder.prismaNode('Case', {
  description: 'A prior-authorization case: one member, one payer, the procedures asked for',
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.viewer.tenantId }),
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID', extensions: { sql: column('id') } }),
    memberIdHash: t.exposeString('memberIdHash', { extensions: { sql: column('memberIdHash') } }),
    payer: t.exposeString('payer', { extensions: { sql: column('payer') } }),
    status: t.field({
      type: CaseStatus,
      resolve: (c) => c.status as Status,
      extensions: { sql: enumOf('status') },
    }),
    priority: t.field({
      type: Priority,
      resolve: (c) => c.priority as Level,
      extensions: { sql: enumOf('priority') },
    }),
    // A list column written by another tool may be NULL; the API promises a list.
    diagnosisCodes: t.stringList({
      resolve: (c) => c.diagnosisCodes ?? [],
      extensions: {
        // NULL → []; a NULL element or a nested array would be a resolver error: fall back.
        sql: rowField((cx) => {
          const codes = columnSql(cx, 'diagnosisCodes');
          return () =>
            `CASE WHEN ${codes} IS NULL THEN '[]'::json WHEN array_position(${codes}, NULL) IS NOT NULL OR array_ndims(${codes}) > 1 THEN ${SENTINEL} ELSE to_json(${codes}) END`;
        }),
      },
    }),
    confidence: t.field({
      type: Confidence,
      resolve: (c) => toConfidence(c.confidenceJson),
      extensions: { sql: jsonObject('confidenceJson') },
    }),
    extractedData: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'Extracted clinical text: null unless the viewer is CLINICIAN, ADMIN or SERVICE; every read is audited',
      resolve: async (c, _args, ctx) => {
        // Not an error for the others: the field is plainly null (API.md, Roles).
        if (!can(ctx.viewer.role, 'case:readExtractedData')) return null;
        await extractedDataViews(ctx).load(c.id);
        return c.extractedData;
      },
      extensions: {
        // Plainly null for those who may not read it; read and audited (one `view` row) otherwise.
        sql: rowField((cx) => {
          if (!can(cx.b.role, 'case:readExtractedData')) return () => 'NULL::json';
          cx.object.audit = true;
          cx.b.audit = true;
          const data = columnSql(cx, 'extractedData');
          return () => data;
        }),
      },
    }),
    metadata: t.expose('metadataJson', {
      type: 'JSON',
      nullable: true,
      extensions: { sql: jsonColumn('metadataJson') },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', extensions: { sql: timestamp('createdAt') } }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', extensions: { sql: timestamp('updatedAt') } }),
    createdBy: t.relation('creator', { extensions: { sql: toOne('creator') } }),
    ingestion: t.relation('ingestion', { nullable: true, extensions: { sql: toOne('ingestion') } }),
    codes: t.relation('codes', {
      query: { orderBy: [...CODE_ORDER] },
      extensions: { sql: toMany('codes', CODE_ORDER) },
    }),
    tasks: t.relatedConnection(
      'tasks',
      {
        description: "The case's tasks, newest first unless ordered otherwise",
        cursor: 'id',
        totalCount: true,
        maxSize: relatedMaxSize,
        args: { filter: t.arg({ type: TaskFilter }), orderBy: t.arg({ type: TaskOrderBy }) },
        query: (args) => nestedTaskQuery(args),
        extensions: { sql: relatedConnection('tasks', nestedTaskQuery) },
      },
      TaskConnection,
    ),
  }),
});

export const CaseConnection = builder.connectionObject(
  { type: Case, name: 'CaseConnection' },
  { name: 'CaseEdge' },
);
