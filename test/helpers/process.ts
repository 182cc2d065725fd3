/**
 * Running the compiled artefacts (`dist/`) as child processes, the way an operator does: building them when they
 * are stale, free ports, spawning the server and the CLI, waiting for /healthz, stopping with a signal. Every child
 * is tracked and killed when the test process exits, so a failing test never leaves a server behind.
 *
 * The bench (bench/register-read.bench.ts) uses these helpers too: tsc then compiles this file to
 * dist/test/helpers/process.js, so it must not import vitest.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES } from '../../src/config/config.js';

/** The project root, from test/helpers/ (vitest) or from dist/test/helpers/ (compiled, as the bench runs it). */
export const ROOT = fileURLToPath(
  new URL(
    fileURLToPath(import.meta.url).endsWith(join('dist', 'test', 'helpers', 'process.js')) ? '../../../' : '../../',
    import.meta.url,
  ),
);
export const SERVER_ENTRY = join(ROOT, 'dist', 'src', 'main.js');
export const CLI_ENTRY = join(ROOT, 'dist', 'src', 'cli', 'main.js');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// Building dist/

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) {
      yield path;
    }
  }
}

function mtimeOrNull(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** The sources under src/ whose compiled file in dist/ is missing or older (plus the build settings). */
export function staleSources(): string[] {
  const settings = Math.max(
    ...['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((f) => mtimeOrNull(join(ROOT, f)) ?? 0),
  );
  const stale: string[] = [];
  for (const source of sourceFiles(join(ROOT, 'src'))) {
    const output = join(ROOT, 'dist', relative(ROOT, source)).replace(/\.ts$/, '.js');
    const built = mtimeOrNull(output);
    if (built === null || built < (mtimeOrNull(source) ?? 0) || built < settings) stale.push(relative(ROOT, source));
  }
  return stale;
}

/** `npm run build`: the one definition of the build (tsc, then the CLI's executable bit). */
function runBuild(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'npm',
      ['run', '--silent', 'build'],
      { cwd: ROOT, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) resolve();
        else {
          reject(new Error(`npm run build failed (${error.message.split('\n')[0] ?? ''}):\n${stdout}${stderr}`));
        }
      },
    );
  });
}

/**
 * Builds dist/ with `npm run build` unless every compiled file is newer than its source. Both vitest
 * projects (sqlite, postgres) may call this at the same time: a lock directory makes the second wait for the first
 * (and then find dist/ fresh) instead of rewriting files a server of the other project is loading.
 */
