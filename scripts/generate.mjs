// `npm install` runs this: generates the Prisma client and the Pothos types into src/generated/.
// `prisma generate` never runs Prisma's schema engine, but insists that the binary exists and
// downloads it when missing, which fails without internet. Where no engine is installed, point
// PRISMA_SCHEMA_ENGINE_BINARY at any existing file (this Node binary) so that generate runs
// offline; where the real engine exists, or the variable is set, leave everything as it is.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const enginesDir = path.resolve('node_modules/@prisma/engines');
const hasEngine =
  existsSync(enginesDir) && readdirSync(enginesDir).some((f) => f.startsWith('schema-engine'));
// Generators are found on PATH (prisma-pothos-types), as under `npm run`, also when run directly.
const env = {
  ...process.env,
  PATH: `${path.resolve('node_modules/.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
};
if (!env.PRISMA_SCHEMA_ENGINE_BINARY && !hasEngine) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;

const result = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], {
  stdio: 'inherit',
  env,
});
process.exit(result.status ?? 1);
