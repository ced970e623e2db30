/**
 * The per-OTA consumer at the end of the CDC pipe: change events → dirty ARI cells of that OTA's
 * connections (channel.ari_dirty_cells), stored with one upsert per batch. What each table's
 * change means:
 *  - daily_rates, restrictions: the cell itself (old and new key, if re-keyed);
 *  - reservation_rooms: the room type's nights [arrival, departure), old and new;
 *  - reservations: the nights of its rooms (a cancellation frees them, a confirmation takes them);
 *  - inventory_blocks: the room type's nights [start, end), old and new;
 *  - rooms: the room type's whole window, when the room's sellability or type changed;
 *  - channel_mappings: the mapping's cells (old and new target);
 *  - channel_connections: every cell of the connection, when what the OTA must show changed
 *    (hotel code, endpoint, settings), not on the connectors' own status bookkeeping.
 * Marking a cell dirty twice is harmless, so re-delivered events need no deduplication.
 */
import type { Pool } from '../../core/db.ts';
import { withTransaction } from '../../core/db.ts';
import type { ChangeEvent, ChangeSink, Row } from '../types.ts';
import { markDirtyCells, recordMappingProblems, resolveMappedProblems, roomsOfReservations, type CellRange } from '../sql/dirty-cells.ts';

/** The availability contract: a room counts unless out of service or deleted. */
const UNSELLABLE = new Set(['out_of_service']);
const CONNECTION_FIELDS = ['ota_hotel_code', 'endpoint_url', 'settings', 'property_id', 'deleted_at', 'channel_code'];

// Memoised: a rate burst repeats the same few hundred dates, and Date arithmetic per change was a
// measurable share of the decode path.
const nextDays = new Map<string, string>();
function nextDay(date: string): string {
  let next = nextDays.get(date);
  if (next === undefined) {
    const d = new Date(`${date}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1);
    next = d.toISOString().slice(0, 10);
    if (nextDays.size > 10_000) nextDays.clear();
    nextDays.set(date, next);
  }
  return next;
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function sellable(row: Row | null): boolean {
  return !!row && row.deleted_at == null && !UNSELLABLE.has(String(row.status));
}

/** Distinct ranges held before the consumer flushes by itself inside a large transaction. */
const MAX_BUFFERED_RANGES = 20_000;

export class DirtyCellsConsumer implements ChangeSink {
  // Keyed by the range itself: a million-row statement on one room type collapses to one range.
  private ranges = new Map<string, CellRange>();
  private reservations = new Map<string, string>(); // reservation id → lsn
  private remapped = new Set<string>(); // connections whose mappings changed

  constructor(
    private readonly pool: Pool,
    readonly channel: string,
  ) {}

  write(c: ChangeEvent): void | Promise<void> {
    this.collect(c);
    // Memory stays bounded inside a huge transaction: store what we have (re-delivery after a
    // crash marks the same cells again, which is harmless).
    if (this.ranges.size + this.reservations.size >= MAX_BUFFERED_RANGES) return this.flush();
  }

  private collect(c: ChangeEvent): void {
    const rows = [c.before, c.after].filter((r): r is Row => !!r && r.property_id != null);
    const add = (r: Row, range: Omit<CellRange, 'propertyId' | 'lsn'>) => {
      const full = { ...range, propertyId: String(r.property_id), lsn: c.lsn };
      this.ranges.set(`${full.connectionId}|${full.propertyId}|${full.roomTypeId}|${full.ratePlanId}|${full.from}|${full.to}`, full);
    };
    switch (`${c.schema}.${c.table}`) {
      case 'property_mgmt.daily_rates':
      case 'property_mgmt.restrictions':
        for (const r of rows) {
          const day = String(r.stay_date);
          add(r, { connectionId: null, roomTypeId: str(r.room_type_id), ratePlanId: str(r.rate_plan_id), from: day, to: nextDay(day) });
        }
        break;
      case 'reservation.reservation_rooms':
        for (const r of rows) add(r, { connectionId: null, roomTypeId: str(r.room_type_id), ratePlanId: null, from: str(r.arrival_date), to: str(r.departure_date) });
        break;
      case 'property_mgmt.inventory_blocks':
        for (const r of rows) add(r, { connectionId: null, roomTypeId: str(r.room_type_id), ratePlanId: null, from: str(r.start_date), to: str(r.end_date) });
        break;
      case 'property_mgmt.rooms': {
        const moved = c.op !== 'update' || sellable(c.before) !== sellable(c.after) || c.before?.room_type_id !== c.after?.room_type_id;
        if (moved) for (const r of rows) add(r, { connectionId: null, roomTypeId: str(r.room_type_id), ratePlanId: null, from: null, to: null });
        break;
      }
      case 'reservation.reservations': {
        const id = str(c.key.id ?? c.after?.id ?? c.before?.id);
        if (id) this.reservations.set(id, c.lsn);
        break;
      }
      case 'channel.channel_mappings':
        for (const r of rows) {
          add(r, { connectionId: str(r.connection_id), roomTypeId: str(r.room_type_id), ratePlanId: str(r.rate_plan_id), from: null, to: null });
          this.remapped.add(String(r.connection_id));
        }
        break;
      case 'channel.channel_connections': {
        const changed = c.op !== 'update' || !c.before || CONNECTION_FIELDS.some((f) => JSON.stringify(c.before![f]) !== JSON.stringify(c.after?.[f]));
        if (changed && c.after) add(c.after, { connectionId: str(c.after.id), roomTypeId: null, ratePlanId: null, from: null, to: null });
        break;
      }
      default:
        break; // not an ARI table (domain events and others pass through)
    }
  }

  async flush(): Promise<void> {
    if (!this.ranges.size && !this.reservations.size && !this.remapped.size) return;
    const ranges = [...this.ranges.values()];
    const reservations = this.reservations;
    const remapped = [...this.remapped];
    this.ranges = new Map();
    this.reservations = new Map();
    this.remapped = new Set();
    await withTransaction(this.pool, async (client) => {
      if (reservations.size) {
        const lsn = [...reservations.values()].sort().at(-1)!;
        const { rows } = await client.query(roomsOfReservations([...reservations.keys()]));
        for (const r of rows) ranges.push({ connectionId: null, propertyId: r.property_id, roomTypeId: r.room_type_id, ratePlanId: null, from: r.arrival, to: r.departure, lsn });
      }
      if (ranges.length) {
        // The batch arrives as one JSON document, which the planner estimates at 100 rows; with
        // thousands it would pick nested loops over ranges × mappings. Hash joins scale here.
        await client.query('SET LOCAL enable_nestloop = off');
        await client.query(markDirtyCells(this.channel, ranges));
        const problems = recordMappingProblems(this.channel, ranges);
        if (!problems.empty) await client.query(problems);
      }
      if (remapped.length) await client.query(resolveMappedProblems(remapped));
    });
  }
}
