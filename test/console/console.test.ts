import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RunplaneClient, type ApiJob } from '../../cli/api-client.ts';
import type { JobState } from '../../core/jobs/job.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { localAuthPaths } from '../../core/auth/local-files.ts';
import { mintToken, parseSigningKey } from '../../core/auth/signing-key.ts';
import { chromiumAvailable, launchChromium, seriousAxeViolations } from './browser.ts';
import { startFakeIssuer, type FakeIssuer } from './fake-oidc-issuer.ts';

/**
 * The web console end to end: the built console served by a real local platform (DynamoDB Local,
 * fauxqs, a worker), driven in headless Chromium as a user would: by labels and roles.
 * Screenshots of every page go to test-results/console/.
 */
const SHOTS = join(process.cwd(), 'test-results', 'console');
const RUN = chromiumAvailable();

describe.runIf(RUN)('web console in Chromium', { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'runplane-console-'));
  let platform: LocalPlatform;
  let admin: RunplaneClient;
  let browser: Browser;
  let issuer: FakeIssuer;
  let context: BrowserContext;
  let page: Page;
  const cspErrors: string[] = [];

  const waitForState = async (id: string, states: JobState[], timeoutMs = 60_000): Promise<ApiJob> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await admin.getJob(id);
      if (states.includes(job.state)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} is ${job.state}, not ${states.join('/')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const newPage = async (ctx: BrowserContext) => {
    const p = await ctx.newPage();
    p.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) cspErrors.push(m.text());
    });
    return p;
  };

  const signInWith = async (p: Page, token: string) => {
    await p.goto(platform.url + '/');
    await p.getByLabel('API key or token').fill(token);
    await p.getByRole('button', { name: 'Sign in', exact: true }).click();
    await p.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
  };

  /** Every page: no serious axe violation, a screenshot at desktop and phone width, no sideways scroll. */
  const checkPage = async (name: string) => {
    expect(await seriousAxeViolations(page), `axe on ${name}`).toEqual([]);
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow, `${name} scrolls sideways at phone width`).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
  };

  beforeAll(async () => {
    // The console under test is the one in this tree, built now (npm ci builds it too).
    // NODE_ENV is "test" under vitest, which would build React's development bundle.
    execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', 'console', '--logLevel', 'error'], {
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: 'production' },
    });
    mkdirSync(SHOTS, { recursive: true });
    // Stands in for the team's identity provider; its "ID token" is one the local API accepts.
    issuer = await startFakeIssuer(async () =>
      mintToken(parseSigningKey(readFileSync(localAuthPaths(dataDir).signingKey, 'utf8')), {
        subject: 'alice@example.com',
        role: 'member',
        groups: ['default'],
        ttlSeconds: 600,
      }),
    );
    platform = await startLocalPlatform({
      consoleOidc: { issuer: issuer.url, clientId: 'runplane-console', name: 'Test IdP' },
      inMemory: true,
      port: 0,
      workers: 1,
      workerPools: ['default'],
      dataDir,
      log: () => undefined,
      workerOptions: { flushIntervalMs: 200 },
    });
    admin = new RunplaneClient({ baseUrl: platform.url, token: platform.adminKey });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    page = await newPage(context);
    // Below the test timeout, so a step that never happens fails with the step's own message.
    page.setDefaultTimeout(30_000);
  }, 120_000);

  // What the page showed when a step failed, beside the other screenshots.
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail' && page) {
      await page.screenshot({ path: join(SHOTS, `failed-${task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`), fullPage: true });
    }
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    await issuer?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the console beside the API with security headers, an SPA fallback and no traversal', async () => {
    const index = await fetch(`${platform.url}/jobs/some-client-route`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    expect(index.headers.get('x-frame-options')).toBe('DENY');
    const html = await index.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(platform.url + script!);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${platform.url}/assets/missing.js`)).status).toBe(404);
    // The first page's budget: every script index.html loads, gzipped.
    const firstPage = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
    const gzipped = firstPage.reduce((sum, path) => sum + gzipSync(readFileSync(join('console/dist', path))).length, 0);
    console.log(`console first page: ${firstPage.length} script(s), ${(gzipped / 1024).toFixed(1)} KiB gzipped`);
    expect(gzipped).toBeLessThanOrEqual(250 * 1024);
    for (const path of ['/%2e%2e/package.json', '/..%2fpackage.json', '/assets/%2e%2e/%2e%2e/package.json']) {
      const res = await fetch(platform.url + path);
      expect(await res.text(), path).not.toContain('"name": "runplane"');
    }
    // The API keeps its own answers (JSON errors), the console never shadows it.
    const api = await fetch(`${platform.url}/v1/nothing-here`);
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const config = await (await fetch(`${platform.url}/console-config.json`)).text();
    expect(JSON.parse(config)).toMatchObject({ adminKeyFile: join(dataDir, 'auth', 'admin-key') });
    expect(config).not.toContain(platform.adminKey);
  });

  it('signs in with the admin key from the keyboard, showing where the key file is', async () => {
    await page.goto(platform.url + '/');
    await expect.poll(() => page.getByText(join(dataDir, 'auth', 'admin-key')).first().isVisible()).toBe(true);
    await checkPage('sign-in');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement?.id')).toBe('token');
    await page.keyboard.type(platform.adminKey);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    expect(await page.evaluate<string[]>('Object.keys(sessionStorage)')).toEqual(['runplane.token']);
    expect(await context.cookies()).toEqual([]);
    expect(page.url()).not.toContain(platform.adminKey);
  });

  let liveJob: ApiJob;
  // Jobs run sandboxed with a private /tmp (the checkout may be under /tmp too) and the data
  // directory hidden: the signal the job waits for lives where a job can see it, read-only.
  const signalRoot = existsSync('/var/tmp') ? '/var/tmp' : join(process.cwd(), 'test-results');
  mkdirSync(signalRoot, { recursive: true });
  const signalDir = mkdtempSync(join(signalRoot, 'runplane-console-signal-'));
  // mkdtemp makes it 0700; the job runs as a slot uid of its own and must be able to look in.
  chmodSync(signalDir, 0o755);
  const signal = join(signalDir, 'go-on');

  it('lists a job submitted through the API, then shows its output live, coloured, stderr apart', async () => {
    const script = [
      "console.log('first line');",
      "console.error('\\u001b[31mred warning\\u001b[0m \\u001b]0;title\\u0007tail');",
      "const fs = require('fs');",
      `const t = setInterval(() => { if (fs.existsSync(${JSON.stringify(signal)})) { console.log('live line'); clearInterval(t); } }, 100);`,
    ].join(' ');
    liveJob = await admin.submitJob({ command: ['node', '-e', script], name: 'console-live', labels: { team: 'vision' }, env: { SECRET_TOKEN: 's3cr3t' } });
    const row = page.getByRole('row').filter({ hasText: liveJob.id });
    await row.waitFor({ timeout: 20_000 });
    await expect.poll(() => row.textContent()).toContain('console-live');
    await checkPage('jobs');

    await row.getByRole('link', { name: liveJob.id }).click();
    await page.getByRole('heading', { name: /console-live/ }).waitFor();
    const log = page.getByRole('log', { name: 'Job output' });
    await log.getByText('first line').waitFor({ timeout: 30_000 });
    const stderrLine = log.locator('[data-stream="stderr"]');
    await stderrLine.waitFor();
    // The colour is rendered, the title escape stripped.
    expect(await stderrLine.textContent()).toBe('errred warning tail');
    expect(await stderrLine.getByText('red warning').evaluate((e) => (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(e).color)).toBe('rgb(255, 123, 114)');
    // Env values stay hidden until asked for.
    expect(await page.getByText('s3cr3t').count()).toBe(0);
    await page.getByRole('button', { name: 'Show the value of SECRET_TOKEN' }).click();
    await page.getByText('s3cr3t').waitFor();

    writeFileSync(signal, '');
    await log.getByText('live line').waitFor({ timeout: 10_000 });
    rmSync(signalDir, { recursive: true, force: true });
    await page.getByText('SUCCEEDED').first().waitFor({ timeout: 30_000 });
    // The job names no artifacts: the deployment stores them, and this job has none.
    await page.getByText('None.').first().waitFor();
    await checkPage('job');
  });

  it('downloads the log, byte for byte what the API stores', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download log' }).click()]);
    const text = readFileSync((await download.path())!, 'utf8');
    expect(text).toBe((await admin.getLogs(liveJob.id)).bytes.toString('utf8'));
    expect(text).toContain('first line\n');
    expect(text).toContain('live line\n');
  });

  it('submits a job from the form: checks fields with the API schema, then shows the new job succeeding', async () => {
    await page.getByRole('link', { name: 'Submit', exact: true }).click();
    await page.getByRole('heading', { name: 'Submit a job' }).waitFor();
    await page.getByLabel('Command').fill(`node -e "console.log('from the form')"`);
    await expect.poll(() => page.getByLabel('Argv that will be sent').textContent()).toBe(JSON.stringify(['node', '-e', "console.log('from the form')"]));
    await page.getByLabel('GPUs').fill('99');
    await page.getByLabel('Environment').fill('1BAD=x');
    await page.getByRole('button', { name: 'Submit' }).click();
    // The schema's messages, beside their fields; nothing was sent.
    await page.locator('.field', { has: page.getByLabel('GPUs') }).getByText(/16/).waitFor();
    await page.locator('.field', { has: page.getByLabel('Environment') }).getByText('1BAD: must match [A-Za-z_][A-Za-z0-9_]*').waitFor();
    expect(page.url()).toMatch(/\/submit$/);
    await checkPage('submit');

    await page.getByLabel('GPUs').fill('0');
    await page.getByLabel('Environment').fill('GREETING=hello');
    await page.getByLabel('Name').fill('from-form');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/\/jobs\/[0-9A-Z]{26}$/);
    const id = page.url().split('/').pop()!;
    await page.getByRole('log', { name: 'Job output' }).getByText('from the form').waitFor({ timeout: 30_000 });
    await page.getByText('SUCCEEDED').first().waitFor({ timeout: 30_000 });
    expect(await admin.getJob(id)).toMatchObject({ name: 'from-form', env: { GREETING: 'hello' }, command: ['node', '-e', "console.log('from the form')"] });
  });

  it('prefills "Submit a copy" from the job', async () => {
    await page.getByRole('button', { name: 'Submit a copy' }).click();
    await page.getByRole('heading', { name: 'Submit a copy' }).waitFor();
    expect(await page.getByLabel('Name').inputValue()).toBe('from-form');
    expect(await page.getByLabel('Environment').inputValue()).toBe('GREETING=hello');
    await expect.poll(() => page.getByLabel('Argv that will be sent').textContent()).toBe(JSON.stringify(['node', '-e', "console.log('from the form')"]));
  });

  it('cancels a running job with the button', async () => {
    const job = await admin.submitJob({ command: ['node', '-e', 'setTimeout(() => {}, 120000)'], name: 'to-cancel' });
    await waitForState(job.id, ['RUNNING']);
    await page.goto(`${platform.url}/jobs/${job.id}`);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('.state-line').getByText('CANCELLED', { exact: true }).waitFor({ timeout: 30_000 });
    expect((await admin.getJob(job.id)).state).toBe('CANCELLED');
  });

  it('cancels the selected rows in bulk', async () => {
    const jobs = await Promise.all(
      [1, 2].map((i) => admin.submitJob({ command: ['node', '-e', 'setTimeout(() => {}, 120000)'], name: `bulk-${i}` })),
    );
    const bystander = await admin.submitJob({ command: ['node', '-e', 'setTimeout(() => {}, 120000)'], name: 'bystander' });
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    for (const job of jobs) await page.getByRole('checkbox', { name: `Select job ${job.id}` }).check();
    await page.getByRole('button', { name: 'Cancel selected (2)' }).click();
    await page.getByRole('list', { name: 'Cancel results' }).waitFor();
    for (const job of jobs) await waitForState(job.id, ['CANCELLED']);
    expect((await admin.getJob(bystander.id)).state).not.toBe('CANCELLED');
    await admin.cancelJob(bystander.id);
    await page.getByRole('row').filter({ hasText: bystander.id }).getByText('CANCELLED').waitFor();
    await page.screenshot({ path: join(SHOTS, 'jobs-overview.png') });
  });

  it('keeps 100,000 lines of output virtualised: the newest in view, only a screenful in the DOM', async () => {
    const job = await admin.submitJob({ command: ['node', '-e', "for (let i = 0; i < 100000; i++) console.log('line ' + i)"], name: 'long-output' });
    await waitForState(job.id, ['SUCCEEDED'], 90_000);
    await page.goto(`${platform.url}/jobs/${job.id}`);
    const log = page.getByRole('log', { name: 'Job output' });
    await log.getByText('line 99999', { exact: true }).waitFor({ timeout: 60_000 });
    await page.getByText('100000 line(s)').waitFor();
    expect(await log.locator('.log-line').count()).toBeLessThan(200);
    // Scrolling back to the top renders the first lines instead.
    await page.getByLabel('Follow').uncheck();
    await log.evaluate((e) => (e.scrollTop = 0));
    await log.getByText('line 0', { exact: true }).waitFor();
  }, 180_000);

  it('explains why a queued job waits, badges it in the list, and changes its priority', async () => {
    // The local worker has no GPU: a job asking for two waits, with the scheduler's reason.
    const job = await admin.submitJob({ command: ['node', '-e', '0'], name: 'needs-gpus', resources: { gpus: 2 } });
    await page.goto(`${platform.url}/jobs/${job.id}`);
    const why = page.getByRole('status', { name: 'Why it waits' });
    await why.waitFor();
    // The reason can move on between two reads; the page follows the API's.
    await expect
      .poll(async () => (await why.locator('.badge').textContent()) === (await admin.getJob(job.id)).waiting?.code, { timeout: 20_000 })
      .toBe(true);
    expect(await why.textContent()).toMatch(/Since /);
    await checkPage('job-waiting');

    await page.getByLabel('New priority').fill('2000');
    await page.getByRole('button', { name: 'Set priority' }).click();
    await page.getByRole('form', { name: 'Change priority' }).getByText('a whole number from -1000 to 1000').waitFor();
    expect((await admin.getJob(job.id)).priority).toBe(0);
    await page.getByLabel('New priority').fill('7');
    await page.getByRole('button', { name: 'Set priority' }).click();
    await expect.poll(async () => (await admin.getJob(job.id)).priority).toBe(7);
    await page.locator('.facts dd').getByText('7', { exact: true }).waitFor();

    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    const row = page.getByRole('row').filter({ hasText: job.id });
    const badge = row.locator('.badge.waiting');
    await badge.waitFor();
    await expect.poll(async () => (await badge.getAttribute('title')) === (await admin.getJob(job.id)).waiting?.message, { timeout: 20_000 }).toBe(true);
    expect(await row.getByRole('cell').nth(8).textContent()).toBe('7');
    await admin.cancelJob(job.id);
  });

  it('submits a job that depends on another from the form, and links the two', async () => {
    await page.getByRole('link', { name: 'Submit', exact: true }).click();
    await page.getByLabel('Command').fill(`node -e "console.log('after the live job')"`);
    await page.getByLabel('Name').fill('dependent');
    await page.getByLabel('Depends on').fill(`afterbad:${liveJob.id}`);
    await page.locator('.field', { has: page.getByLabel('Depends on') }).getByText(/the types are afterok/).waitFor();
    await page.getByLabel('Depends on').fill(`afterany:${liveJob.id}`);
    await expect
      .poll(() => page.getByLabel('Dependencies that will be sent').textContent())
      .toBe(JSON.stringify([{ job: liveJob.id, type: 'afterany' }]));
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/\/jobs\/[0-9A-Z]{26}$/);
    const id = page.url().split('/').pop()!;
    expect((await admin.getJob(id)).dependsOn).toEqual([{ job: liveJob.id, type: 'afterany' }]);
    const deps = page.getByRole('list', { name: 'Depends on' });
    await deps.getByText('afterany').waitFor();
    await page.locator('.state-line').getByText('SUCCEEDED', { exact: true }).waitFor({ timeout: 30_000 });
    await checkPage('job-dependencies');
    await deps.getByRole('link', { name: liveJob.id }).click();
    await page.getByRole('heading', { name: /console-live/ }).waitFor();
  });

  it('shows a held job waiting for its dependency, with the job it waits for linked', async () => {
    const first = await admin.submitJob({ command: ['node', '-e', 'setTimeout(() => {}, 120000)'], name: 'held-upstream' });
    const held = await admin.submitJob({ command: ['node', '-e', '0'], name: 'held', dependsOn: [{ job: first.id, type: 'afterok' }] });
    await page.goto(`${platform.url}/jobs/${held.id}`);
    await page.getByRole('heading', { name: /held/ }).waitFor();
    const hold = (await admin.getJob(held.id)).hold;
    expect(hold?.code).toBe('Dependency');
    await page.getByText(hold!.message).first().waitFor();
    await page.getByRole('list', { name: 'Depends on' }).getByRole('link', { name: first.id }).waitFor();
    await checkPage('job-held');
    await admin.cancelJob(first.id);
    await waitForState(held.id, ['FAILED', 'CANCELLED']);
  });

  it('shows an array parent with its counts per state and its children paged, each linked to its own page', async () => {
    const parent = await admin.submitJob({ command: ['node', '-e', '0'], name: 'console-array', array: { size: 30, parallelism: 4 } });
    const done = await waitForState(parent.id, ['SUCCEEDED'], 120_000);
    expect(done.arrayStatus).toMatchObject({ total: 30, SUCCEEDED: 30 });
    await page.goto(`${platform.url}/jobs/${parent.id}`);
    // Signed in by the earlier tests; alone (-t), it signs in here.
    const heading = page.getByRole('heading', { name: /console-array/ });
    await heading.or(page.getByLabel('API key or token')).first().waitFor();
    if (!(await heading.isVisible())) {
      await signInWith(page, platform.adminKey);
      await page.goto(`${platform.url}/jobs/${parent.id}`);
    }
    await heading.waitFor();
    await page.getByText('30 children, at most 4 running at once.').waitFor();
    await page.getByText('30 of 30 finished').waitFor();
    // A parent never runs itself: no attempt of its own, and its output is its children's.
    await page.getByText('An array has no output of its own').waitFor();
    expect(await page.getByText('Attempt', { exact: true }).count()).toBe(0);
    await expect.poll(() => page.getByRole('list', { name: 'Children per state' }).textContent()).toBe('SUCCEEDED 30');
    // The API's children, 25 to a page in index order; the next page has the last 5.
    const children = page.getByRole('region', { name: 'Array children' });
    await children.getByRole('link', { name: `${parent.id}-0`, exact: true }).waitFor();
    await expect.poll(() => children.getByRole('row').count()).toBe(1 + 25);
    await checkPage('job-array');
    await page.getByRole('button', { name: 'Next children' }).click();
    await children.getByRole('link', { name: `${parent.id}-29`, exact: true }).waitFor();
    await expect.poll(() => children.getByRole('row').count()).toBe(1 + 5);
    await children.getByRole('link', { name: `${parent.id}-29`, exact: true }).click();
    await page.waitForURL(new RegExp(`/jobs/${parent.id}-29$`));
    await page.locator('.state-line').getByText('SUCCEEDED', { exact: true }).waitFor();
  });

  it("sets a group's quotas and weight from the Groups page, errors beside their fields", async () => {
    await page.getByRole('link', { name: 'Groups' }).click();
    await page.getByRole('heading', { name: 'Groups', level: 1 }).waitFor();
    await page.getByRole('form', { name: 'Edit another group' }).getByLabel('Group name').fill('vision');
    await page.getByRole('button', { name: 'Edit group', exact: true }).click();
    const editor = page.getByRole('form', { name: 'Edit group vision' });
    // The form's own check, then the API's (weight above its maximum), each beside its field.
    await editor.getByLabel('GPU quota').fill('two');
    await editor.getByRole('button', { name: 'Save' }).click();
    await editor.locator('.field', { has: page.getByLabel('GPU quota') }).getByText(/whole number/).waitFor();
    await editor.getByLabel('GPU quota').fill('2');
    await editor.getByLabel('Running jobs quota').fill('3');
    await editor.getByLabel('Fair-share weight').fill('5000');
    await editor.getByRole('button', { name: 'Save' }).click();
    await editor.locator('.field', { has: page.getByLabel('Fair-share weight') }).getByText(/1000/).waitFor();
    expect((await admin.get<{ groups: { name: string }[] }>('/v1/groups')).groups.map((g) => g.name)).not.toContain('vision');
    await checkPage('groups-edit');
    await editor.getByLabel('Fair-share weight').fill('2.5');
    await editor.getByRole('button', { name: 'Save' }).click();
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'vision' }) });
    await row.waitFor();
    expect(await row.textContent()).toContain('0 / 2');
    const groups = (await admin.get<{ groups: { name: string }[] }>('/v1/groups')).groups;
    expect(groups.find((g) => g.name === 'vision')).toMatchObject({ maxGpus: 2, maxRunningJobs: 3, weight: 2.5 });
    await checkPage('groups');
  });

  it('reports usage per day with a chart, per group, and the idle capacity for an admin', async () => {
    await page.getByRole('link', { name: 'Usage' }).click();
    const today = new Date().toISOString().slice(0, 10);
    const table = page.getByRole('region', { name: 'Usage table' });
    const todayRow = table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: today }) });
    await todayRow.waitFor({ timeout: 30_000 });
    type Report = { rows: { key: string; jobs: number }[]; idle: unknown };
    const report = await admin.get<Report>('/v1/usage', { by: 'day' });
    expect(report.rows.find((r) => r.key === today)?.jobs).toBeGreaterThan(0);
    // Nothing runs now, so the count is settled: after a reload the page shows the API's.
    await page.reload();
    await todayRow.waitFor();
    expect(await todayRow.getByRole('cell').first().textContent()).toBe(String(report.rows.find((r) => r.key === today)!.jobs));
    await page.getByRole('img', { name: 'GPU-hours and cost per day' }).locator('canvas').waitFor();
    expect(report.idle).not.toBeNull();
    await page.getByLabel('Idle capacity').waitFor();
    await checkPage('usage');
    await page.getByLabel('Group by').selectOption('group');
    await table.getByRole('rowheader', { name: 'default' }).waitFor();
    expect(await page.getByRole('img', { name: 'GPU-hours and cost per day' }).count()).toBe(0);
  });

  it('shows workers and the audit log, and verifies the chain', async () => {
    await page.getByRole('link', { name: 'Workers' }).click();
    await page.getByRole('heading', { name: 'local-default-1' }).waitFor();
    await checkPage('workers');
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('cell', { name: 'job.submit' }).first().waitFor();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText(/^Chain intact: \d+ entries/).waitFor();
    await checkPage('audit');
  });

  it('hides a job from a member of another group, and shows the API error instead of a blank page', async () => {
    const member = await admin.createApiKey({ name: 'outsider', role: 'member', groups: ['other'] });
    const otherContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const other = await newPage(otherContext);
    await signInWith(other, member.key);
    await other.getByText('No jobs match.').waitFor();
    expect(await other.getByText(liveJob.id).count()).toBe(0);
    await other.goto(`${platform.url}/jobs/${liveJob.id}`);
    await other.getByRole('alert').filter({ hasText: 'NOT_FOUND' }).waitFor();
    await other.getByRole('link', { name: 'Audit' }).click();
    await other.getByRole('alert').filter({ hasText: 'HTTP 403' }).waitFor();
    await other.getByRole('button', { name: 'Sign out' }).click();
    await other.getByLabel('API key or token').waitFor();
    expect(await other.evaluate<number>('sessionStorage.length')).toBe(0);
    await otherContext.close();
  });

  it('signs in with the OIDC issuer through authorization code + PKCE, leaving no code in the URL', async () => {
    const oidcContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await newPage(oidcContext);
    await p.goto(platform.url + '/');
    await p.getByRole('button', { name: 'Sign in with Test IdP' }).click();
    await p.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    const authorize = issuer.authorizeRequests.at(-1)!;
    expect(Object.fromEntries(authorize)).toMatchObject({
      response_type: 'code',
      client_id: 'runplane-console',
      redirect_uri: `${platform.url}/`,
      code_challenge_method: 'S256',
    });
    expect(authorize.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The verifier went only to the token endpoint, never through the browser's address bar.
    const verifier = issuer.tokenRequests.at(-1)!.get('code_verifier')!;
    expect(authorize.toString()).not.toContain(verifier);
    expect(p.url()).toBe(`${platform.url}/`);
    // Signed in as the issuer's user: alice's jobs list, and she is no admin.
    await p.getByText(liveJob.id).first().waitFor();
    await p.getByRole('link', { name: 'Audit' }).click();
    await p.getByRole('alert').filter({ hasText: 'HTTP 403' }).waitFor();
    await oidcContext.close();
  });

  it('broke no content security policy rule on any page', () => {
    expect(cspErrors).toEqual([]);
  });
});
