// npm run schema:print: writes schema.graphql, the committed and reviewed contract, from the code,
// sorted so that a diff shows only real changes.
import { writeFileSync } from 'node:fs';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from '../src/schema/index.js';

writeFileSync(
  new URL('../schema.graphql', import.meta.url),
  `${printSchema(lexicographicSortSchema(schema))}\n`,
);
