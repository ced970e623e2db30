/**
 * Log sequence numbers: PostgreSQL's WAL positions, "XXXXXXXX/YYYYYYYY" in text, 64-bit numbers
 * here (bigint) so they compare and subtract exactly.
 */
export type Lsn = bigint;

export function parseLsn(text: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!m) throw new Error(`not an LSN: ${JSON.stringify(text)}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** Orders two LSNs in text form without BigInt (the consumers' hot path): each half is < 2^32,
 * exact as a JS number. */
export function compareLsn(a: string, b: string): number {
  if (a === b) return 0;
  const [ah, al] = a.split('/');
  const [bh, bl] = b.split('/');
  return parseInt(ah!, 16) - parseInt(bh!, 16) || parseInt(al!, 16) - parseInt(bl!, 16);
}
