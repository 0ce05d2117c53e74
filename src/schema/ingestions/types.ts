import { builder } from '../../builder.js';
import { relatedConnection } from '../../compiled/connections.js';
import { column, enumOf, jsonColumn, timestamp } from '../../compiled/fields.js';
import type {
  IngestionSourceType as SourceType,
  IngestionStatus as Status,
} from '../../domain/vocabulary.js';
import { CaseConnection } from '../cases/types.js';
import { IngestionSourceType, IngestionStatus } from '../common/enums.js';
import { type PageArgs, pageWindow, relatedMaxSize } from '../common/pagination.js';

/** Ingestion.cases: its page arguments checked, newest first. */
function ingestionCasesQuery(args: PageArgs) {
  pageWindow(args);
  return { orderBy: [{ createdAt: 'desc' as const }, { id: 'desc' as const }] };
}

export const Ingestion = builder.prismaNode('Ingestion', {
  description: 'An e-mail or PDF that cases were extracted from',
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.viewer.tenantId }),
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID', extensions: { sql: column('id') } }),
    sourceType: t.field({
      type: IngestionSourceType,
      resolve: (i) => i.sourceType as SourceType,
      extensions: { sql: enumOf('sourceType') },
    }),
    sourceMetadata: t.expose('sourceMetadata', {
      type: 'JSON',
      extensions: { sql: jsonColumn('sourceMetadata') },
    }),
    storagePath: t.exposeString('storagePath', {
      nullable: true,
      extensions: { sql: column('storagePath') },
    }),
    status: t.field({
      type: IngestionStatus,
      resolve: (i) => i.status as Status,
      extensions: { sql: enumOf('status') },
    }),
    errorMessage: t.exposeString('errorMessage', {
      nullable: true,
      extensions: { sql: column('errorMessage') },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', extensions: { sql: timestamp('createdAt') } }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', extensions: { sql: timestamp('updatedAt') } }),
    cases: t.relatedConnection(
      'cases',
      {
        description: 'Cases extracted from this ingestion, newest first',
        cursor: 'id',
        totalCount: true,
        maxSize: relatedMaxSize,
        query: ingestionCasesQuery,
        extensions: { sql: relatedConnection('cases', ingestionCasesQuery) },
      },
      CaseConnection,
    ),
  }),
});

export const IngestionConnection = builder.connectionObject(
  { type: Ingestion, name: 'IngestionConnection' },
  { name: 'IngestionEdge' },
);
