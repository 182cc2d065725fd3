/**
 * The compiled artefacts run as an operator runs them: `node dist/src/main.js` and `node dist/src/cli/main.js`, as
 * child processes on the engine of the vitest project. dist/ is rebuilt first when any source is newer.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createScratchDatabase, describeDb, engine, type ScratchDatabase } from './helpers/engines.js';
import {
  childEnv,
  CLI_ENTRY,
  ensureBuilt,
  httpCall,
  killAllChildren,
  runCli,
  runCommand,
  SERVER_ENTRY,
  startServer,
  stopServer,
  type HttpResponse,
} from './helpers/process.js';

const SETUP_TOKEN_LINE = /^Setup token: (ofk_setup_test_[0-9A-Za-z]{40})$/;
const PLATFORM_LINE = /^Platform: (plt_[0-7][0-9a-hjkmnp-tv-z]{25}) \((.*)\)$/;
const PLATFORM_KEY = /^ofk_platform_test_[0-9A-Za-z]{40}$/;

/** Per test: vitest's inline projects do not inherit the root `testTimeout`, so the default would be 5 s. */
const TIMEOUT = 30_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function field(response: HttpResponse, name: string): string {
  const body = response.body;
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  if (typeof value !== 'string') throw new Error(`no ${name} in ${response.status} ${response.text}`);
  return value;
}

async function bootstrap(port: number, setupToken: string): Promise<string> {
  const response = await httpCall(port, 'POST', '/v1/auth/bootstrap', { json: { setup_token: setupToken } });
  expect(response.status, response.text).toBe(201);
  const key = field(response, 'api_key');
  expect(key).toMatch(PLATFORM_KEY);
  return key;
}

/** A raw HTTP/1.1 exchange on one socket, so a request can be left half-sent while the server is signalled. */
interface RawExchange {
  readonly socket: Socket;
  /** Resolves with the complete response (headers and Content-Length bytes of body), even on a kept-alive socket. */
  readonly response: Promise<string>;
}

async function openRawRequest(port: number, head: string, firstBodyPart: string): Promise<RawExchange> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const response = new Promise<string>((resolve, reject) => {
    let received = '';
    const timer = setTimeout(() => reject(new Error(`no complete response within 15 s; got: ${received}`)), 15_000);
    const done = (settle: () => void) => {
      clearTimeout(timer);
      settle();
    };
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = /\r\ncontent-length: (\d+)\r\n/i.exec(received.slice(0, end + 2));
      if (length?.[1] !== undefined && Buffer.byteLength(received.slice(end + 4)) >= Number(length[1])) {
        done(() => resolve(received));
      }
    });
    socket.once('error', (error) => done(() => reject(error)));
    socket.once('close', () => done(() => reject(new Error(`socket closed before a complete response: ${received}`))));
  });
  socket.write(head + firstBodyPart);
  return { socket, response };
}

