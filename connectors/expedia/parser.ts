/**
 * Expedia AR parsers: `AvailRateUpdateRS` (Expedia's answer to our push) and `AvailRateUpdateRQ`
 * (the sandbox's input), each xml2js output through one zod schema that checks and shapes at once.
 * Schema facts (../shared/ota/expedia-eqc): the RS namespace is …/AR/2007/02, not the RQ's
 * …/2011/06; the RS holds one `<Success>` (optional `<Warning code>`s) or ≥ 1 `<Error code>`; the
 * RQ holds AvailRateUpdate elements or, for 2007/02 compatibility, one bare DateRange + RoomTypes.
 * xml2js groups children by name, so element order is not checked (xmllint does that in tests).
 */
import { readXml } from '../../core/xml.ts';
import { z } from 'zod';
import { StayosError } from '../../core/errors.ts';
import { AR_NAMESPACE, type ArUpdate } from './ar-message.ts';

export const AR_RS_NAMESPACE = 'http://www.expediaconnect.com/EQC/AR/2007/02';

export interface ArIssue {
  code: number;
  message: string;
}
export type ArResponse = { kind: 'success'; warnings: ArIssue[] } | { kind: 'error'; errors: ArIssue[] };

/** Expedia's error families, exactly as ../shared/ota/README.md says. */
export type ArErrorFamily = 'auth' | 'bug' | 'mapping' | 'retry' | 'unknown';

// Named codes only (style rule 6): anything unlisted is 'unknown', which the caller must not retry.
const MAPPING_CODES = new Set([3202, 3203, 3204]); // hotel / room type / rate plan not mapped: flag the mapping
// Expedia-side trouble: retry with backoff (EQC AR guides, Troubleshooting: 4000/4004/4007
// "internal system error, try again in a few minutes", 4001 timeout, 4206 interface temporarily
// closed, 5000 database; 3145 "hotel undergoing business model conversion": later). 4100/4101 say
// "Do not retry this request": unlisted, so never retried.
const RETRY_CODES = new Set([3145, 4000, 4001, 4004, 4007, 4206, 5000]);
const BUG_CODES = new Set([3010]); // schema violation; the 2xxx parse/protocol family is matched by range

export function arErrorFamily(code: number): ArErrorFamily {
  if (code >= 1000 && code <= 1999) return 'auth'; // stop and mark the channel down
  if ((code >= 2000 && code <= 2999) || BUG_CODES.has(code)) return 'bug';
  if (MAPPING_CODES.has(code)) return 'mapping';
  if (RETRY_CODES.has(code)) return 'retry';
  return 'unknown';
}

// --- xml2js shapes: `''` for a bare element, `$` attributes, `Child: [...]` children, `_` text ---

const ws = (s: string) => s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, ''); // XSD whiteSpace="collapse" ends
const empty = (v: unknown) => (typeof v === 'string' && ws(v) === '' ? {} : v);
const elem = <S extends z.ZodRawShape>(shape: S) => z.preprocess(empty, z.strictObject(shape));
const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
/** Attributes that may all be missing (xml2js then gives no `$`), so the missing one gets named. */
const noAttrs = <T extends z.ZodType>(s: T) => z.preprocess((v) => v ?? {}, s);
const one = <T extends z.ZodType>(s: T) =>
  z
    .array(s)
    .length(1)
    .transform((a) => a[0] as z.output<T>);

const xsInt = (min: number, max: number) =>
  z
    .string()
    .transform(ws)
    .pipe(z.string().regex(/^[+-]?\d{1,10}$/, 'must be an integer'))
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const xsBool = z
  .string()
  .transform(ws)
  .pipe(z.enum(['true', 'false', '1', '0']))
  .transform((b) => b === 'true' || b === '1');
const xsDate = z
  .string()
  .transform(ws)
  .pipe(z.string().regex(/^\d{4}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?$/, 'must be a date YYYY-MM-DD'))
  .transform((d) => d.slice(0, 10)) // a time zone on a calendar date changes nothing for us
  .refine((d) => new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'is not a calendar date');
/** xs:decimal ≥ 0 with ≤ 3 fraction digits and ≤ 16 digits in all; kept as the text sent (trimmed). */
const xsRate = z
  .string()
  .transform(ws)
  .pipe(z.string().regex(/^\+?(\d+(\.\d*)?|\.\d+)$/, 'must be a decimal ≥ 0'))
  .refine((r) => (r.split('.')[1] ?? '').replace(/0+$/, '').length <= 3, 'has more than 3 fraction digits')
  .refine(
    (r) =>
      r
        .replace(/^\+?0*/, '')
        .replace('.', '')
        .replace(/0+$/, '').length <= 16,
    'has more than 16 digits',
  );
