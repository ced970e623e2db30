/**
 * Google's answer to an ARI message: "containing either a <Success/> element or an <Errors>
 * container with error details" (developers.google.com/hotels/hotel-prices/xml-reference/ari-inv,
 * key takeaways; likewise ari-rate: "including specific types and codes for processing
 * exceptions"). The Error attributes are OpenTravel's (Type, Code, Status, ShortText, the text as
 * content); Google's pages say which exist, not which are always there, so every one is optional.
 * Anything else is ERR_OTA_INVALID_RESPONSE.
 */
import { z } from 'zod';
import { StayosError } from '../../core/errors.ts';
import { readXml, XmlRefused } from '../../core/xml.ts';

export interface GoogleIssue {
  type?: string | undefined;
  code?: string | undefined;
  text: string;
}
/** `warnings`: OpenTravel's Warnings beside a Success (Google's pages name none; recorded when they come). */
export type GoogleAnswer = { kind: 'success'; warnings: GoogleIssue[] } | { kind: 'errors'; errors: GoogleIssue[] };

const issue = z.union([z.string(), z.object({ _: z.string().optional(), $: z.record(z.string(), z.string()).optional() })]);
const answer = z
  .object({
    Success: z.array(z.unknown()).optional(),
    Warnings: z
      .array(z.object({ Warning: z.array(issue).min(1) }))
      .length(1)
      .optional(),
    Errors: z
      .array(z.object({ Error: z.array(issue).min(1) }))
      .length(1)
      .optional(),
  })
  .refine((a) => (a.Success === undefined) !== (a.Errors === undefined), 'needs exactly one of Success or Errors');

export async function parseGoogleAnswer(body: string, expectedRoot: string): Promise<GoogleAnswer> {
  const invalid = (what: string, cause?: unknown) =>
    new StayosError('ERR_OTA_INVALID_RESPONSE', `google_hotels: the answer ${what}`, { cause, details: { ota: 'google_hotels' } });
  let doc;
  try {
    doc = await readXml(body);
  } catch (err) {
    throw err instanceof XmlRefused ? invalid(`is not XML: ${err.message}`, err) : err;
  }
  if (doc.root !== expectedRoot) throw invalid(`is a <${doc.root.slice(0, 60)}>, not an <${expectedRoot}>`);
  const r = answer.safeParse(doc.node);
  if (!r.success) throw invalid(`is not an ${expectedRoot}: ${r.error.issues[0]?.message ?? 'unexpected content'}`, r.error);
  if (!r.data.Errors) return { kind: 'success', warnings: (r.data.Warnings?.[0]?.Warning ?? []).map(issueOf) };
  return { kind: 'errors', errors: r.data.Errors[0]!.Error.map(issueOf) };
}

const issueOf = (e: z.output<typeof issue>): GoogleIssue =>
  typeof e === 'string' ? { text: e } : { type: e.$?.Type, code: e.$?.Code, text: (e._ ?? e.$?.ShortText ?? '').trim() || 'no text' };
