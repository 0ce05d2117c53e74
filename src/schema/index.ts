import { builder } from '../builder.js';
import './common/scalars.js';
import './common/enums.js';
import './common/pagination.js';
import './common/errors.js';
import './tenants/types.js';
import './users/types.js';
import './ingestions/types.js';
import './cases/types.js';
import './cases/queries.js';
import './tasks/types.js';
import './tasks/queries.js';
import './tasks/mutations.js';
import './rulesets/types.js';
import './rulesets/queries.js';
import './rulesets/mutations.js';

builder.queryType({});
builder.mutationType({});

/** The executable schema. Enum values keep their declared order (stats list them in it). */
export const schema = builder.toSchema();
