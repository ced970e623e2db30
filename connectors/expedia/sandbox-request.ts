/**
 * The Expedia sandbox's own reading of `AvailRateUpdateRQ`, written from Expedia's schema
 * (./xsd/AvailRateUpdateRQ.xsd = ../shared/ota/expedia-eqc/AvailRateUpdateRQ.xsd, version 2.0.0)
 * and the EQC "AR RQ Schema Complete Definition" (expediaconnectivity.com, Expedia QuickConnect
 * Avail & Rates API reference; /work/notes/expedia.md §1.2), independently of our client's
 * builder and parser. It answers only what the schema decides, with Expedia's codes for it:
 * 2002 (not well-formed), 2010 (namespace), 3010 (against the schema). Business rules (dates,
 * limits, catalogue, pricing model) are the sandbox's (./sandbox-rules.ts).
 *
 * Two passes, each with one job: the XML tree (xml2js with namespaces and children in document
 * order) is checked against the schema's content models — element namespace, order and counts,
 * which xml2js's grouping by name would lose — and turned into xml2js's grouped shape; then one
 * zod schema checks the attribute values and shapes the request.
 */
import { parseStringPromise } from 'xml2js';
import { z } from 'zod';

/** The two AR request namespaces Expedia accepts ([EQC reference] @xmlns row; [EG request] page). */
export const AR_RQ_NAMESPACES = {
  '2007/02': 'http://www.expediaconnect.com/EQC/AR/2007/02',
  '2011/06': 'http://www.expediaconnect.com/EQC/AR/2011/06',
} as const;
export type ArVersion = keyof typeof AR_RQ_NAMESPACES;

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** An `<Error code>` the request earned before any business rule was looked at. */
export interface ArRequestError {
  code: 2002 | 2010 | 3010;
  message: string;
}

// --- Content models: the XSD's sequences and choices over child element names -----------------
// Each is matched against the children's local names, each followed by one space. `[m, text]`:
// the regex and the model as the error message shows it.
const group = (names: string) => `(${names})`;
const SINGLE_UPDATE_GROUP = 'DateRange (RoomType )+'; // xs:group SingleUpdateGroup
const CONTENT: Record<string, [RegExp, string]> = {
  // xs:sequence Authentication, Hotel, xs:choice(SingleUpdateGroup | AvailRateUpdate+)
  AvailRateUpdateRQ: [
    new RegExp(`^Authentication Hotel ${group(`${SINGLE_UPDATE_GROUP}|(AvailRateUpdate )+`)}$`),
    'Authentication, Hotel, (DateRange, RoomType+ | AvailRateUpdate+)',
  ],
  AvailRateUpdate: [/^(DateRange )+(RoomType )+$/, 'DateRange+, RoomType+'],
  RoomType: [/^(Inventory )?(RatePlan )*$/, 'Inventory?, RatePlan*'], // RoomTypeType
  RatePlan: [/^(Rate ){0,28}(Restrictions )?$/, 'Rate{0,28}, Restrictions?'], // RatePlanType
  Rate: [/^(PerDay |(PerOccupancy ){1,20}|PerPerson )?$/, '(PerDay | PerOccupancy{1,20} | PerPerson)?'],
  Authentication: [/^$/, 'empty'],
  Hotel: [/^$/, 'empty'],
  DateRange: [/^$/, 'empty'],
  Inventory: [/^$/, 'empty'],
  Restrictions: [/^$/, 'empty'],
  PerDay: [/^$/, 'empty'],
  PerOccupancy: [/^$/, 'empty'],
  PerPerson: [/^$/, 'empty'],
};
// The 2007/02 schema had no AvailRateUpdate: the 2011/06 XSD keeps its shape as SingleUpdateGroup,
// "Provided for backward compatibility with 2007/02 AR schema version" (XSD annotation), and the
// EQC reference says AvailRateUpdate "can be omitted … to insure backward compatibility". So a
// 2007/02 message is the single group only (inference: the 2007/02 XSD itself is not published
// any more; its element and attribute definitions are taken to be the 2011/06 ones).
const ROOT_2007: [RegExp, string] = [new RegExp(`^Authentication Hotel ${SINGLE_UPDATE_GROUP}$`), 'Authentication, Hotel, DateRange, RoomType+ (2007/02)'];

