/**
 * The layering (issue 17): core/ (config, db, errors, migrations, the demo's data) is the bottom
 * layer and imports nothing above it — not the API, the CDC, the connectors, the inbound engine or
 * the CLI. Read from the source files themselves, until ESLint's import-boundary rules take over.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ABOVE_CORE = ['api', 'cdc', 'connectors', 'inbound', 'cli'];

function sources(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

describe('layering', () => {
  it('core/ imports nothing from the layers above it', () => {
    const files = sources(path.join(ROOT, 'core'));
    expect(files.length).toBeGreaterThan(10);
    const upward: string[] = [];
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      for (const [, spec] of text.matchAll(/(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) {
        if (!spec?.startsWith('.')) continue;
        const target = path.relative(ROOT, path.resolve(path.dirname(file), spec)).split(path.sep)[0]!;
        if (ABOVE_CORE.includes(target)) upward.push(`${path.relative(ROOT, file)} → ${spec}`);
      }
    }
    expect(upward).toEqual([]);
  });
});
