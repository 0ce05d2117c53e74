import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { listenLocally, startTestApp, type TestApp } from '../helpers/app.js';

// GraphiQL as a new user meets it, in a real headless Chromium (Debian's `chromium`, which
// .ci/run installs) with no network but this server: the page, its script and its editor
// workers all come from /graphql/assets; the schema loads with the token the page holds;
// the first tab runs as it is; the subscription tab streams the changes of mutations sent
// meanwhile.

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));
if (!CHROMIUM) {
  console.warn('graphiql-browser.test.ts skipped: no Chromium (apt-get install chromium) to run GraphiQL in');
}

const ADMIN = 'admin@test-clinic.com';

let app: TestApp;
let origin: string;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!CHROMIUM) return;
  app = await startTestApp({ graphiqlSignedInAs: ADMIN });
  origin = await listenLocally(app);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Offline: every host name but the server's address resolves to nothing.
    args: ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
});
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => app?.http.close(resolve));
  await app?.close();
});

test.skipIf(!CHROMIUM)(
  'GraphiQL opens offline, signed in, with its schema, and runs its first tab',
  async () => {
    if (!browser) throw new Error('no browser');
    const page = await browser.newPage();
    const elsewhere: string[] = [];
    const failed: string[] = [];
    const statuses: number[] = [];
    // Anything not for the server is recorded and refused, so none can leave this machine.
    await page.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.origin === origin) return route.continue();
      elsewhere.push(url.href);
      return route.abort();
    });
    page.on('requestfailed', (request) => {
      // A reload cancels what the page it replaces was still loading (its editor workers).
      if (request.failure()?.errorText !== 'net::ERR_ABORTED') failed.push(request.url());
    });
    page.on('response', (response) => {
      if (response.url() === `${origin}/graphql` && response.request().method() === 'POST')
        statuses.push(response.status());
    });

    await page.goto(`${origin}/graphql`);
    await page.locator('.graphiql-execute-button').waitFor({ timeout: 60_000 });
    await expect.poll(() => page.locator('.graphiql-tab').first().textContent()).toContain('CaseList');
    // The schema, introspected on open with the page's token: the docs show the root types.
    await page.getByRole('button', { name: /documentation explorer/i }).click();
    await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).first().waitFor();
    expect(await page.locator('.graphiql-doc-explorer').textContent()).not.toContain('Error fetching schema');

    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.result-window');
    await expect.poll(() => result.textContent(), { timeout: 30_000 }).toContain('totalCount');
    // Monaco renders spaces as no-break spaces, and wraps long lines.
    const shown = ((await result.textContent()) ?? '').replace(/\s+/g, ' ');
    // The same query, sent by the test: the count GraphiQL shows is the clinic's.
    const { body } = await app.gql<{ cases: { totalCount: number } }>('{ cases { totalCount } }');
    const total = body.data?.cases.totalCount ?? 0;
    expect(total).toBeGreaterThan(0);
    expect(shown).toContain(`"totalCount": ${total}`);
    expect(shown).not.toContain('"errors"');

    // A reload reopens the tabs as they were, the open one still open and still signed in (the
    // token is not stored: it comes with the page again). Twice: CaseList (which has variables)
    // open, then Dashboard.
    const titles = () => page.locator('.graphiql-tab').allTextContents();
    const activeTab = () => page.locator('.graphiql-tab-active').textContent();
    // GraphiQL stores its tabs a moment after a change; a user's reload comes later than that.
    const storedActiveTab = () =>
      page.evaluate(() => {
        const state = JSON.parse(localStorage.getItem('graphiql:tabState') ?? 'null');
        return state?.tabs?.[state.activeTabIndex]?.title;
      });
    const before = await titles();
    for (const tab of ['CaseList', 'Dashboard']) {
      // The tabs can be dragged, and the first pointer press on one starts that rather than a
      // switch: the click event itself is what switches tabs. CaseList is open already: this
      // reload comes with nothing changed (no `?query=` in the URL yet).
      if (tab !== 'CaseList')
        await page.locator(`.graphiql-tab-button[title="${tab}"]`).dispatchEvent('click');
      await expect.poll(activeTab).toContain(tab);
      await expect.poll(storedActiveTab).toBe(tab);
      await page.reload();
      await page.locator('.graphiql-execute-button').waitFor({ timeout: 60_000 });
      await expect.poll(titles).toEqual(before);
      expect(await activeTab()).toContain(tab);
    }
    await page.locator('.graphiql-execute-button').click();
    await expect.poll(() => result.textContent(), { timeout: 30_000 }).toContain('caseStats');
    expect(await result.textContent()).not.toContain('"errors"');

    // Introspection on each of the three loads, and the two queries: all signed in.
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(elsewhere).toEqual([]);
    expect(failed).toEqual([]);
    await page.close();
  },
  120_000,
);

