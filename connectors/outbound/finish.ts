/**
 * The end of a push, in one transaction: what the OTA acknowledged, refused or left unknown is
 * stored, the claim ended, cells lost to another worker made dirty again, and the connection's
 * error rows brought up to date. Separate from the worker so that the lock-order test runs this
 * very code against the CDC's marking and the revenue team's "retry errors".
 *
 * Lock order (issue 20): the claimed cells' rows first, all of them, in the cell key's order
 * (lockClaim) — the order of the CDC's marking upsert and of every other writer of
 * channel.ari_dirty_cells — then channel.ari_acknowledged, then the error tables. Nothing here
 * waits on a cell row after that first statement except a lost cell whose row another worker
 * deleted meanwhile (redirtyLostCells inserting it anew); the caller runs the whole transaction
 * again at once if PostgreSQL still aborts it (rerunOnConflict).
 */
import type { PoolClient } from '../../core/db.ts';
import { recordRejectedMapping } from './sql/mapping.ts';
import {
  finishClaim,
  forgetOthersAtTargets,
  forgetParts,
  lockClaim,
  recordSyncErrors,
  redirtyLostCells,
  resolveOverbookings,
  resolveRefusals,
  resolvePricingModel,
  storeAcknowledged,
  storeRefused,
  type AckedCell,
  type PushTarget,
  type SyncErrorEntry,
} from './sql/sync.ts';
import type { Part } from './types.ts';
import { countClosingsSent, resolveHeldErrors, storeHold, type HoldRecord } from './sql/holds.ts';
import { CLOSING_WINDOW_MINUTES } from './guard.ts';
import type { PushCell } from './connector.ts';

export interface PushFinish {
  connectionId: string;
  propertyId: string;
  claimId: string;
  /** Where the push went (with each cell's OTA room and rate): what is acknowledged or refused is that target's. */
  target: PushTarget;
  /** Every cell the claim took. */
  cellIds: string[];
  /** The cells that were pushed (a lost one is made dirty again by its key). */
  pushed: PushCell[];
  acked: AckedCell[];
  /** Of the acknowledged cells, those that had nothing acknowledged at their target before this push (forgetOthersAtTargets). */
  fresh: string[];
  /** Parts sent without a definitive answer: their acknowledgement is forgotten. */
  uncertain: Array<{ cellId: string; parts: Part[] }>;
  /** Values the OTA refused for good, per cell and part. */
  refused: Array<{ cellId: string; room: string; rate: string; refused: Record<string, Record<string, unknown>> }>;
  /** Cells done, with the dirty_seq read after claiming: deleted if it is unchanged. */
  done: Array<{ cellId: string; dirtySeq: string }>;
  /** (room type, rate plan) pairs of this claim priced in the OTA's model: their pricing-model errors resolve. */
  pricedAlike?: Array<{ roomTypeId: string; ratePlanId: string }>;
  /** Cells the OTA accepted whole: their refusal rows resolve. */
  accepted: Array<{ roomTypeId: string; ratePlanId: string; stayDate: string }>;
  errors: SyncErrorEntry[];
  /** Cells whose availability went out without an overbooking: their overbooking alerts resolve. */
  notOverbooked: Array<{ roomTypeId: string; stayDate: string }>;
  /** Cells a guardrail held for approval (released by finishClaim, then held here). */
  holds: HoldRecord[];
  /** Closings sent by this push, counted towards guard_close_share_pct's window. */
  closingsSent?: number;
  /** A mapping the OTA said it does not know, with its message. */
  unknownMappings: Array<{ cell: PushCell; message: string }>;
}

/** Runs the finish inside the caller's transaction; returns how many pushed cells were lost to another worker. */
export async function finishPush(client: PoolClient, f: PushFinish): Promise<{ lost: number }> {
  await client.query(lockClaim(f.claimId, f.cellIds));
  const fresh = new Set(f.fresh);
  const newOwners = f.acked.filter((a) => fresh.has(a.cellId));
  if (newOwners.length) await client.query(forgetOthersAtTargets(f.claimId, f.target, newOwners));
  if (f.acked.length) await client.query(storeAcknowledged(f.claimId, f.target, f.acked));
  if (f.uncertain.length) await client.query(forgetParts(f.claimId, f.uncertain));
  if (f.refused.length) await client.query(storeRefused(f.claimId, f.target, f.refused));
  const {
    rows: [finished],
  } = await client.query<{ held: string[] }>(finishClaim(f.claimId, f.cellIds, f.done));
  const held = new Set(finished?.held ?? []);
  const lost = f.pushed.filter((p) => !held.has(p.cellId));
  if (lost.length) {
    await client.query(
      redirtyLostCells(
        lost.map((p) => ({
          connectionId: f.connectionId,
          propertyId: f.propertyId,
          roomTypeId: p.roomTypeId,
          ratePlanId: p.ratePlanId,
          stayDate: p.night,
        })),
      ),
    );
  }
  // Held cells wait for approval, and the connection shows why (one open `held` error, counted up).
  // One error row per connection and kind: both guards' reasons in one message.
  const reasons: string[] = [];
  for (const h of f.holds) {
    const { rows } = await client.query<{ held: number }>(storeHold(f.connectionId, f.propertyId, h));
    if (rows[0]?.held && !h.existing) reasons.push(h.reason);
  }
  if (reasons.length) {
    const held: SyncErrorEntry = { severity: 'warning', kind: 'held', errorCode: 'ERR_ARI_HELD', message: `held for approval: ${reasons.join('; ')}` };
    await client.query(recordSyncErrors(f.connectionId, f.propertyId, null, [held]));
  } else await client.query(resolveHeldErrors(f.connectionId));
  if (f.closingsSent) await client.query(countClosingsSent(f.connectionId, f.propertyId, f.closingsSent, CLOSING_WINDOW_MINUTES));
  // Refusals end when the OTA accepts the whole cell (before this push's own refusals are written).
  if (f.accepted.length) await client.query(resolveRefusals(f.connectionId, f.accepted));
  // Pricing-model errors end where the models agree again (whether or not a rate had to go out),
  // or where the mapping is gone.
  await client.query(resolvePricingModel(f.connectionId, f.pricedAlike ?? []));
  if (f.errors.length) await client.query(recordSyncErrors(f.connectionId, f.propertyId, null, f.errors));
  if (f.notOverbooked.length) await client.query(resolveOverbookings(f.connectionId, f.notOverbooked));
  for (const m of f.unknownMappings) await client.query(recordRejectedMapping(f.connectionId, f.propertyId, m.cell, m.message));
  return { lost: lost.length };
}
