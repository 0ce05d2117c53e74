import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kind, parse } from 'graphql';
import type { GraphiQLOptions } from 'graphql-yoga';

/**
 * docs/examples/ beside src/ and beside dist/ alike (src/graphiql.ts and dist/graphiql.js are both
 * one level below the repo root), so `tsx` and `node dist/` find the same files.
 */
const EXAMPLES_DIR = resolve(import.meta.dirname, '../docs/examples');

/** The first tab: a query that runs as it is, on any data, seeded or not. */
const FIRST_EXAMPLE = 'CaseList';
/** The order of the groups of tabs after the first (see exampleTabs). */
const KIND_RANK = { query: 1, subscription: 2, mutation: 3 } as const;

export interface ExampleTab {
  /** The file name without `.graphql`, which is also its operation's name. */
  name: string;
  kind: 'query' | 'mutation' | 'subscription';
  query: string;
  /** `<name>.variables.json` beside it, when there is one: JSON text, as GraphiQL shows it. */
  variables?: string;
}

/**
 * One tab per `*.graphql` file of docs/examples/: FIRST_EXAMPLE, then the other queries, then the
 * subscriptions (a query shows the data as it is, a subscription beside it what changes; run a
 * mutation in another tab to see one), then the mutations, each group in file-name order. Read once, when called (at server start). Empty when
 * the directory is missing (e.g. an image built without docs/), so GraphiQL opens with its own.
 */
export function exampleTabs(dir: string = EXAMPLES_DIR): ExampleTab[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((name) => name.endsWith('.graphql'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
  const tabs = files.map((file): ExampleTab => {
    const name = file.slice(0, -'.graphql'.length);
    const query = `${readFileSync(join(dir, file), 'utf8').trim()}\n`;
    const operation = parse(query).definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    return {
      name,
      kind: operation?.operation ?? 'query',
      query,
      variables: readOptional(join(dir, `${name}.variables.json`))?.trim(),
    };
  });
  const rank = (tab: ExampleTab) => (tab.name === FIRST_EXAMPLE ? 0 : KIND_RANK[tab.kind]);
  return tabs.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Where the token goes, when the server has none to give. */
const TOKEN_PLACEHOLDER = 'Bearer <token printed by npm start, or npm run token>';

/**
 * GraphiQL's options: the examples as tabs and an Authorization header in each, with `token`
 * when given (a development server's, for a browser on this machine: src/server.ts decides),
 * else a placeholder. Headers are never written to the browser's storage: a token stays in the
 * page it came with, and the next start's page brings a fresh one.
 */
export function graphiqlOptions(tabs: readonly ExampleTab[], token: string | undefined): GraphiQLOptions {
  const headers = JSON.stringify({ Authorization: token ? `Bearer ${token}` : TOKEN_PLACEHOLDER }, null, 2);
  return {
    title: 'Prior-auth API',
    defaultTabs: tabs.map((tab) => ({ query: tab.query, variables: tab.variables ?? null, headers })),
    // What GraphiQL opens with when there are no tabs, and a new tab's headers.
    defaultQuery: tabs[0]?.query,
    headers,
    defaultHeaders: headers,
    shouldPersistHeaders: false,
  };
}
