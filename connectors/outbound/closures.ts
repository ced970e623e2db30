/**
 * What a closure sends (connectors/sql/closures.ts): every night of its window the OTA accepts,
 * the rate closed and, when the room is no longer fed by any mapping, the room's availability 0 —
 * in the connector's own messages, to the hotel and endpoint the closure names.
 */
import { addDays } from '../../core/dates.ts';
import type { Closure } from './sql/closures.ts';
import type { OtaValues, Part } from './types.ts';
import type { Connector, PushCell, PushOutcome } from './connector.ts';

const CLOSED: OtaValues = {
  availability: 0,
  rate: null,
  currency: null,
  minLos: 1,
  maxLos: null,
  closedToArrival: false,
  closedToDeparture: false,
  closed: true,
  occupancyRates: null,
  minStayThrough: null,
  maxStayThrough: null,
  minAdvanceDays: null,
  maxAdvanceDays: null,
  roomClosed: false,
};

export function closureCells(closure: Closure, connector: Connector): PushCell[] {
  const first = [closure.firstNight, addDays(closure.today, -1), connector.earliestNight?.() ?? ''].sort().at(-1)!;
  const last = [closure.lastNight, addDays(closure.today, connector.maxDaysAhead)].sort()[0]!;
  const parts: Part[] = closure.roomMapped ? ['restr'] : ['avail', 'restr'];
  const cells: PushCell[] = [];
  for (let night = first; night <= last; night = addDays(night, 1)) {
    cells.push({
      cellId: `${closure.id}:${night}`,
      roomTypeId: '',
      ratePlanId: '',
      roomCode: closure.roomCode,
      rateCode: closure.rateCode,
      night,
      values: CLOSED,
      parts,
    });
  }
  return cells;
}

/** Whether the OTA acknowledged every part of every night. */
export function closedEverywhere(cells: PushCell[], outcome: PushOutcome): boolean {
  const acked = new Map<string, Set<Part>>();
  for (const a of outcome.acked) for (const p of a.parts) (acked.get(a.cellId) ?? acked.set(a.cellId, new Set()).get(a.cellId)!).add(p);
  return cells.every((c) => c.parts.every((p) => acked.get(c.cellId)?.has(p)));
}
