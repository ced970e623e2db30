/**
 * `stayos keys status` and `stayos keys rotate`: which key each ciphertext is under, and the
 * online re-encryption under the current key (core/pii-keys.ts). The procedure is in
 * docs/security.md ("Rotation", "The encryption key").
 */
import { Presets, SingleBar } from 'cli-progress';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { keyStatus, rotateKeys } from '../core/pii-keys.ts';
import { withDb } from './db.ts';

export async function runKeyStatus(config: Config, log: Logger): Promise<void> {
  await withDb(config, log, async (db) => {
    const s = await keyStatus(db.pool);
    console.log(`current key: ${s.currentKeyId}`);
    for (const c of s.columns) {
      const counts = Object.entries(c.byKey)
        .map(([k, n]) => `${k === s.currentKeyId ? `${k} (current)` : k}: ${n}`)
        .join(', ');
      console.log(`${`${c.table}.${c.column}`.padEnd(52)} ${counts || 'no ciphertexts'}`);
    }
    console.log(s.remaining ? `${s.remaining} ciphertexts are under older keys: run \`stayos keys rotate\`` : 'every ciphertext is under the current key');
  });
}

export async function runKeyRotate(config: Config, log: Logger, o: { batchSize: number }): Promise<void> {
  await withDb(
    config,
    log,
    async (db) => {
      const before = await keyStatus(db.pool);
      const bar = new SingleBar({ format: 're-encrypting {bar} {percentage}% | {value}/{total} | {column}', hideCursor: true }, Presets.shades_classic);
      bar.start(before.remaining, 0, { column: '' });
      const stop = new AbortController();
      // Ctrl+C ends the batch under way and stops: what is done stays done, a new run resumes.
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      try {
        const r = await rotateKeys(db.pool, {
          batchSize: o.batchSize,
          signal: stop.signal,
          onProgress: (p) => bar.increment(p.rewritten, { column: `${p.table}.${p.column}` }),
        });
        bar.stop();
        console.log(`re-encrypted ${r.rewritten} ciphertexts under key ${r.currentKeyId}; ${r.remaining} left under older keys`);
        for (const k of r.skipped) console.log(`not rewritten: ${k.table}.${k.column} row ${k.id}: ${k.error}`);
        if (r.skipped.length) {
          console.log(
            'rows not rewritten stay readable under their old key while it is given; fix them (a duplicate card or document: delete the copy; a key not given: add it to STAYOS_ENCRYPTION_PREVIOUS_KEYS) and run it again',
          );
        }
        if (r.remaining) {
          console.log(
            stop.signal.aborted
              ? 'interrupted: run `stayos keys rotate` again to go on'
              : 'some rows are still under older keys (written meanwhile by a process still writing under an old key, locked through every pass, or not rewritten): run it again',
          );
          process.exitCode = 1;
        }
      } finally {
        bar.stop();
        process.off('SIGINT', onSignal);
      }
    },
    { poolSize: 2 },
  );
}
