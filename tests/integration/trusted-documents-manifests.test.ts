import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getOperationAST, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { schema } from '../../src/schema/index.js';
import { loadTrustedDocuments, TrustedDocumentsError } from '../../src/trusted-documents.js';
import * as generated from '../generated/graphql/graphql.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { runServerToExit } from '../helpers/server-process.js';

// The manifests themselves: what `npm run codegen` writes covers docs/examples (and runs by id),
// and a manifest that cannot be used stops the start, naming its file and operation.

const GENERATED_MANIFEST = 'tests/generated/graphql/persisted-documents.json';
const EXAMPLES_DIR = path.join(import.meta.dirname, '../../docs/examples');
const ADMIN = 'admin@test-clinic.com';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'trusted-manifests-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A manifest file of `documents`, keyed by their sha256 as codegen keys them. */
function manifestOf(name: string, documents: string[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(Object.fromEntries(documents.map((text) => [sha256(text), text]))));
  return file;
}

describe('the manifest of `npm run codegen`', () => {
  const manifest = JSON.parse(readFileSync(GENERATED_MANIFEST, 'utf8')) as Record<string, string>;
  const examples = readdirSync(EXAMPLES_DIR)
    .filter((name) => name.endsWith('.graphql'))
    .map((name) => name.replace(/\.graphql$/, ''));
  /** Each example's generated document's id (`__meta__.hash`), by operation name. */
  const idOf = (name: string) => {
    const document = (generated as Record<string, unknown>)[`${name}Document`] as
      | { __meta__?: { hash?: string } }
      | undefined;
    return document?.__meta__?.hash ?? `no generated ${name}Document`;
  };

  test('holds every example of docs/examples, under its generated id, and nothing else', () => {
    expect(examples.length).toBeGreaterThan(20);
    for (const name of examples) {
      const text = manifest[idOf(name)];
      expect(text, `${name}: run npm run codegen`).toBeDefined();
      expect(getOperationAST(parse(text ?? ''))?.name?.value).toBe(name);
      expect(sha256(text ?? '')).toBe(idOf(name));
    }
    expect(Object.keys(manifest).sort()).toEqual(examples.map(idOf).sort());
  });

  describe('every example runs by id, with only trusted documents', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({
        env: { TRUSTED_DOCUMENTS: GENERATED_MANIFEST, TRUSTED_DOCUMENTS_ONLY: 'true' },
      });
    });
    afterAll(() => app?.close());

    const run = async (name: string, variables: unknown) => {
      const response = await app.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await app.token(ADMIN)}` },
        body: JSON.stringify({ documentId: `sha256:${idOf(name)}`, variables }),
      });
      const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
      expect(body.errors, `${name}: ${JSON.stringify(body.errors)}`).toBeUndefined();
      expect(response.status).toBe(200);
      return body.data as Record<string, unknown>;
    };

    test('queries first, then mutations, deletions last, with their *.variables.json', async () => {
      // The examples' placeholders ("<a Case id, from CaseList>"), filled from the examples' own results.
      const me = (await run('Me', {})).me as { id: string };
      const cases = (await run('CaseList', { first: 1 })).cases as { edges: { node: { id: string } }[] };
      const caseId = cases.edges[0]?.node.id;
      const detail = (await run('CaseDetail', { id: caseId })).case as {
        codes: { id: string }[];
        tasks: { edges: { node: { id: string } }[] };
      };
      const created = (await run('CreateRuleset', variablesOf('CreateRuleset', {}))).createRuleset as {
        ruleset: { id: string };
      };
      const ingestion = (await run('CreateIngestion', variablesOf('CreateIngestion', {})))
        .createIngestion as { ingestion: { id: string } };
      const user = (await run('CreateUser', variablesOf('CreateUser', {}))).createUser as {
        user: { id: string };
      };
      const placeholders: Record<string, string | undefined> = {
        '<a Case id, from CaseList>': caseId,
        '<a Case or Task id, from CaseList>': caseId,
        '<a CaseCode id, from CaseDetail>': detail.codes[0]?.id,
        '<a Ruleset id, from CreateRuleset>': created.ruleset.id,
        '<a Task id, from MyTasks or CaseDetail>': detail.tasks.edges[0]?.node.id,
        '<an Ingestion id, from CreateIngestion>': ingestion.ingestion.id,
        '<a User id, from Me>': me.id,
        '<a User id, from CreateUser>': user.user.id,
        '<your User id, from Me>': me.id,
      };
      const kind = (name: string) => getOperationAST(parse(manifest[idOf(name)] ?? ''))?.operation;
      const order = (name: string) =>
        kind(name) === 'query' ? 0 : name.startsWith('Delete') || name.startsWith('Remove') ? 2 : 1;
      const runnable = examples
        // WorkQueueChanges, the subscription, runs by id over SSE and graphql-ws in trusted-documents.test.ts.
        .filter((name) => kind(name) !== 'subscription')
        .sort((a, b) => order(a) - order(b));
      expect(runnable).toHaveLength(examples.length - 1);
      for (const name of runnable) {
        const data = await run(name, variablesOf(name, placeholders));
        for (const [field, value] of Object.entries(data)) expect(value, `${name}.${field}`).not.toBeNull();
      }
    });
  });
});

/** The example's variables (docs/examples/<name>.variables.json), its placeholders filled. */
function variablesOf(name: string, placeholders: Record<string, string | undefined>): unknown {
  let text: string;
  try {
    text = readFileSync(path.join(EXAMPLES_DIR, `${name}.variables.json`), 'utf8');
  } catch {
    return {};
  }
  return JSON.parse(text, (_key, value: unknown) => {
    if (typeof value !== 'string' || !/^<.*>$/.test(value)) return value;
    const filled = placeholders[value];
    if (filled === undefined) throw new Error(`${name}: no value for the placeholder ${value}: add one`);
    return filled;
  });
}

describe('a manifest that cannot be used stops the start', () => {
  const load = (env: Record<string, string>) => loadTrustedDocuments(loadConfig(env), schema);
  const problems = (env: Record<string, string>) => {
    try {
      load(env);
    } catch (error) {
      if (error instanceof TrustedDocumentsError) return error.message;
      throw error;
    }
    throw new Error('loaded');
  };

  test('the server process: one line on stderr naming the file and the operation, before any database work', async () => {
    const stale = manifestOf('stale.json', [
      'query StillFine { me { id } }',
      'query RenamedField { me { id fullName } }',
    ]);
    // An address where no database listens: the start must fail before it would try one.
    const result = await runServerToExit('postgresql://nobody@127.0.0.1:1/none', {
      TRUSTED_DOCUMENTS: `${GENERATED_MANIFEST},${stale}`,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toEqual([
      `Trusted documents (TRUSTED_DOCUMENTS) cannot be used: ${stale}: operation "RenamedField" (sha256:${sha256('query RenamedField { me { id fullName } }').slice(0, 12)}…) no longer validates against the schema: Cannot query field "fullName" on type "User". Did you mean "name"?`,
    ]);
  });

  test.each([
    ['a missing file', () => path.join(dir, 'absent.json'), /absent\.json: cannot be read \(no such file\)$/],
    ['a file that is not JSON', () => writeTo('broken.json', '{ "abc": '), /broken\.json: is not JSON$/],
    [
      'JSON that is not a manifest',
      () => writeTo('list.json', '["query { me { id } }"]'),
      /list\.json: is not a manifest: expected a JSON object of sha256 ids to document texts/,
    ],
    ['an empty manifest', () => writeTo('empty.json', '{}'), /empty\.json: holds no documents$/],
    [
      'an id that is not its text’s sha256 (an edited document)',
      () => writeTo('edited.json', JSON.stringify({ [sha256('{ me { id } }')]: '{ me { id email } }' })),
      /edited\.json: document sha256:[0-9a-f]{12}…: its id is not the sha256 of its text/,
    ],
    [
      'a document over the depth limit',
      () =>
        manifestOf('deep.json', ['query Deep { me { assignedTasks { edges { node { case { id } } } } } }']),
      /deep\.json: operation "Deep" \(sha256:[0-9a-f]{12}…\): depth 6, the limit is 3 \(MAX_QUERY_DEPTH\)$/,
    ],
    [
      'introspection when GRAPHQL_INTROSPECTION is off',
      () => manifestOf('introspection.json', ['query Types { __schema { types { name } } }']),
      /introspection\.json: operation "Types" .* no longer validates against the schema: GraphQL introspection has been disabled/,
    ],
  ])('%s', (_kind, file, message) => {
    expect(
      problems({ TRUSTED_DOCUMENTS: file(), MAX_QUERY_DEPTH: '3', GRAPHQL_INTROSPECTION: 'false' }),
    ).toMatch(message);
  });

  test('every problem of every manifest at once; the same document in two manifests counts once', () => {
    const good = manifestOf('good.json', ['query A { me { id } }', 'query B { tenant { id } }']);
    const again = manifestOf('again.json', ['query A { me { id } }']);
    expect(load({ TRUSTED_DOCUMENTS: `${good},${again}` })?.size).toBe(2);
    const message = problems({
      TRUSTED_DOCUMENTS: `${good},${path.join(dir, 'absent.json')},${manifestOf('bad.json', ['query C { nope }'])}`,
    });
    expect(message).toMatch(/absent\.json: cannot be read .*; .*bad\.json: operation "C" .*"nope"/);
    expect(load({})).toBeUndefined();
  });
});

function writeTo(name: string, content: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}
