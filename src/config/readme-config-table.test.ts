import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from './config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Auth model'));
const documented = [...table.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(.*?)\s*\|/gm)].map((m) => ({
  name: m[1],
  fallback: (m[2] ?? '').replace(/^`|`$/g, ''),
}));

describe('README configuration table', () => {
  it('documents exactly the variables the server reads', () => {
    expect(documented.map((d) => d.name).sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it('states the defaults the server applies', () => {
    const defaults = loadConfig({}, '/srv/app');
    const byName = new Map(documented.map((d) => [d.name, d.fallback]));
    expect(byName.get('PORT')).toBe(String(defaults.port));
    expect(byName.get('HOST')).toBe(defaults.host);
    expect(byName.get('OPENFISKAL_ENV')).toBe(defaults.environment);
    expect(byName.get('LOG_LEVEL')).toBe(defaults.logLevel);
    expect(byName.get('OPENFISKAL_IDEMPOTENCY_TTL_HOURS')).toBe(String(defaults.idempotencyTtlHours));
    expect(byName.get('OPENFISKAL_SETUP_TOKEN_TTL_HOURS')).toBe(String(defaults.setupTokenTtlHours));
    expect(byName.get('OPENFISKAL_RATE_LIMIT')).toBe(String(defaults.rateLimitPerSecond));
    expect(byName.get('OPENFISKAL_DB_POOL_SIZE')).toBe(String(defaults.databasePoolSize));
    expect(byName.get('OPENFISKAL_SHUTDOWN_GRACE_MS')).toBe(String(defaults.shutdownGraceMs));
    expect(byName.get('OPENFISKAL_SIGNING_TIMEOUT_MS')).toBe(String(defaults.signingTimeoutMs));
    expect(defaults.publicUrl).toBeNull();
    expect(byName.get('OPENFISKAL_PUBLIC_URL')).toBe('(none)');
    expect(defaults.dataDir).toBe('/srv/app/data');
    expect(defaults.database).toEqual({ kind: 'sqlite', path: '/srv/app/data/openfiskal.db' });
  });
});