// Room type / rate plan ids: the XSD says string(1..50), ../shared/ota/README.md says Expedia wants
// them numeric (3010 otherwise). Trimmed: sample ar_09 sends `id="556895 "`, plainly rate plan 556895.
const productId = z.string().max(50).transform(ws).pipe(z.string().regex(/^\d+$/, 'must be a numeric Expedia id'));

// --- AvailRateUpdateRS ---

const issue = (min: number, max: number) =>
  z
    .strictObject({ $: z.strictObject({ code: xsInt(min, max) }), _: z.string().optional() })
    .transform((i): ArIssue => ({ code: i.$.code, message: ws(i._ ?? '') }));

const rsSchema = z
  .strictObject({
    AvailRateUpdateRS: z
      .strictObject({
        $: noAttrs(z.looseObject({ xmlns: z.literal(AR_RS_NAMESPACE, { error: `must be ${AR_RS_NAMESPACE}` }) })), // xmlns:xsi and the like may come along (ar_21)
        Success: one(elem({ Warning: z.array(issue(-2147483648, 2147483647)).optional() })).optional(),
        Error: z.array(issue(1000, 9999)).min(1).optional(),
      })
      .refine((rs) => (rs.Success === undefined) !== (rs.Error === undefined), 'needs exactly one of Success or Error'),
  })
  .transform(({ AvailRateUpdateRS: rs }): ArResponse =>
    rs.Error ? { kind: 'error', errors: rs.Error } : { kind: 'success', warnings: rs.Success?.Warning ?? [] },
  );

/** Reads Expedia's answer to an AR push; anything that is not the protocol is ERR_OTA_INVALID_RESPONSE. */
export async function parseAvailRateUpdateRS(xml: string): Promise<ArResponse> {
  const invalid = (what: string, cause: unknown) =>
    new StayosError('ERR_OTA_INVALID_RESPONSE', `Expedia AR response ${what}`, { cause, details: { ota: 'expedia' } });
  let doc: unknown;
  try {
    const { root, node } = await readXml(xml); // the one reading configuration (core/xml.ts)
    doc = { [root]: node };
  } catch (err) {
    throw invalid(`is not XML: ${(err as Error).message.split('\n')[0]}`, err);
  }
  const r = rsSchema.safeParse(doc);
  if (!r.success) throw invalid(`is not an AvailRateUpdateRS: ${describeIssues(r.error)}`, r.error);
  return r.data;
}

// --- AvailRateUpdateRQ ---

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const dateRange = elem({
  $: z.strictObject({
    from: xsDate,
    to: xsDate,
    ...(Object.fromEntries(WEEKDAYS.map((d) => [d, xsBool.optional()])) as Record<Weekday, z.ZodOptional<typeof xsBool>>),
  }),
}).refine((r) => r.$.from <= r.$.to, { message: 'DateRange from is after to', path: ['$', 'from'] });

const amount = z.strictObject({ rate: xsRate });
const rate = elem({
  $: z.strictObject({ currency: z.string().length(3).optional(), rateChangeIndicator: xsBool.optional(), lengthOfStay: xsInt(1, 28).optional() }).optional(),
  PerDay: one(elem({ $: amount })).optional(),
  PerOccupancy: z
    .array(elem({ $: amount.extend({ occupancy: xsInt(1, 20) }) }))
    .min(1)
    .max(20)
    .optional(),
  PerPerson: one(elem({ $: amount })).optional(),
}).superRefine((r, ctx) => {
  const kinds = [r.PerDay, r.PerOccupancy, r.PerPerson].filter((k) => k !== undefined).length;
  if (kinds > 1) ctx.addIssue({ code: 'custom', message: 'Rate takes one of PerDay, PerOccupancy or PerPerson' });
  // The XSD lets currency go only for rate-change-indicator updates that carry no amount.
  if (kinds === 1 && !r.$?.currency) ctx.addIssue({ code: 'custom', message: 'Rate with an amount needs @currency', path: ['$', 'currency'] });
});