const XMLNS = 'http://www.w3.org/2000/xmlns/';
// xsi:schemaLocation and the like are allowed on any element by XML Schema itself.
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

interface RawNode {
  '#name': string;
  $ns?: { uri: string; local: string };
  $?: Record<string, { value: string; local: string; uri: string }>;
  $$?: RawNode[];
  _?: string;
}
/** xml2js's usual grouped shape: `$` attributes by local name, children by local name in arrays. */
type Grouped = { $?: Record<string, string> } & { [child: string]: unknown };

class SchemaError extends Error {}

/** Checks one element against its content model and returns it grouped; throws SchemaError. */
function groupNode(node: RawNode, path: string, ns: string, model?: [RegExp, string]): Grouped {
  const local = node.$ns?.local ?? node['#name'];
  // elementFormDefault="qualified": every element is in the target namespace.
  if ((node.$ns?.uri ?? '') !== ns) throw new SchemaError(`${path}: element ${local} is not in namespace ${ns}`);
  if (node._ !== undefined && node._.trim() !== '') throw new SchemaError(`${path}: text content is not allowed`);
  const out: Grouped = {};
  for (const a of Object.values(node.$ ?? {})) {
    if (a.uri === XMLNS || a.uri === XSI) continue; // namespace declarations, schema hints
    // attributeFormDefault="unqualified" and no xs:anyAttribute: a namespaced attribute is foreign.
    if (a.uri !== '') throw new SchemaError(`${path}/@${a.local}: attribute is not allowed`);
    (out.$ ??= {})[a.local] = a.value;
  }
  const children = node.$$ ?? [];
  const names = children.map((c) => c.$ns?.local ?? c['#name']);
  const [re, text] = model ?? CONTENT[local]!;
  if (!re.test(names.map((n) => `${n} `).join(''))) {
    throw new SchemaError(`${path}: content (${names.join(', ') || 'none'}) does not match the schema's (${text})`);
  }
  const seen: Record<string, number> = {};
  children.forEach((c, i) => {
    const name = names[i]!;
    const n = (seen[name] = (seen[name] ?? -1) + 1);
    ((out[name] ??= []) as Grouped[]).push(groupNode(c, `${path}/${name}[${n}]`, ns));
  });
  return out;
}

// --- XSD simple types ------------------------------------------------------------------------
// Built-in types other than xs:string collapse whitespace, so their values are trimmed first.
const ws = (s: string) => s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
const xsInt = (min: number, max: number) =>
  z
    .string()
    .transform(ws)
    .pipe(z.string().regex(/^[+-]?\d+$/, 'must be an integer'))
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const xsBool = z
  .string()
  .transform(ws)
  .pipe(z.enum(['true', 'false', '1', '0']))
  .transform((b) => b === 'true' || b === '1');
/** xs:date; a time zone on a calendar date changes nothing here. */
const xsDate = z
  .string()
  .transform(ws)
  .pipe(z.string().regex(/^\d{4}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?$/, 'must be a date YYYY-MM-DD'))
  .transform((d) => d.slice(0, 10))
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'is not a calendar date');
/**
 * Rates: xs:decimal, minInclusive 0.00, fractionDigits 3, totalDigits 16 (facets on the value, so
 * trailing fraction zeros and leading zeros do not count). Kept as the text sent.
 */
const xsRate = z
  .string()
  .transform(ws)
  .pipe(z.string().regex(/^\+?(\d+(\.\d*)?|\.\d+)$|^-0*(\.0*)?$/, 'must be a decimal ≥ 0'))
  .refine((r) => (r.split('.')[1] ?? '').replace(/0+$/, '').length <= 3, 'has more than 3 fraction digits')
  .refine(
    (r) =>
      r
        .replace(/^[+-]?0*/, '')
        .replace('.', '')
        .replace(/0+$/, '').length <= 16,
    'has more than 16 digits',
  );
/**
 * RoomType/@id and RatePlan/@id: xs:string of 1–50 characters — not numbers (Hotel Collect rate
 * plans are ids like "208502996A", notes §0 (4)). The length is the schema's, on the value as
 * sent; the id is then trimmed, because Expedia's own sample ar_09 sends `RatePlan id="556895 "`
 * for rate plan 556895 (inference: Expedia reads it as that plan).
 */
const productId = z.string().min(1).max(50).transform(ws);

// --- the request -------------------------------------------------------------------------------