describeDb('server process (compiled dist/)', () => {
  let scratch: ScratchDatabase;
  const env = (): Record<string, string> => ({
    DATABASE_URL: scratch.url,
    OPENFISKAL_DATA_DIR: scratch.dataDir,
    OPENFISKAL_RATE_LIMIT: '0',
    LOG_LEVEL: 'info',
  });

  beforeAll(async () => {
    await ensureBuilt();
  }, 150_000);
  beforeEach(async () => {
    scratch = await createScratchDatabase();
  }, TIMEOUT);
  afterEach(async () => {
    killAllChildren();
    await scratch.drop();
  }, TIMEOUT);
  afterAll(() => killAllChildren());

  it(
    'prints one setup token on the first start only, serves /healthz, keeps its secrets private',
    async () => {
      const first = await startServer(env());
      const health = await httpCall(first.port, 'GET', '/healthz');
      expect(health.status).toBe(200);
      expect(health.body).toEqual({ status: 'ok' });
      expect(health.headers['x-request-id']).toMatch(/^req_[0-9a-f]{20}$/);
      expect(health.headers['content-type']).toMatch(/^application\/json/);
      const firstExit = await stopServer(first);
      expect(firstExit.code, first.output()).toBe(0);

      const tokenLines = first.stdout.filter((line) => line.includes('Setup token'));
      expect(tokenLines, first.output()).toHaveLength(1);
      const token = SETUP_TOKEN_LINE.exec(tokenLines[0] ?? '')?.[1];
      expect(token, tokenLines[0]).toBeDefined();
      // The token is printed plainly once and never reaches the JSON logs.
      expect(first.logs().length).toBeGreaterThan(0);
      expect(first.logs().filter((log) => JSON.stringify(log).includes(token ?? '!'))).toEqual([]);
      expect(first.logs().find((log) => log.msg === 'ready')).toMatchObject({ database: engine, environment: 'test' });
      expect(first.stderr).toEqual([]);

      const second = await startServer(env());
      expect((await httpCall(second.port, 'GET', '/healthz')).status).toBe(200);
      const secondExit = await stopServer(second);
      expect(secondExit.code, second.output()).toBe(0);
      expect(
        second.stdout.filter((line) => line.includes('Setup token')),
        second.output(),
      ).toEqual([]);
      expect(second.stdout.some((line) => line.includes('ofk_setup_'))).toBe(false);

      const secrets = join(scratch.dataDir, 'secrets.json');
      expect(existsSync(secrets)).toBe(true);
      expect((statSync(secrets).mode & 0o777).toString(8)).toBe('600');

      if (engine === 'sqlite') {
        const file = join(scratch.dataDir, 'openfiskal.db');
        expect(existsSync(file)).toBe(true);
        const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
        try {
          expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        } finally {
          db.close();
        }
      } else {
        expect(readdirSync(scratch.dataDir)).toEqual(['secrets.json']);
      }
    },
    TIMEOUT,
  );

  it(
    'on SIGTERM logs "shutting down", completes a request in flight and exits 0 within 5 s',
    async () => {
      const server = await startServer(env());
      const token = SETUP_TOKEN_LINE.exec(await server.waitForLine(SETUP_TOKEN_LINE))?.[1] ?? '';
      const key = await bootstrap(server.port, token);

      // Headers and half of the body are sent before SIGTERM, the rest after the server began shutting down.
      const body = JSON.stringify({ legal_name: 'In Flight GmbH', country: 'DE' });
      const head =
        'POST /v1/organizations HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n' +
        `Authorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      const exchange = await openRawRequest(server.port, head, body.slice(0, 10));
      await sleep(100);
      const since = performance.now();
      server.child.kill('SIGTERM');
      await server.waitForLine(/"msg":"shutting down"/, 5_000);
      exchange.socket.write(body.slice(10));
      const response = await exchange.response;
      expect(response).toMatch(/^HTTP\/1\.1 201 /);
      expect(response).toContain('"legal_name":"In Flight GmbH"');
      const organizationId = /"id":"(org_[0-9a-z]{26})"/.exec(response)?.[1] ?? '';
      exchange.socket.destroy();

      const exit = await stopServer(server, { signal: null, timeoutMs: 5_000 });
      expect(exit.code, server.output()).toBe(0);
      expect(exit.signal).toBeNull();
      expect(performance.now() - since).toBeLessThan(5_000);
      const shuttingDown = server.logs().filter((log) => log.msg === 'shutting down');
      expect(shuttingDown).toHaveLength(1);
      expect(shuttingDown[0]).toMatchObject({ signal: 'SIGTERM', level: 30, service: 'openfiskal' });
      expect(server.stderr).toEqual([]);

      // What the in-flight request wrote was committed.
      const again = await startServer(env());
      const read = await httpCall(again.port, 'GET', `/v1/organizations/${organizationId}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(read.status, read.text).toBe(200);
      expect(field(read, 'legal_name')).toBe('In Flight GmbH');
      expect((await stopServer(again)).code).toBe(0);
    },
    TIMEOUT,
  );

  // A pooling client keeps its connection after the in-flight request; shutdown must not wait for it.
  it(
    'does not let an idle keep-alive client hold up shutdown after its in-flight request',
    async () => {
      const server = await startServer(env());
      const token = SETUP_TOKEN_LINE.exec(await server.waitForLine(SETUP_TOKEN_LINE))?.[1] ?? '';
      const key = await bootstrap(server.port, token);
      const body = JSON.stringify({ legal_name: 'Keep Alive GmbH', country: 'DE' });
      const head =
        'POST /v1/organizations HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        `Authorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      const exchange = await openRawRequest(server.port, head, body.slice(0, 10));
      try {
        await sleep(100);
        server.child.kill('SIGTERM');
        await server.waitForLine(/"msg":"shutting down"/, 5_000);
        exchange.socket.write(body.slice(10));
        const response = await exchange.response;
        expect(response).toMatch(/^HTTP\/1\.1 201 /);
        expect(response.toLowerCase()).toContain('\r\nconnection: close\r\n');
        // The client keeps its connection, as pooling HTTP clients do.
        const exit = await stopServer(server, { signal: null, timeoutMs: 5_000 });
        expect(exit.code).toBe(0);
      } finally {
        exchange.socket.destroy();
      }
    },
    TIMEOUT,
  );

  it(
    'refuses an invalid configuration with status 1, naming every bad variable, without starting',
    async () => {
      const dataDir = join(scratch.dataDir, 'never-created');
      const bad = {
        DATABASE_URL: scratch.url,
        OPENFISKAL_DATA_DIR: dataDir,
        PORT: 'abc',
        OPENFISKAL_ENV: 'prod',
        LOG_LEVEL: 'loud',
      };
      for (const args of [[SERVER_ENTRY], [CLI_ENTRY, 'serve']]) {
        const result = await runCommand(process.execPath, args, childEnv(bad), 15_000);
        expect(result.code, result.stderr).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr).toContain('Invalid configuration');
        expect(result.stderr).toContain('PORT="abc"');
        expect(result.stderr).toContain('OPENFISKAL_ENV="prod"');
        expect(result.stderr).toContain('LOG_LEVEL="loud"');
      }
      // Nothing was created: no data dir, no secrets, no SQLite file, no tables.
      expect(existsSync(dataDir)).toBe(false);
      expect(readdirSync(scratch.dataDir)).toEqual([]);
      if (engine === 'postgres') {
        const client = new pg.Client({ connectionString: scratch.url });
        await client.connect();
        try {
          const tables = await client.query<{ count: string }>(
            'select count(*) from information_schema.tables where table_schema = current_schema()',
          );
          expect(tables.rows[0]?.count).toBe('0');
        } finally {
          await client.end();
        }
      }
    },
    TIMEOUT,
  );

  it(
    'CLI: setup-token, migrate and a token issued again, used against a running server',
    async () => {
      const created = await runCli(['setup-token', '--platform-name', 'Acme'], env());
      expect(created.code, created.stderr).toBe(0);
      const lines = created.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      const [, platformId, platformName] = PLATFORM_LINE.exec(lines[0] ?? '') ?? [];
      expect(platformId, created.stdout).toBeDefined();
      expect(platformName).toBe('Acme');
      const firstToken = SETUP_TOKEN_LINE.exec(lines[1] ?? '')?.[1];
      expect(firstToken, created.stdout).toBeDefined();

      const migrate = await runCli(['migrate'], env());
      expect(migrate.code, migrate.stderr).toBe(0);
      expect(migrate.stdout).toBe(`Database is up to date (${engine}).\n`);

      const server = await startServer(env());
      // A platform exists already, so the server creates no default platform.
      expect(server.stdout.filter((line) => line.includes('Setup token'))).toEqual([]);
      const key = await bootstrap(server.port, firstToken ?? '');
      const keys = await httpCall(server.port, 'GET', '/v1/auth/api-keys', {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(keys.status, keys.text).toBe(200);

      const missing = await runCli(['setup-token'], env());
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('setup-token needs exactly one of --platform-name NAME or --platform plt_…');
      expect(missing.stdout).not.toContain('Setup token');

      const malformed = await runCli(['setup-token', '--platform', 'plt_nope'], env());
      expect(malformed.code).not.toBe(0);
      expect(malformed.stderr).toContain('--platform plt_nope is not a platform id (plt_…)');

      const unknown = await runCli(['setup-token', '--platform', 'plt_01h455vb4pex5vsknk084sn02q'], env());
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr).toContain('No such platform: plt_01h455vb4pex5vsknk084sn02q');
      expect(unknown.stdout).toBe('');

      const again = await runCli(['setup-token', '--platform', platformId ?? ''], env());
      expect(again.code, again.stderr).toBe(0);
      const againLines = again.stdout.trimEnd().split('\n');
      expect(againLines[0]).toBe(`Platform: ${platformId ?? ''} (Acme)`);
      const secondToken = SETUP_TOKEN_LINE.exec(againLines[1] ?? '')?.[1];
      expect(secondToken, again.stdout).toBeDefined();
      expect(secondToken).not.toBe(firstToken);
      const secondKey = await bootstrap(server.port, secondToken ?? '');
      expect(secondKey).not.toBe(key);
      // Both keys belong to the same platform.
      const listed = await httpCall(server.port, 'GET', '/v1/auth/api-keys', {
        headers: { authorization: `Bearer ${secondKey}` },
      });
      expect(listed.status).toBe(200);
      expect((listed.body as { data: unknown[] }).data).toHaveLength(2);

      expect((await stopServer(server)).code, server.output()).toBe(0);
    },
    TIMEOUT,
  );

  // The CLI and the server writing one file at a time is a SQLite concern; PostgreSQL has many connections.
  if (engine === 'sqlite') {
    it(
      'CLI and a busy server share the SQLite file: 5 parallel setup-token runs',
      async () => {
        const server = await startServer(env());
        const token = SETUP_TOKEN_LINE.exec(await server.waitForLine(SETUP_TOKEN_LINE))?.[1] ?? '';
        const key = await bootstrap(server.port, token);
        const auth = { authorization: `Bearer ${key}` };
        const organization = await httpCall(server.port, 'POST', '/v1/organizations', {
          json: { legal_name: 'Busy GmbH', country: 'DE' },
          headers: auth,
        });
        expect(organization.status, organization.text).toBe(201);
        const organizationId = field(organization, 'id');

        // Two clients write and read continuously while the CLI runs.
        let cliDone = false;
        const statuses: number[] = [];
        const traffic = Array.from({ length: 2 }, async (_, worker) => {
          for (let i = 0; !cliDone; i++) {
            const write = await httpCall(server.port, 'POST', `/v1/organizations/${organizationId}/locations`, {
              json: { name: `Store ${worker}-${i}` },
              headers: auth,
            });
            const read = await httpCall(server.port, 'GET', '/v1/organizations', { headers: auth });
            statuses.push(write.status, read.status);
          }
        });
        const runs = await Promise.all(
          Array.from({ length: 5 }, (_, i) => runCli(['setup-token', '--platform-name', `Parallel ${i}`], env())),
        );
        cliDone = true;
        await Promise.all(traffic);

        for (const run of runs) expect(run.code, run.stderr).toBe(0);
        const platforms = runs.map((run) => PLATFORM_LINE.exec(run.stdout.split('\n')[0] ?? '')?.[1]);
        expect(new Set(platforms).size).toBe(5);
        expect(runs.map((run) => PLATFORM_LINE.exec(run.stdout.split('\n')[0] ?? '')?.[2]).sort()).toEqual([
          'Parallel 0',
          'Parallel 1',
          'Parallel 2',
          'Parallel 3',
          'Parallel 4',
        ]);
        expect(statuses.length).toBeGreaterThanOrEqual(4);
        expect(statuses.filter((status) => status < 200 || status > 299)).toEqual([]);

        // Each token works against the running server.
        for (const run of runs) {
          const cliToken = SETUP_TOKEN_LINE.exec(run.stdout.split('\n')[1] ?? '')?.[1];
          expect(cliToken, run.stdout).toBeDefined();
          await bootstrap(server.port, cliToken ?? '');
        }
        expect((await stopServer(server)).code, server.output()).toBe(0);
        expect(server.stderr).toEqual([]);
      },
      TIMEOUT,
    );
  }

  // Engine-independent, so only in one project (two concurrent npx runs would share npx's cache).
  if (engine === 'sqlite') {
    it("`npx openfiskal --help` in the checkout runs the package's own bin and lists the commands", async () => {
      const result = await runCommand('npx', ['openfiskal', '--help'], childEnv({}), 110_000);
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(result.stdout).toContain('Usage: openfiskal');
      for (const command of ['serve', 'migrate', 'setup-token']) {
        expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
      }
    }, 120_000);
  }
});