/** What a Rate element said, beyond the single PerDay amount that ArUpdate can express. */
const rateDetailOf = (r: z.output<typeof rate>) =>
  defined({
    kind: r.PerDay ? ('PerDay' as const) : r.PerOccupancy ? ('PerOccupancy' as const) : r.PerPerson ? ('PerPerson' as const) : ('none' as const),
    currency: r.$?.currency,
    lengthOfStay: r.$?.lengthOfStay,
    rateChangeIndicator: r.$?.rateChangeIndicator,
    values: r.PerDay
      ? [{ amount: r.PerDay.$.rate }]
      : r.PerPerson
        ? [{ amount: r.PerPerson.$.rate }]
        : (r.PerOccupancy ?? []).map((o) => ({ amount: o.$.rate, occupancy: o.$.occupancy })),
  });
export type ArRateDetail = ReturnType<typeof rateDetailOf>;

const ratePlan = elem({
  $: z.strictObject({ id: productId, closed: xsBool.optional() }),
  Rate: z.array(rate).max(28).optional(),
  Restrictions: one(
    elem({
      $: z
        .strictObject({
          minLOS: xsInt(1, 28).optional(),
          maxLOS: xsInt(1, 28).optional(),
          closedToArrival: xsBool.optional(),
          closedToDeparture: xsBool.optional(),
        })
        .optional(),
    }),
  ).optional(),
}).superRefine((rp, ctx) => {
  // Length-of-stay pricing: PerDay only, every LOS from 1 up without gaps (Expedia's rule for it).
  const rates = rp.Rate ?? [];
  if (rates.length < 2 && rates.every((r) => r.$?.lengthOfStay === undefined)) return;
  const los = rates.map((r) => r.$?.lengthOfStay ?? 0).sort((a, b) => a - b);
  if (los.some((l, i) => l !== i + 1))
    ctx.addIssue({ code: 'custom', message: 'length-of-stay Rates must cover 1..n without gaps or repeats', path: ['Rate'] });
  if (rates.some((r) => r.PerOccupancy || r.PerPerson))
    ctx.addIssue({ code: 'custom', message: 'length-of-stay pricing takes PerDay rates only', path: ['Rate'] });
});

const roomType = elem({
  $: z.strictObject({ id: productId, closed: xsBool.optional() }),
  Inventory: one(
    elem({ $: z.strictObject({ flexibleAllocation: xsInt(0, 4999).optional(), totalInventoryAvailable: xsInt(0, 4999).optional() }).optional() }),
  ).optional(),
  RatePlan: z.array(ratePlan).optional(),
});
const availRateUpdate = elem({ DateRange: z.array(dateRange).min(1), RoomType: z.array(roomType).min(1) });

/** One RatePlan (or a bare RoomType) over one DateRange → one update in ArUpdate's vocabulary. */
function toUpdate(range: z.output<typeof dateRange>, room: z.output<typeof roomType>, rp: z.output<typeof ratePlan> | undefined, withRoomLevel: boolean) {
  const weekdays = WEEKDAYS.some((d) => range.$[d] !== undefined)
    ? defined(Object.fromEntries(WEEKDAYS.map((d) => [d, range.$[d]])) as Partial<Record<Weekday, boolean>>)
    : undefined;
  const inv = withRoomLevel ? room.Inventory?.$ : undefined;
  // LOS pricing: the 1-night price stands for the cell; PerOccupancy: the first occupancy's price.
  const rates = [...(rp?.Rate ?? [])].sort((a, b) => (a.$?.lengthOfStay ?? 0) - (b.$?.lengthOfStay ?? 0));
  const first = rates[0] ? rateDetailOf(rates[0]) : undefined;
  const plainPerDay = rates.length === 1 && first?.kind === 'PerDay' && first.lengthOfStay === undefined && first.rateChangeIndicator === undefined;
  const r = rp?.Restrictions?.$;
  const restrictions = r && defined({ minLos: r.minLOS, maxLos: r.maxLOS, closedToArrival: r.closedToArrival, closedToDeparture: r.closedToDeparture });
  return defined({
    from: range.$.from,
    to: range.$.to,
    roomTypeId: room.$.id,
    availability: inv?.totalInventoryAvailable,
    ratePlan:
      rp &&
      defined({
        id: rp.$.id,
        closed: rp.$.closed,
        rate: first?.values[0] && first.currency ? { amount: first.values[0].amount, currency: first.currency } : undefined,
        restrictions: rp.Restrictions ? restrictions : undefined,
      }),
    /** DateRange sun…sat as sent; a day that is absent or true is included (Expedia's rule). */
    weekdays,
    roomClosed: withRoomLevel ? room.$.closed : undefined,
    flexibleAllocation: inv?.flexibleAllocation,
    /** Every Rate as sent, when there is more than the one plain PerDay amount `ratePlan.rate` holds. */
    rateDetail: first && !plainPerDay ? rates.map(rateDetailOf) : undefined,
  });
}