const elem = <S extends z.ZodRawShape>(shape: S) => z.strictObject(shape);
const one = <T extends z.ZodType>(s: T) =>
  z
    .array(s)
    .length(1)
    .transform((a) => a[0] as z.output<T>);
const attrs = <S extends z.ZodRawShape>(shape: S) => z.preprocess((v) => v ?? {}, z.strictObject(shape));
const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const dateRange = elem({
  $: attrs({ from: xsDate, to: xsDate, ...(Object.fromEntries(WEEKDAYS.map((d) => [d, xsBool.optional()])) as Record<Weekday, z.ZodOptional<typeof xsBool>>) }),
}).transform(({ $ }) => ({
  from: $.from,
  to: $.to, // inclusive ("They can be equal if the Supplier wants to update only one date", XSD)
  /** The day-of-week attributes as sent; which days they select is the sandbox's rule. */
  days: defined(Object.fromEntries(WEEKDAYS.map((d) => [d, $[d]])) as Partial<Record<Weekday, boolean>>),
}));

const amount = { rate: xsRate };
const rate = elem({
  $: attrs({ currency: z.string().length(3).optional(), rateChangeIndicator: xsBool.optional(), lengthOfStay: xsInt(1, 28).optional() }),
  PerDay: one(elem({ $: attrs(amount) })).optional(),
  PerOccupancy: z.array(elem({ $: attrs({ ...amount, occupancy: xsInt(1, 20) }) })).optional(), // xs:positiveInteger ≤ 20
  PerPerson: one(elem({ $: attrs(amount) })).optional(),
}).transform((r) =>
  defined({
    currency: r.$.currency,
    rateChangeIndicator: r.$.rateChangeIndicator,
    lengthOfStay: r.$.lengthOfStay,
    /** The amounts of the Rate's one pricing element, if it has one (the xs:choice is optional). */
    amounts: r.PerDay
      ? { model: 'PerDay' as const, values: [{ rate: r.PerDay.$.rate }] }
      : r.PerPerson
        ? { model: 'PerPerson' as const, values: [{ rate: r.PerPerson.$.rate }] }
        : r.PerOccupancy
          ? { model: 'PerOccupancy' as const, values: r.PerOccupancy.map((o) => ({ rate: o.$.rate, occupancy: o.$.occupancy })) }
          : undefined,
  }),
);

const ratePlan = elem({
  $: attrs({ id: productId, closed: xsBool.optional() }),
  Rate: z.array(rate).optional(),
  Restrictions: one(
    elem({
      $: attrs({ minLOS: xsInt(1, 28).optional(), maxLOS: xsInt(1, 28).optional(), closedToArrival: xsBool.optional(), closedToDeparture: xsBool.optional() }),
    }),
  ).optional(),
}).transform((rp) =>
  defined({
    id: rp.$.id,
    closed: rp.$.closed,
    rates: rp.Rate ?? [],
    restrictions: rp.Restrictions && defined(rp.Restrictions.$),
  }),
);

const roomType = elem({
  $: attrs({ id: productId, closed: xsBool.optional() }),
  Inventory: one(elem({ $: attrs({ flexibleAllocation: xsInt(0, 4999).optional(), totalInventoryAvailable: xsInt(0, 4999).optional() }) })).optional(),
  RatePlan: z.array(ratePlan).optional(),
}).transform((r) =>
  defined({
    id: r.$.id,
    closed: r.$.closed,
    inventory: r.Inventory && defined(r.Inventory.$),
    ratePlans: r.RatePlan ?? [],
  }),
);

const availRateUpdate = elem({ DateRange: z.array(dateRange), RoomType: z.array(roomType) }).transform((g) => ({ ranges: g.DateRange, rooms: g.RoomType }));

const rqSchema = elem({
  $: attrs({}), // only namespace declarations, which the first pass took away
  Authentication: one(elem({ $: attrs({ username: z.string().min(4).max(30), password: z.string().min(6).max(30) }) })),
  // xs:int ≥ 0 (the EQC reference's "positive integer of 14 digits or less" does not fit xs:int: the schema wins, as 3010 is its error).
  Hotel: one(elem({ $: attrs({ id: xsInt(0, 2147483647).transform(String) }) })),
  AvailRateUpdate: z.array(availRateUpdate).optional(),
  DateRange: one(dateRange).optional(), // SingleUpdateGroup
  RoomType: z.array(roomType).optional(),
}).transform((rq) => ({
  // Credentials as sent: xs:string keeps whitespace, and the EQC reference calls both case sensitive.
  username: rq.Authentication.$.username,
  password: rq.Authentication.$.password,
  hotelId: rq.Hotel.$.id,
  /** AvailRateUpdate elements, or the single group as one. */
  updates: rq.AvailRateUpdate ?? [{ ranges: [rq.DateRange!], rooms: rq.RoomType! }],
}));

