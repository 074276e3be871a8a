// dist/cjs holds the CommonJS build. The package is "type": "module", so without this file Node
// and TypeScript would read dist/cjs/*.js and *.d.ts as ES modules.
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const marker = path.join(import.meta.dirname, '..', 'dist', 'cjs', 'package.json');
writeFileSync(marker, '{ "type": "commonjs" }\n');
