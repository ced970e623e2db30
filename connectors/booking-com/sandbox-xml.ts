/**
 * XML plumbing of the Booking.com sandbox (its own, not the client's): reading a request body and
 * writing an answer the way Booking.com's reference examples show one. Written from the
 * publisher's pages only (see sandbox.ts for the list); nothing here comes from our parsers.
 */
import { randomBytes } from 'node:crypto';
import { parseStringPromise, processors, type ParserOptions } from 'xml2js';
import { buildXml } from '../../core/xml.ts';

/** The OpenTravel namespace on every Booking.com OTA root (e.g. api-reference/ota_hotelresnotifrq). */
export const OTA_NS = 'http://www.opentravel.org/OTA/2003/05';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** An xml2js element: attributes under `$`, text under `_`, children as arrays. */
export type XmlNode = { $?: Record<string, string>; _?: string } & Record<string, unknown>;

/** A request body we do not read; `text` becomes the answer's ShortText. */
export class XmlRefused extends Error {}

// Our own options: every child an array (zod decides cardinality), text always under `_`,
// `<Success/>` as {} (not ''), namespace prefixes dropped (the OTA namespace is the default one).
const OPTIONS: ParserOptions = {
  explicitArray: true,
  explicitCharkey: true,
  emptyTag: () => ({}),
  tagNameProcessors: [processors.stripPrefix],
};

/**
 * The document's root name and element. A DTD is refused before parsing (sax would not expand
 * external entities, but a body that declares any has no business here: billion laughs, XXE).
 */
export async function readXml(body: unknown): Promise<{ root: string; node: XmlNode }> {
  if (typeof body !== 'string' || body.trim() === '') throw new XmlRefused('Request body is empty');
  if (/<!\s*(DOCTYPE|ENTITY)/i.test(body)) throw new XmlRefused('Request body declares a DTD or entities; they are not accepted');
  let doc: unknown;
  try {
    doc = await parseStringPromise(body, OPTIONS);
  } catch {
    throw new XmlRefused('Request body is not well-formed XML');
  }
  const root = doc && typeof doc === 'object' ? Object.keys(doc)[0] : undefined;
  if (!root) throw new XmlRefused('Request body is not well-formed XML');
  const node = (doc as Record<string, unknown>)[root];
  return { root, node: node && typeof node === 'object' ? (node as XmlNode) : {} };
}

/** `2018-08-17T07:47:43+00:00`: the TimeStamp form of api-reference/ota_hotelresnotifrq. */
export const timeStamp = (now: Date) => `${now.toISOString().slice(0, 19)}+00:00`;

/**
 * One answer document. Root attributes as Booking.com's examples show them (xmlns, xsi,
 * schemaLocation, TimeStamp, Target="Production", Version; e.g. api-reference/ota_hotelproductnotifrs,
 * api-reference/ota_hotelresmodifynotifrs). After the root, a `<!-- RUID: [base64] -->` comment:
 * Booking.com's pages show it on B.XML answers (b_xml-countries) and public client code hard-codes
 * it after supply-xml roots (a third-party observation, not a published rule for OTA answers), so a
 * client must expect a comment after the root element.
 */
export function otaDocument(root: string, version: string, now: Date, content: Record<string, unknown>): string {
  const $ = {
    xmlns: OTA_NS,
    'xmlns:xsi': XSI_NS,
    'xsi:schemaLocation': `${OTA_NS} ${root}.xsd`,
    TimeStamp: timeStamp(now),
    Target: 'Production',
    Version: version,
  };
  return `${buildXml({ [root]: { $, ...content } })}<!-- RUID: [${randomBytes(64).toString('base64')}] -->`;
}

/** An issue as Booking.com's Warning and Error elements carry it (api-reference/warning, api-reference/error). */
export interface Issue {
  type: string; // OTA EWT code
  code: string; // OTA ERR code (Booking.com implements the OTA 2014B list: api-reference/codes-err)
  shortText: string;
  recordId?: string; // Errors only: "ID of the request element that caused the error"
}

/** `<Warnings>`: Code, ShortText, Status, Type, in the order of api-reference/warning's example; no RecordID there. */
export const warnings = (issues: Issue[]) => ({
  Warnings: { Warning: issues.map((i) => ({ $: { Code: i.code, ShortText: i.shortText, Status: 'NotProcessed', Type: i.type } })) },
});

/** `<Errors>`: Type, Code, RecordID, Status, ShortText, in the order of api-reference/error's example. */
export const errors = (issues: Issue[]) => ({
  Errors: {
    Error: issues.map((i) => ({
      $: { Type: i.type, Code: i.code, ...(i.recordId !== undefined ? { RecordID: i.recordId } : {}), Status: 'NotProcessed', ShortText: i.shortText },
    })),
  },
});