export async function ensureBuilt(): Promise<'fresh' | 'built'> {
  if (staleSources().length === 0) return 'fresh';
  const lock = join(tmpdir(), `openfiskal-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 16)}.lock`);
  const deadline = Date.now() + 150_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
      // A lock left by a killed run is taken over after the build timeout.
      if (Date.now() - (mtimeOrNull(lock) ?? Date.now()) > 130_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${lock}`, { cause: error });
      await sleep(200);
    }
  }
  try {
    if (staleSources().length === 0) return 'fresh';
    await runBuild();
    return 'built';
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Kills every child still running (for afterAll). */
export function killAllChildren(): void {
  for (const child of children) child.kill('SIGKILL');
}

/** The environment of a child: ours without any OpenFiskal setting, plus `env`. */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const settings = new Set<string>(CONFIG_VARIABLES);
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !settings.has(name)));
  return { ...base, ...env };
}

/** A free loopback port: listen on port 0, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly exited: Promise<Exit>;
  /** `performance.now()` just before the spawn (start-up times are measured from it). */
  readonly spawnedAt: number;
  /** The exit once it happened, else null. */
  exit(): Exit | null;
  /** The stdout lines that parse as JSON objects (the logs). */
  logs(): Record<string, unknown>[];
  /** Resolves with the first stdout line matching `pattern` (rejects after `timeoutMs` or at exit). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Everything it printed, for assertion messages. */
  output(): string;
}

/** A JSON log line as an object; undefined for any other line (e.g. the setup token). */
export function parseLogLine(line: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Spawns `node dist/src/main.js` on a free port with `env` (PORT and HOST are set here). */
export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const spawnedAt = performance.now();
  // e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server under a bench's load.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
  const child = spawn(process.execPath, [...nodeArgs, SERVER_ENTRY], {
    cwd: ROOT,
    env: childEnv({ ...env, PORT: String(port), HOST: '127.0.0.1' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  let exit: Exit | null = null;
  let closed = false;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      exit = { code, signal };
      resolve(exit);
    });
  });
  // 'close' comes after the last line of stdout was read.
  child.once('close', () => {
    closed = true;
    notify();
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdout.push(line);
    notify();
  });
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));

  const output = () => [...stdout.map((l) => `stdout| ${l}`), ...stderr.map((l) => `stderr| ${l}`)].join('\n');
  return {
    child,
    port,
    stdout,
    stderr,
    exited,
    spawnedAt,
    exit: () => exit,
    logs: () => stdout.map(parseLogLine).filter((log): log is Record<string, unknown> => log !== undefined),
    waitForLine: (pattern, timeoutMs = 10_000) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const line = stdout.find((l) => pattern.test(l));
          if (line !== undefined) finish(() => resolve(line));
          else if (closed) finish(() => reject(new Error(`no line ${pattern} before exit:\n${output()}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no line ${pattern} within ${timeoutMs} ms:\n${output()}`))),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      }),
    output,
  };
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  readonly body: unknown;
}

/** One HTTP request on its own connection (no keep-alive, so nothing holds a stopping server open). */
export function httpCall(
  port: number,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  options: { headers?: Record<string, string>; json?: unknown; timeoutMs?: number } = {},
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const payload = options.json === undefined ? undefined : JSON.stringify(options.json);
    const headers: Record<string, string> = { ...options.headers };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, headers, agent: false, timeout: options.timeoutMs ?? 5_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Polls GET /healthz every 10 ms until it answers 200; returns that response. */
export async function waitForHealthz(server: ServerProcess, timeoutMs = 15_000): Promise<HttpResponse> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exit() !== null) throw new Error(`the server exited before answering /healthz:\n${server.output()}`);
    try {
      const response = await httpCall(server.port, 'GET', '/healthz', { timeoutMs: 1_000 });
      if (response.status === 200) return response;
    } catch {
      // not listening yet
    }
    await sleep(10);
  }
  throw new Error(`/healthz did not answer 200 within ${timeoutMs} ms:\n${server.output()}`);
}

/**
 * Spawns the server and waits until /healthz answers (killing it if that fails within `timeoutMs`); `startMs` is the
 * time from the spawn to the first 200 of /healthz.
 */
export async function startServer(
  env: Record<string, string>,
  { timeoutMs = 15_000 }: { timeoutMs?: number } = {},
): Promise<ServerProcess & { readonly startMs: number }> {
  const server = await spawnServer(env);
  try {
    await waitForHealthz(server, timeoutMs);
  } catch (error) {
    server.child.kill('SIGKILL');
    throw error;
  }
  return { ...server, startMs: performance.now() - server.spawnedAt };
}

/**
 * Sends `signal` (none when null: the caller signalled already — a second SIGTERM makes the server exit 1 at once)
 * and waits for the exit (SIGKILL after `timeoutMs`, then throws); returns the exit and the time from the signal to
 * the exit (then it also waits for the last lines of stdout).
 */
export async function stopServer(
  server: ServerProcess,
  { signal = 'SIGTERM', timeoutMs = 5_000 }: { signal?: NodeJS.Signals | null; timeoutMs?: number } = {},
): Promise<Exit & { ms: number }> {
  const since = performance.now();
  if (signal !== null && server.exit() === null) server.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    server.exited,
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    }),
  ]);
  const ms = performance.now() - since;
  clearTimeout(timer);
  if (outcome === null) {
    server.child.kill('SIGKILL');
    await server.exited;
    throw new Error(
      `the server did not exit within ${timeoutMs} ms${signal === null ? '' : ` of ${signal}`}:\n${server.output()}`,
    );
  }
  // Let the last buffered lines of stdout arrive.
  await new Promise<void>((resolve) => {
    if (server.child.stdout === null || server.child.stdout.readableEnded) resolve();
    else server.child.stdout.once('end', () => resolve());
  });
  return { ...outcome, ms };
}

export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end (killed after `timeoutMs`), collecting its output. */
export function runCommand(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      children.delete(child);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}

/** Runs `node dist/src/cli/main.js ...args` with the given OpenFiskal settings. */
export function runCli(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<CommandResult> {
  return runCommand(process.execPath, [CLI_ENTRY, ...args], childEnv(env), timeoutMs);
}
