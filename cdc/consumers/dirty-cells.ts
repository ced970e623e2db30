/**
 * The per-OTA consumer at the end of the CDC pipe: change events → dirty ARI cells of that OTA's
 * connections (channel.ari_dirty_cells), stored with one upsert per batch. What each table's
 * change means:
 *  - daily_rates, restrictions: the cell itself (old and new key, if re-keyed), and the same
 *    cell of every plan derived from its rate plan (the marking statement adds those);
 *  - rate_plans: every cell of the plan (and of its derived plans), when what prices it changed
 *    (parent, adjustment, rounding, pricing model, currency, deletion);
 *  - reservation_rooms: the room type's nights [arrival, departure), old and new;
 *  - reservations: the nights of its rooms (a cancellation frees them, a confirmation takes them);
 *  - inventory_blocks: the room type's nights [start, end), old and new;
 *  - room_type_closures: every rate of the room type on that night;
 *  - rooms: the room type's whole window, when the room's sellability or type changed;
 *  - channel_mappings: the cells of the mapping's room type at that connection (old and new target):
 *    its availability rules are the room's;
 *  - channel_connections: every cell of the connection, when what the OTA must show changed
 *    (hotel code, endpoint, settings), not on the connectors' own status bookkeeping.
 * Marking a cell dirty twice is harmless, so re-delivered events need no deduplication.
 */
import type { Pool } from '../../core/db.ts';
import type { Logger } from '../../core/logger.ts';
import { isInputError, rerunOnConflict, withTransaction } from '../../core/db.ts';
import { nextDay } from '../../core/dates.ts';
import type { ChangeEvent, ChangeSink, Row } from '../types.ts';
import { RangeBuffer } from './ranges.ts';
import { resyncChannels } from '../resync.ts';
import { recordIncident, resolveIsolated } from '../sql/incidents.ts';
import { cdcIncidents } from '../../core/metrics.ts';
import {
  connectionsOfProperty,
  markDirtyCells,
  recordMappingProblems,
  resolveMappedProblems,
  roomsOfReservations,
  type CellRange,
} from '../sql/dirty-cells.ts';

/** The availability contract: a room counts unless out of service or deleted. */
const UNSELLABLE = new Set(['out_of_service']);
const RATE_PLAN_FIELDS = [
  'parent_rate_plan_id',
  'derived_adjustment_pct',
  'derived_adjustment_amount',
  'derived_rounding',
  'pricing_model',
  'currency',
  'deleted_at',
  'property_id',
];
const CONNECTION_FIELDS = ['ota_hotel_code', 'endpoint_url', 'settings', 'property_id', 'deleted_at', 'channel_code'];

/** The tables whose rows feed the ARI values (the switch below). */
const ARI_TABLES = new Set([
  'property_mgmt.daily_rates',
  'property_mgmt.restrictions',
  'property_mgmt.rate_plans',
  'reservation.reservation_rooms',
  'reservation.reservations',
  'property_mgmt.inventory_blocks',
  'property_mgmt.room_type_closures',
  'property_mgmt.rooms',
  'channel.channel_mappings',
  'channel.channel_connections',
]);

/** Whether an update changed any of `fields` (no old image: treated as changed). */
const changed = (c: ChangeEvent, fields: readonly string[]): boolean =>
  !c.before || fields.some((f) => JSON.stringify(c.before![f]) !== JSON.stringify(c.after?.[f]));

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** Mirrors property_mgmt.room_is_sellable (a test holds the two equal for every room status). */
export function sellable(row: Row | null): boolean {
  return !!row && row.deleted_at == null && !UNSELLABLE.has(String(row.status));
}

/** Distinct spans held before the consumer flushes by itself inside a large transaction. */
const MAX_BUFFERED_RANGES = 20_000;

/**
 * One consumer serves every channel it is given: the in-process transport hands it both OTAs (the
 * change is read once, and one statement marks the cells of both), a Pub/Sub subscriber its own.
 */
export class DirtyCellsConsumer implements ChangeSink {
  private ranges = new RangeBuffer();
  private reservations = new Set<string>(); // reservations whose rooms' nights must be re-marked
  private reservationsLsn = ''; // the latest change among them (changes arrive in commit order)
  private remapped = new Set<string>(); // connections whose mappings changed

  private truncated = new Set<string>(); // ARI tables truncated: every connection resynchronised
  private readonly log: Logger | undefined;
  private readonly source: string;

  /** `source`: the slot or subscription the changes come from, named in incident records. */
  constructor(
    private readonly pool: Pool,
    readonly channels: readonly string[],
    options: { log?: Logger; source?: string } = {},
  ) {
    this.log = options.log;
    this.source = options.source ?? 'cdc';
  }

  write(c: ChangeEvent): void | Promise<void> {
    this.collect(c);
    // Memory stays bounded inside a huge transaction: store what we have (re-delivery after a
    // crash marks the same cells again, which is harmless).
    if (this.ranges.size + this.reservations.size >= MAX_BUFFERED_RANGES) return this.flush();
  }

