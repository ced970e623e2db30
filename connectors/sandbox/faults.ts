/**
 * Fault injection for the OTA sandboxes: what share of requests fail, and how. Both sandboxes draw
 * one fault (or none) per request from the same plan, so a test or benchmark sets "≥ 20 % mixed
 * 5xx, 429, timeouts" once for both. The draw uses a seeded PRNG: a failing run can be replayed.
 */
import { z } from 'zod';
import { prng } from '../../core/prng.ts';

export const faultPlanSchema = z.strictObject({
  /** Probability per request of each fault; their sum must be ≤ 1. */
  rates: z
    .strictObject({
      http5xx: z.number().min(0).max(1).default(0), // 500/502/503 with an HTML body
      tooMany: z.number().min(0).max(1).default(0), // 429 with Retry-After
      timeout: z.number().min(0).max(1).default(0), // holds the response for timeoutMs (the client gives up first)
      slow: z.number().min(0).max(1).default(0), // answers normally after slowMs
      malformed: z.number().min(0).max(1).default(0), // 200 with a body that is not the protocol
      otaError: z.number().min(0).max(1).default(0), // the OTA's own retryable error (Expedia 4000-family, Booking.com 5xx in XML)
    })
    .default({ http5xx: 0, tooMany: 0, timeout: 0, slow: 0, malformed: 0, otaError: 0 })
    .refine((r) => Object.values(r).reduce((a, b) => a + b, 0) <= 1, 'the fault rates must add up to at most 1'),
  retryAfterSeconds: z.number().int().min(0).max(3600).default(1),
  slowMs: z.number().int().min(0).max(120_000).default(500),
  timeoutMs: z.number().int().min(0).max(600_000).default(30_000),
  /** Every request fails authentication (Booking.com 401, Expedia error 1001). */
  authFailure: z.boolean().default(false),
  seed: z.number().int().default(1),
});
export type FaultPlan = z.output<typeof faultPlanSchema>;
export type FaultKind = keyof FaultPlan['rates'];

export class FaultInjector {
  #plan: FaultPlan;
  #random: () => number;
  /** How many faults of each kind were injected (tests assert the share actually reached). */
  readonly injected: Record<FaultKind, number> = { http5xx: 0, tooMany: 0, timeout: 0, slow: 0, malformed: 0, otaError: 0 };

  constructor(plan: unknown = {}) {
    this.#plan = faultPlanSchema.parse(plan);
    this.#random = prng(this.#plan.seed);
  }

  get plan(): FaultPlan {
    return this.#plan;
  }

  /** Replaces the plan (validated; a bad plan throws a ZodError and leaves the old one). */
  set(plan: unknown): FaultPlan {
    this.#plan = faultPlanSchema.parse(plan);
    this.#random = prng(this.#plan.seed);
    return this.#plan;
  }

  /** The fault for the next request, or null. */
  draw(): FaultKind | null {
    let x = this.#random();
    for (const [kind, rate] of Object.entries(this.#plan.rates) as Array<[FaultKind, number]>) {
      if (x < rate) {
        this.injected[kind] += 1;
        return kind;
      }
      x -= rate;
    }
    return null;
  }
}
