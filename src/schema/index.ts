import { builder } from '../builder.js';
import './common/scalars.js';
import './common/enums.js';
import './common/pagination.js';
import './common/errors.js';
import './common/node-queries.js';
import './tenants/types.js';
import './users/types.js';
import './ingestions/types.js';
import './cases/types.js';
import './cases/queries.js';
import './cases/mutations.js';
import './tasks/types.js';
import './tasks/queries.js';
import './tasks/mutations.js';
import './rulesets/types.js';
import './rulesets/queries.js';
import './rulesets/mutations.js';
import './users/queries.js';
import './users/mutations.js';
import './ingestions/queries.js';
import './ingestions/mutations.js';
import './events/types.js';
import './events/queries.js';
import './audit-logs/types.js';
import './audit-logs/queries.js';
import './stats/types.js';
import './stats/queries.js';
import './changes/subscriptions.js';

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

/** The executable schema. Enum values keep their declared order (stats list them in it). */
export const schema = builder.toSchema({ sortSchema: false });
