import { builder } from '../../builder.js';
import { CaseConnection } from '../cases/types.js';
import { IngestionSourceType, IngestionStatus } from '../common/enums.js';
import { pageWindow, relatedMaxSize } from '../common/pagination.js';

type SourceType = 'email' | 'pdf';
type Status = 'pending' | 'processing' | 'completed' | 'failed';

export const Ingestion = builder.prismaNode('Ingestion', {
  description: 'An e-mail or PDF that cases were extracted from',
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.viewer.tenantId }),
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    sourceType: t.field({ type: IngestionSourceType, resolve: (i) => i.sourceType as SourceType }),
    sourceMetadata: t.expose('sourceMetadata', { type: 'JSON' }),
    storagePath: t.exposeString('storagePath', { nullable: true }),
    status: t.field({ type: IngestionStatus, resolve: (i) => i.status as Status }),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    cases: t.relatedConnection(
      'cases',
      {
        description: 'Cases extracted from this ingestion, newest first',
        cursor: 'id',
        totalCount: true,
        maxSize: relatedMaxSize,
        query: (args) => {
          pageWindow(args);
          return { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] };
        },
      },
      CaseConnection,
    ),
  }),
});

export const IngestionConnection = builder.connectionObject(
  { type: Ingestion, name: 'IngestionConnection' },
  { name: 'IngestionEdge' },
);
