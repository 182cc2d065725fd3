import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderErrorCatalogue } from './catalogue-markdown.js';
import { ERROR_CATALOGUE } from './codes.js';

describe(renderErrorCatalogue.name, () => {
  it('lists every code with its status and retryability', () => {
    const markdown = renderErrorCatalogue();
    for (const [code, definition] of Object.entries(ERROR_CATALOGUE)) {
      expect(markdown).toContain(
        `| ${String(definition.status)} | \`${code}\` | ${definition.retryable ? 'yes' : 'no'} |`,
      );
    }
  });

  it('matches the committed docs/errors.md (run `npm run docs:errors` after changing the catalogue)', () => {
    const committed = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderErrorCatalogue());
  });
});
