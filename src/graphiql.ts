import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * docs/examples/ beside src/ and beside dist/ alike (src/graphiql.ts and dist/graphiql.js are both
 * one level below the repo root), so `tsx` and `node dist/` find the same files.
 */
const EXAMPLES_DIR = resolve(import.meta.dirname, '../docs/examples');

const HEADER = [
  '# Example operations from docs/examples/, the ones the typed test client is generated from.',
  '# Pick one with the run button; put a token in the Authorization header (npm run token).',
];

/**
 * GraphiQL's default document: every `*.graphql` file of docs/examples/, in file-name order, under
 * a short comment header. Read once, when called (at server start). Returns '' when the directory
 * is missing or holds no examples (e.g. an image built without docs/), so GraphiQL opens empty.
 */
export function graphiqlDefaultQuery(dir: string = EXAMPLES_DIR): string {
  let files: string[];
  try {
    files = readdirSync(dir).filter((name) => name.endsWith('.graphql'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return '';
    throw error;
  }
  if (files.length === 0) return '';
  const operations = files.sort().map((name) => readFileSync(join(dir, name), 'utf8').trim());
  return `${[HEADER.join('\n'), ...operations].join('\n\n')}\n`;
}