  /** Both images of the change (an update may move a row from one cell or range to another). */
  private each(c: ChangeEvent, fn: (r: Row) => void): void {
    if (c.before && c.before.property_id != null) fn(c.before);
    if (c.after && c.after.property_id != null) fn(c.after);
  }

  private collect(c: ChangeEvent): void {
    const b = this.ranges;
    const table = `${c.schema}.${c.table}`;
    // A TRUNCATE names no rows: every cell its table feeds may have changed.
    if (c.op === 'truncate') {
      if (ARI_TABLES.has(table)) this.truncated.add(table);
      return;
    }
    switch (table) {
      case 'property_mgmt.daily_rates':
      case 'property_mgmt.restrictions': {
        // The hot case (a rate edit): one cell, whose key an update rarely changes.
        const { before, after } = c;
        if (
          before &&
          after &&
          before.stay_date === after.stay_date &&
          before.room_type_id === after.room_type_id &&
          before.rate_plan_id === after.rate_plan_id &&
          before.property_id === after.property_id
        ) {
          if (after.property_id != null)
            b.add(
              null,
              String(after.property_id),
              str(after.room_type_id),
              str(after.rate_plan_id),
              String(after.stay_date),
              nextDay(String(after.stay_date)),
              c.lsn,
            );
          break;
        }
        this.each(c, (r) =>
          b.add(null, String(r.property_id), str(r.room_type_id), str(r.rate_plan_id), String(r.stay_date), nextDay(String(r.stay_date)), c.lsn),
        );
        break;
      }
      case 'property_mgmt.rate_plans': {
        if (c.op !== 'update' || changed(c, RATE_PLAN_FIELDS)) this.each(c, (r) => b.add(null, String(r.property_id), null, str(r.id), null, null, c.lsn));
        break;
      }
      case 'reservation.reservation_rooms':
        this.each(c, (r) => b.add(null, String(r.property_id), str(r.room_type_id), null, str(r.arrival_date), str(r.departure_date), c.lsn));
        break;
      case 'property_mgmt.room_type_closures':
        // Every rate plan of the room type that night (old and new night, if moved).
        this.each(c, (r) => b.add(null, String(r.property_id), str(r.room_type_id), null, String(r.stay_date), nextDay(String(r.stay_date)), c.lsn));
        break;
      case 'property_mgmt.inventory_blocks':
        this.each(c, (r) => b.add(null, String(r.property_id), str(r.room_type_id), null, str(r.start_date), str(r.end_date), c.lsn));
        break;
      case 'property_mgmt.rooms': {
        const moved = c.op !== 'update' || sellable(c.before) !== sellable(c.after) || c.before?.room_type_id !== c.after?.room_type_id;
        if (moved) this.each(c, (r) => b.add(null, String(r.property_id), str(r.room_type_id), null, null, null, c.lsn));
        break;
      }
      case 'reservation.reservations': {
        const id = str(c.key.id ?? c.after?.id ?? c.before?.id);
        if (id) {
          this.reservations.add(id);
          this.reservationsLsn = c.lsn;
        }
        break;
      }
      case 'channel.channel_mappings':
        // Every rate of the room type: a mapping's availability rules set the room's availability
        // at the OTA (connectors/outbound/sql/ari.ts room_rule), which every rate of it shows.
        this.each(c, (r) => {
          b.add(str(r.connection_id), String(r.property_id), str(r.room_type_id), null, null, null, c.lsn);
          this.remapped.add(String(r.connection_id));
        });
        break;
      case 'channel.channel_connections': {
        // Re-enabled after a disable (its OTA targets were closed and their acknowledgements
        // forgotten): its whole window goes out again.
        const enabled = c.before?.status === 'disabled' && c.after?.status !== 'disabled';
        if ((enabled || c.op !== 'update' || changed(c, CONNECTION_FIELDS)) && c.after && c.after.property_id != null)
          b.add(str(c.after.id), String(c.after.property_id), null, null, null, null, c.lsn);
        break;
      }
      default:
        break; // not an ARI table (domain events and others pass through)
    }
  }

  async flush(): Promise<void> {
    if (this.truncated.size) await this.resyncTruncated();
    if (!this.ranges.size && !this.reservations.size && !this.remapped.size) return;
    const reservations = [...this.reservations];
    const reservationsLsn = this.reservationsLsn;
    const remapped = [...this.remapped];
    this.reservations = new Set();
    this.remapped = new Set();
    // The reservations' nights are read before the marking transaction, so that everything it
    // writes is in hand when it starts: PostgreSQL may abort it for meeting a sync worker's finish
    // (a deadlock it would have been, were both not locking in the cell key's order) and it then
    // runs again with the same ranges (a failure escaping the reruns leaves the transaction
    // unconfirmed, and the changes are delivered again).
    if (reservations.length) {
      const { rows } = await this.pool.query(roomsOfReservations(reservations));
      for (const r of rows) this.ranges.add(null, r.property_id, r.room_type_id, null, r.arrival, r.departure, reservationsLsn);
    }
    await this.store(this.ranges.drain(), remapped);
  }

