/** Writes docs/errors.md from the error catalogue (`npm run docs:errors`). */
import { writeFileSync } from 'node:fs';
import { renderErrorCatalogue } from '../src/errors/catalogue-markdown.js';

const path = new URL('../docs/errors.md', import.meta.url);
writeFileSync(path, renderErrorCatalogue());
process.stdout.write(`wrote ${path.pathname}\n`);