const rqSchema = z
  .strictObject({
    AvailRateUpdateRQ: z
      .strictObject({
        $: noAttrs(z.strictObject({ xmlns: z.literal(AR_NAMESPACE, { error: `must be ${AR_NAMESPACE}` }) })),
        Authentication: one(elem({ $: z.strictObject({ username: z.string().min(4).max(30), password: z.string().min(6).max(30) }) })),
        Hotel: one(elem({ $: z.strictObject({ id: xsInt(0, 2147483647).transform(String) }) })),
        AvailRateUpdate: z.array(availRateUpdate).min(1).optional(),
        DateRange: one(dateRange).optional(), // SingleUpdateGroup (2007/02 compatibility)
        RoomType: z.array(roomType).min(1).optional(),
      })
      .refine(
        (rq) => (rq.AvailRateUpdate ? !rq.DateRange && !rq.RoomType : rq.DateRange && rq.RoomType),
        'needs AvailRateUpdate elements, or one DateRange with RoomType elements, not both',
      ),
  })
  .transform(({ AvailRateUpdateRQ: rq }) => {
    const groups = rq.AvailRateUpdate ?? [{ DateRange: [rq.DateRange!], RoomType: rq.RoomType! }];
    // DateRange × RoomType × RatePlan; room-level values ride on a room's first rate plan only.
    const updates = groups.flatMap((g) =>
      g.DateRange.flatMap((range) =>
        g.RoomType.flatMap((room) =>
          room.RatePlan?.length ? room.RatePlan.map((rp, i) => toUpdate(range, room, rp, i === 0)) : [toUpdate(range, room, undefined, true)],
        ),
      ),
    );
    return {
      username: rq.Authentication.$.username,
      password: rq.Authentication.$.password,
      hotelId: rq.Hotel.$.id,
      /** How many AvailRateUpdate elements the message holds (Expedia's limit is 5,000: error 3107). */
      availRateUpdates: groups.length,
      updates,
    };
  });
export type ParsedAvailRateUpdateRQ = z.output<typeof rqSchema>;
export type ParsedArUpdate = ParsedAvailRateUpdateRQ['updates'][number];
// The parsed vocabulary must stay a superset of the builder's, or the round trip means nothing.
const _superset: (u: ParsedArUpdate) => ArUpdate = (u) => u;
void _superset;

/** Throws ERR_VALIDATION naming what is wrong; `details.reason` is 'xml' (not well-formed: Expedia 2002) or 'schema' (3010). */
export async function parseAvailRateUpdateRQ(xml: string): Promise<ParsedAvailRateUpdateRQ> {
  let doc: unknown;
  try {
    const { root, node } = await readXml(xml); // the one reading configuration (core/xml.ts)
    doc = { [root]: node };
  } catch (err) {
    throw new StayosError('ERR_VALIDATION', `AvailRateUpdateRQ is not well-formed XML: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
      details: { reason: 'xml' },
    });
  }
  if (doc === null) throw new StayosError('ERR_VALIDATION', 'AvailRateUpdateRQ is empty', { details: { reason: 'xml' } });
  const r = rqSchema.safeParse(doc);
  if (!r.success)
    throw new StayosError('ERR_VALIDATION', `AvailRateUpdateRQ does not match Expedia's schema: ${describeIssues(r.error)}`, {
      cause: r.error,
      details: { reason: 'schema' },
    });
  return r.data;
}

/** zod issues with XML-ish paths (`AvailRateUpdate[3]/RoomType[0]/@id: …`), the first three. */
function describeIssues(err: z.ZodError): string {
  const path = (p: readonly PropertyKey[]) =>
    p.map((s, i) => (typeof s === 'number' ? `[${s}]` : s === '$' ? '' : p[i - 1] === '$' ? `/@${String(s)}` : `${i ? '/' : ''}${String(s)}`)).join('');
  const shown = err.issues.slice(0, 3).map((i) => `${path(i.path) || '(root)'}: ${i.message}`);
  return shown.join('; ') + (err.issues.length > 3 ? ` (+${err.issues.length - 3} more)` : '');
}
