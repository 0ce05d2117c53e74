import DataLoader from 'dataloader';
import { perRequest } from '../loaders.js';

/**
 * Records one `view` audit row per case whose extracted data a request reads: one prepared
 * statement for all the cases of the request (the compiled queries' only other statement, so it
 * stays as cheap as theirs).
 */
export const extractedDataViews = perRequest(
  ({ sql, actor }) =>
    new DataLoader<string, true>(async (caseIds) => {
      await sql(
        `INSERT INTO audit_logs (id, tenant_id, user_id, action, entity_type, entity_id, ip_address, user_agent)
         SELECT gen_random_uuid(), $1::uuid, $2::uuid, 'view', 'case', entity_id, $3, $4
         FROM unnest($5::uuid[]) AS entity_id`,
        [actor.tenantId, actor.userId, actor.ipAddress, actor.userAgent, caseIds],
        { prepare: true },
      );
      return caseIds.map(() => true as const);
    }),
);
