/** Schema validation of outbound XML with Debian's xmllint (package libxml2-utils). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** xmllint's verdict on a message: null when it is valid against `xsd`, else its complaint. */
export function schemaErrors(xsd: string, xml: string): string | null {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xml-')), 'msg.xml');
  fs.writeFileSync(file, xml);
  try {
    const r = spawnSync('xmllint', ['--noout', '--schema', xsd, file], { encoding: 'utf8' });
    if (r.error) throw new Error(`xmllint is needed for this test (Debian: libxml2-utils): ${r.error.message}`);
    return r.status === 0 ? null : r.stderr;
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}