  /**
   * Stores ranges in one transaction. If PostgreSQL refuses their input (a connection setting the
   * statement cannot read, say), running them again would fail forever and stall every hotel
   * behind them: the batch is split in halves, each stored on its own, down to the one range that
   * fails alone, which is set aside (isolate). Transient failures are thrown: the stream
   * reconnects and delivers the changes again.
   */
  private async store(ranges: CellRange[], remapped: string[]): Promise<void> {
    try {
      await rerunOnConflict(
        () =>
          withTransaction(this.pool, async (client) => {
            if (ranges.length) {
              // Index probes only (see markDirtyCells): the planner, blind to the batch's size and to a
              // cell table grown since its last analysis, would otherwise scan whole tables per flush.
              await client.query('SET LOCAL enable_seqscan = off');
              await client.query(markDirtyCells(this.channels, ranges));
              const problems = recordMappingProblems(this.channels, ranges);
              if (!problems.empty) await client.query(problems);
            }
            if (remapped.length) await client.query(resolveMappedProblems(remapped));
            // A connection whose whole window was marked has every change it missed: what was set aside for it is healed.
            const whole = ranges.filter((r) => r.connectionId && !r.roomTypeId && !r.ratePlanId && !r.from && !r.to).map((r) => r.connectionId!);
            if (whole.length) await client.query(resolveIsolated(this.source, whole));
          }),
        { what: 'cdc marking', log: this.log },
      );
    } catch (err) {
      if (!isInputError(err)) throw err;
      if (ranges.length > 1) {
        const half = Math.ceil(ranges.length / 2);
        await this.store(ranges.slice(0, half), remapped);
        await this.store(ranges.slice(half), []);
        return;
      }
      const range = ranges[0];
      if (range && range.connectionId === null) {
        // A change of a property concerns each of its connections: store it for each apart, so
        // that only the connection at fault misses it (and its fix, which marks its whole window, heals it).
        const { rows } = await this.pool.query<{ id: string }>(connectionsOfProperty(this.channels, range.propertyId));
        if (rows.length) {
          for (const c of rows) await this.store([{ ...range, connectionId: c.id }], []);
          if (remapped.length) await this.store([], remapped);
          return;
        }
      }
      await this.isolate(range, remapped, err as Error & { code?: string });
    }
  }

  /** A change that cannot be stored: recorded (an open incident naming it and the error), counted, logged; the stream moves on. */
  private async isolate(range: CellRange | undefined, remapped: string[], err: Error & { code?: string }): Promise<void> {
    const what = range
      ? `the change to ${range.connectionId ? `connection ${range.connectionId}` : `property ${range.propertyId}`}` +
        `${range.roomTypeId ? `, room type ${range.roomTypeId}` : ''}${range.ratePlanId ? `, rate plan ${range.ratePlanId}` : ''}` +
        ` (nights ${range.from ?? 'window start'} to ${range.to ?? 'window end'}, WAL ${range.lsn})`
      : `the mapping change of connection(s) ${remapped.join(', ')}`;
    const detail = `${what} could not be stored and was set aside: ${err.code ?? ''} ${err.message}. Fix the cause (a connection's settings, say) and the fix itself marks the cells again; or run a full sync.`;
    this.log?.error({ range, remapped, code: err.code, err: err.message }, 'cdc: a change could not be stored; set aside so the stream moves on');
    cdcIncidents.inc({ kind: 'poison' });
    await this.pool.query(
      recordIncident(
        this.source,
        'poison',
        detail,
        { range: range ?? null, remapped, code: err.code ?? null, error: err.message },
        { resynced: false, resolved: false },
      ),
    );
  }

  /**
   * A TRUNCATE of an ARI table: every connection of these channels is resynchronised (its whole
   * window marked; what the OTA acknowledged stays valid, it is our side that changed), and the
   * incident recorded and counted. Done before the transaction is confirmed, like any marking.
   */
  private async resyncTruncated(): Promise<void> {
    const tables = [...this.truncated].sort();
    const reason = `TRUNCATE of ${tables.join(', ')}`;
    const done = await resyncChannels(this.pool, this.channels, { reason, severity: 'warning', forgetAcknowledged: false, log: this.log });
    const failed = done.failed.map((f) => `${f.connectionId} (${f.error})`).join(', ');
    await this.pool.query(
      recordIncident(
        this.source,
        'truncate',
        `${reason}: ${done.connections} connection(s) resynchronised (${this.channels.join(', ')})${failed ? `; not resynchronised: ${failed}` : ''}`,
        { tables, channels: this.channels, ...done },
        { resynced: true, resolved: !failed },
      ),
    );
    cdcIncidents.inc({ kind: 'truncate' });
    this.truncated = new Set();
  }
}