test.skipIf(!CHROMIUM)(
  'the WorkQueueChanges tab streams: a task created over HTTP shows in its result, and Stop ends it',
  async () => {
    if (!browser) throw new Error('no browser');
    const page = await browser.newPage();
    const streams: { method: string; status: number; type: string | undefined }[] = [];
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('response', (response) => {
      const request = response.request();
      if (request.url().startsWith(`${origin}/graphql`) && request.headers().accept?.includes('event-stream'))
        streams.push({
          method: request.method(),
          status: response.status(),
          type: response.headers()['content-type'],
        });
    });
    await page.goto(`${origin}/graphql`);
    await page.locator('.graphiql-execute-button').waitFor({ timeout: 60_000 });
    await page.locator('.graphiql-tab-button[title="WorkQueueChanges"]').dispatchEvent('click');
    await expect.poll(() => page.locator('.graphiql-tab-active').textContent()).toContain('WorkQueueChanges');

    // The tab's variables hold a placeholder for `me`: the admin's own id replaces it, as a user would.
    const { body } = await app.gql<{ me: { id: string } }>('{ me { id } }');
    const me = body.data?.me.id as string;
    await page.getByRole('button', { name: 'Variables', exact: true }).click();
    await page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden)').click();
    await page.keyboard.press('ControlOrMeta+A');
    // Monaco closes brackets and quotes as they are typed: what it added after the text goes.
    await page.keyboard.type(JSON.stringify({ me }));
    await page.keyboard.press('Shift+End');
    await page.keyboard.press('Delete');
    await page.locator('.graphiql-execute-button').click();
    // Yoga's GraphiQL subscribes over SSE (GET, the tab's Authorization header): the server holds it.
    await expect.poll(() => app.changeFeed.size, { timeout: 30_000 }).toBe(1);
    // The browser sees the response's headers a moment after the server holds the subscription.
    await expect
      .poll(() => streams, { timeout: 30_000 })
      .toEqual([{ method: 'GET', status: 200, type: 'text/event-stream' }]);

    // A mutation sent by the test, over HTTP, on a connection of its own.
    const title = `Created by the test at ${Date.now()}`;
    const created = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await app.token(ADMIN)}` },
      body: JSON.stringify({
        query: 'mutation ($input: CreateTaskInput!) { createTask(input: $input) { __typename } }',
        variables: { input: { caseId: await firstCaseId(), title, assigneeId: me } },
      }),
    });
    expect(await created.json()).toEqual({ data: { createTask: { __typename: 'CreateTaskPayload' } } });
    // Monaco renders spaces as no-break spaces, and wraps long lines.
    const shown = async () =>
      ((await page.locator('.result-window').textContent()) ?? '').replace(/\s+/g, ' ');
    await expect.poll(shown, { timeout: 30_000 }).toContain(`"title": "${title}"`);
    expect(await shown()).toContain('"kind": "CREATED"');
    expect(await shown()).not.toContain('"errors"');

    // The same button stops it: the browser closes the stream, and the server lets the subscription go.
    await page.locator('.graphiql-execute-button').click();
    await expect.poll(() => app.changeFeed.size, { timeout: 10_000 }).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  },
  120_000,
);

async function firstCaseId(): Promise<string> {
  const { body } = await app.gql<{ cases: { edges: { node: { id: string } }[] } }>(
    '{ cases(first: 1) { edges { node { id } } } }',
  );
  return body.data?.cases.edges[0]?.node.id as string;
}
