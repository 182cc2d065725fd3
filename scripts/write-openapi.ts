/** Writes openapi/openapi.json from the route schemas (`npm run openapi`); a test fails when it is stale. */
import { writeFileSync } from 'node:fs';
import { formatOpenApiDocument, generateOpenApiDocument } from '../src/openapi-document.js';

const path = new URL('../openapi/openapi.json', import.meta.url);
writeFileSync(path, formatOpenApiDocument(await generateOpenApiDocument()));
process.stdout.write(`wrote ${path.pathname}\n`);