export type ArRequest = z.output<typeof rqSchema> & { version: ArVersion };
export type ArUpdateGroup = ArRequest['updates'][number];
export type ArDateRange = ArUpdateGroup['ranges'][number];
export type ArRoomType = ArUpdateGroup['rooms'][number];
export type ArRatePlan = ArRoomType['ratePlans'][number];
export type ArRate = ArRatePlan['rates'][number];

export type ArRequestReading = { kind: 'request'; rq: ArRequest } | { kind: 'refused'; error: ArRequestError; hotelId?: string };

/**
 * Reads a request body. Texts follow the EQC guides' "Parsing and other protocol issues" table:
 * 2002 "Parsing error: parsing_error_description.", 2010 "The namespace specified is invalid.",
 * 3010 "Validation against schema failed …" (here with what failed).
 */
export async function readAvailRateUpdateRQ(xml: string): Promise<ArRequestReading> {
  const refuse = (code: ArRequestError['code'], message: string, hotelId?: string): ArRequestReading => ({
    kind: 'refused',
    error: { code, message },
    ...(hotelId === undefined ? {} : { hotelId }),
  });
  // Our choice, not Expedia's documented behaviour: no DTDs (no entity tricks in a test server).
  if (/<!DOCTYPE/i.test(xml)) return refuse(2002, 'Parsing error: a DOCTYPE is not allowed.');
  let doc: Record<string, RawNode> | null;
  try {
    doc = await parseStringPromise(xml, { xmlns: true, explicitChildren: true, preserveChildrenOrder: true });
  } catch (err) {
    return refuse(2002, `Parsing error: ${(err as Error).message.split('\n')[0]}.`);
  }
  const root = doc && Object.values(doc)[0];
  if (!root) return refuse(2002, 'Parsing error: the message is empty.');
  const ns = root.$ns?.uri ?? '';
  const version = (Object.keys(AR_RQ_NAMESPACES) as ArVersion[]).find((v) => AR_RQ_NAMESPACES[v] === ns);
  if (!version) return refuse(2010, 'The namespace specified is invalid.');
  const name = root.$ns?.local ?? root['#name'];
  if (name !== 'AvailRateUpdateRQ') return refuse(3010, `Validation against schema failed: the root element is ${name}, not AvailRateUpdateRQ.`);
  let grouped: Grouped;
  try {
    grouped = groupNode(root, 'AvailRateUpdateRQ', ns, version === '2007/02' ? ROOT_2007 : undefined);
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err;
    return refuse(3010, `Validation against schema failed: ${err.message}.`, hotelOf(root));
  }
  const r = rqSchema.safeParse(grouped);
  if (!r.success) return refuse(3010, `Validation against schema failed: ${describe(r.error)}.`, hotelOf(root));
  return { kind: 'request', rq: { ...r.data, version } };
}

/** The Hotel id of a request refused by the schema, when it has a readable one (for in-flight bookkeeping only). */
function hotelOf(root: RawNode): string | undefined {
  const hotel = root.$$?.find((c) => c.$ns?.local === 'Hotel');
  const id = hotel?.$?.id?.value.trim();
  return id && /^\d+$/.test(id) ? String(Number(id)) : undefined;
}

/** zod issues with XML paths (`AvailRateUpdate[3]/RoomType[0]/@id: …`), the first three. */
function describe(err: z.ZodError): string {
  const path = (p: readonly PropertyKey[]) =>
    p.map((s, i) => (typeof s === 'number' ? `[${s}]` : s === '$' ? '' : p[i - 1] === '$' ? `/@${String(s)}` : `${i ? '/' : ''}${String(s)}`)).join('');
  const shown = err.issues.slice(0, 3).map((i) => `${path(i.path) || 'AvailRateUpdateRQ'}: ${i.message}`);
  return shown.join('; ') + (err.issues.length > 3 ? ` (+${err.issues.length - 3} more)` : '');
}
