/**
 * Writes the API's OpenAPI document to specs/openapi.json (`npm run openapi`). The document is
 * generated from the zod schemas; test/unit/openapi-document.test.ts fails when the file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiDocumentText } from '../core/api/openapi-document.ts';
import { ROUTES } from '../lambdas/routes.ts';

const target = fileURLToPath(new URL('../specs/openapi.json', import.meta.url));
writeFileSync(target, openApiDocumentText(ROUTES));
console.log(`wrote ${target}`);
