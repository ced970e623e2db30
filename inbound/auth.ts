/**
 * Credential checks of inbound senders, in constant time: both sides are hashed first (equal
 * lengths whatever was sent), and username and password are both always compared, so the time
 * taken says nothing about which part, or how much of it, was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function sameSecret(expected: unknown, given: unknown): boolean {
  const ok = typeof expected === 'string' && expected.length > 0;
  const match = timingSafeEqual(digest(ok ? expected : '\u0000'), digest(typeof given === 'string' ? given : '\u0001'));
  return ok && typeof given === 'string' && match;
}

/** The connection's stored `{ username, password }` against what the sender gave. */
export function credentialsMatch(stored: Record<string, unknown> | null, username: string | undefined, password: string | undefined): boolean {
  const user = sameSecret(stored?.username, username);
  const pass = sameSecret(stored?.password, password);
  return user && pass;
}

/** `Authorization: Basic …` → username and password (undefined parts when absent or malformed). */
export function basicAuth(header: string | undefined): { username: string | undefined; password: string | undefined } {
  const m = /^Basic\s+([A-Za-z0-9+/=]{1,1024})$/i.exec(header ?? '');
  if (!m) return { username: undefined, password: undefined };
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? { username: undefined, password: undefined } : { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
}
