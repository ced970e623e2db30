/**
 * Booking.com answers, parsed once (xml2js, then one zod schema). An ARI answer is `<Success/>`
 * optionally with `<Warnings>`, or `<Errors>`, never both; anything else throws
 * ERR_OTA_INVALID_RESPONSE. An issue's `rph` is a Warning's `RPH`, or an Error's numeric `RecordID`
 * (the 2015A ErrorType has no RPH): the `LocatorID` (1-based update index) our builders sent.
 */
import { z } from 'zod';
import { StayosError } from '../../core/errors.ts';
import { readXml } from '../../core/xml.ts';

const OTA_DETAILS = { ota: 'booking_com' } as const;

function invalid(message: string, cause?: unknown): StayosError {
  return new StayosError('ERR_OTA_INVALID_RESPONSE', `Booking.com: ${message}`, { cause, details: { ...OTA_DETAILS } });
}

/** The answer, read the one way (core/xml.ts): arrays everywhere (zod decides cardinality), prefixes dropped. */
async function parseXml(xml: string): Promise<Record<string, unknown>> {
  try {
    const { root, node } = await readXml(xml);
    return { [root]: node };
  } catch (err) {
    throw invalid(`the response is not well-formed XML (${(err as Error).message.split('\n')[0]})`, err);
  }
}

const one = <T extends z.ZodType>(item: T) => z.array(item).length(1);

const issueSchema = z.preprocess(
  // An issue with text only reads as its text: the same shape as one with attributes.
  (v) => (typeof v === 'string' ? { _: v } : v),
  z
    .object({
      _: z.string().optional(),
      $: z
        .object({
          Type: z.string().optional(),
          Code: z.string().optional(),
          ShortText: z.string().optional(),
          Status: z.string().optional(),
          RPH: z
            .string()
            .regex(/^\d{1,8}$/, 'RPH must be a number')
            .optional(),
          RecordID: z.string().optional(),
        })
        .optional(),
    })
    .transform(({ _, $ = {} }) => ({
      // Code is optional in OpenTravel; '' says "the OTA gave none" without failing a valid answer.
      code: $.Code ?? '',
      type: $.Type,
      shortText: $.ShortText,
      status: $.Status,
      rph: $.RPH !== undefined ? Number($.RPH) : $.RecordID !== undefined && /^\d{1,8}$/.test($.RecordID) ? Number($.RecordID) : undefined,
      text: _?.trim() || undefined,
    })),
);
export type OtaIssue = z.output<typeof issueSchema>;

const acknowledgementSchema = z
  .object({
    Success: one(z.unknown()).optional(),
    Warnings: one(z.object({ Warning: z.array(issueSchema).min(1) })).optional(),
    Errors: one(z.object({ Error: z.array(issueSchema).min(1) })).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.Success && b.Errors) ctx.addIssue({ code: 'custom', message: 'has both <Success> and <Errors> (the protocol says never both)' });
    else if (!b.Success && !b.Errors) ctx.addIssue({ code: 'custom', message: 'has neither <Success> nor <Errors>' });
    else if (b.Warnings && !b.Success) ctx.addIssue({ code: 'custom', message: 'has <Warnings> without <Success>' });
  })
  .transform((b) =>
    b.Errors ? { kind: 'errors' as const, errors: b.Errors[0]!.Error } : { kind: 'success' as const, warnings: b.Warnings?.[0]?.Warning ?? [] },
  );

export type BookingResponse = z.output<typeof acknowledgementSchema>;

const ROOTS = ['OTA_HotelAvailNotifRS', 'OTA_HotelRateAmountNotifRS'];

export async function parseBookingResponse(xml: string): Promise<BookingResponse> {
  const doc = await parseXml(xml);
  const root = Object.keys(doc)[0] ?? '';
  if (!ROOTS.includes(root)) throw invalid(`unexpected root element <${root}> (expected ${ROOTS.join(' or ')})`);
  const parsed = acknowledgementSchema.safeParse(doc[root]);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` (at ${issue.path.join('.')})` : '';
    throw invalid(`<${root}> ${issue?.message ?? 'does not match the protocol'}${where}`, parsed.error);
  }
  return parsed.data;
}

const tokenSchema = z.object({ jwt: z.string().min(1), ruid: z.string().optional() });
export type BookingToken = z.output<typeof tokenSchema>;

export function parseTokenResponse(json: unknown): BookingToken {
  const parsed = tokenSchema.safeParse(json);
  if (!parsed.success) throw invalid(`token exchange answer is not {jwt, ruid}: ${z.prettifyError(parsed.error)}`, parsed.error);
  return { jwt: parsed.data.jwt, ...(parsed.data.ruid !== undefined ? { ruid: parsed.data.ruid } : {}) };
}
