/**
 * The message contract on Pub/Sub (docs/events.md): CloudEvents 1.0 in binary mode. Attributes
 * carry the envelope (ce-*), the body is the change as JSON.
 */
import type { ChangeEvent } from '../types.ts';
import { changeId } from '../types.ts';

export interface PubSubMessage {
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey: string;
}

/** The body of a change message. */
export interface ChangeData {
  op: ChangeEvent['op'];
  schema: string;
  table: string;
  key: Record<string, unknown>;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  lsn: string;
  commitLsn: string;
  xid: number;
  commitTime: string;
}

export const DOMAIN_EVENTS_TABLE = 'compliance.domain_events';

export function isDomainEvent(c: Pick<ChangeEvent, 'schema' | 'table'>): boolean {
  return `${c.schema}.${c.table}` === DOMAIN_EVENTS_TABLE;
}

export function toMessage(c: ChangeEvent, source: string): PubSubMessage {
  const data: ChangeData = {
    op: c.op,
    schema: c.schema,
    table: c.table,
    key: c.key,
    before: c.before,
    after: c.after,
    lsn: c.lsn,
    commitLsn: c.commitLsn,
    xid: c.xid,
    commitTime: c.commitTime,
  };
  const keyValues = Object.values(c.key);
  const type =
    isDomainEvent(c) && c.after ? `stayos.${String(c.after.aggregate_type)}.${String(c.after.event_type)}` : `stayos.cdc.${c.schema}.${c.table}.${c.op}`;
  const attributes: Record<string, string> = {
    'ce-specversion': '1.0',
    'ce-id': changeId(c),
    'ce-source': source,
    'ce-type': type,
    'ce-time': c.commitTime,
    'ce-subject': keyValues.length === 1 ? String(keyValues[0]) : JSON.stringify(c.key),
    'content-type': 'application/json',
  };
  if (c.propertyId) attributes.property_id = c.propertyId;
  // Ordering per property keeps one hotel's changes in commit order where the service honours
  // ordering keys; correctness never depends on it (consumers are idempotent per cell).
  return { data: Buffer.from(JSON.stringify(data)), attributes, orderingKey: c.propertyId ?? '' };
}

/** Parses a received message back into a change event; throws on anything that is not our contract. */
export function fromMessage(data: Buffer, attributes: Record<string, string>): ChangeEvent {
  if (attributes['ce-specversion'] !== '1.0' || !attributes['ce-id']) throw new Error('not a StayOS CloudEvent (ce-specversion/ce-id missing)');
  const d = JSON.parse(data.toString('utf8')) as ChangeData;
  const index = Number(attributes['ce-id'].split('/').at(-1));
  return {
    op: d.op,
    schema: d.schema,
    table: d.table,
    key: d.key,
    before: d.before,
    after: d.after,
    unchangedToast: [],
    lsn: d.lsn,
    commitLsn: d.commitLsn,
    index,
    xid: d.xid,
    commitTime: d.commitTime,
    propertyId: attributes.property_id ?? null,
  };
}
