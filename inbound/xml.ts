/**
 * Reading an inbound XML body that anyone on the internet may have written. Refused before
 * parsing, in one linear scan: any document type declaration (DTD), hence every entity declaration
 * (billion laughs) and external entity (XXE) — no OTA message has one, so there is nothing to
 * expand and nothing to fetch. The body size is bounded by the route's bodyLimit before we see it,
 * so the parse (xml2js over sax, which itself never fetches or expands declared entities) works on
 * at most that many bytes.
 */
import { parseStringPromise, processors, type ParserOptions } from 'xml2js';
import { refuse } from './refusal.ts';

const OPTIONS: ParserOptions = {
  explicitArray: true, // zod decides what occurs once
  explicitCharkey: false,
  emptyTag: () => ({}),
  tagNameProcessors: [processors.stripPrefix], // soap-env:Envelope → Envelope
  attrNameProcessors: [processors.stripPrefix],
  strict: true,
};

/** A parsed element: attributes under `$`, text under `_` (or the string itself), children as arrays. */
export type XmlNode = { $?: Record<string, string>; _?: string } & { [child: string]: unknown };

export async function parseInboundXml(body: unknown): Promise<{ root: string; node: XmlNode }> {
  if (typeof body !== 'string' || !body.trim()) refuse('malformed_xml', 'the body is empty or not text; send an XML document');
  const xml = body as string;
  // `<!` outside comments and CDATA only starts a declaration; any `<!DOCTYPE` or `<!ENTITY` is refused.
  if (/<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i.test(xml)) {
    refuse('forbidden_xml', 'the document declares a DTD or entities, which are not accepted (no OTA message has them)');
  }
  let doc: Record<string, unknown>;
  try {
    doc = (await parseStringPromise(xml, OPTIONS)) as Record<string, unknown>;
  } catch (err) {
    // The first line of sax's message names the problem and its position, never the content.
    return refuse('malformed_xml', `the body is not well-formed XML: ${String((err as Error).message).split('\n')[0]!.slice(0, 200)}`);
  }
  const root = doc && typeof doc === 'object' ? Object.keys(doc)[0] : undefined;
  if (!root) refuse('malformed_xml', 'the body holds no XML element');
  const node = doc[root!];
  return { root: root!, node: (node && typeof node === 'object' ? node : {}) as XmlNode };
}

/** The children named `name` (always an array). */
export function kids(node: unknown, name: string): XmlNode[] {
  const v = node && typeof node === 'object' ? (node as Record<string, unknown>)[name] : undefined;
  return Array.isArray(v) ? (v as unknown[]).map((x) => (x && typeof x === 'object' ? (x as XmlNode) : ({ _: String(x) } as XmlNode))) : [];
}

/** The first child named `name`, or undefined. */
export const kid = (node: unknown, name: string): XmlNode | undefined => kids(node, name)[0];

/** Follows a path of first children. */
export function at(node: unknown, ...path: string[]): XmlNode | undefined {
  let n: unknown = node;
  for (const p of path) {
    n = kid(n, p);
    if (!n) return undefined;
  }
  return n as XmlNode;
}

/** An attribute, trimmed; undefined when absent or empty. */
export function attr(node: XmlNode | undefined, name: string): string | undefined {
  const v = node?.$?.[name];
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}

/** An element's text, trimmed; undefined when absent or empty. */
export function textOf(node: XmlNode | undefined): string | undefined {
  if (!node) return undefined;
  const t = typeof node === 'string' ? node : node._;
  return typeof t === 'string' && t.trim() ? t.trim() : undefined;
}
