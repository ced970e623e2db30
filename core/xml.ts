/**
 * One way to write XML (style rule 1: no second copy): xml2js's builder with an XML declaration
 * and no pretty-printing. OTAs read the markup, not the layout; indentation would spend bytes of
 * Expedia's 100 KB per message and CPU on every request.
 */
import { Builder, parseStringPromise, processors, type ParserOptions } from 'xml2js';

/** The OpenTravel namespace every OTA_* message (Booking.com, Expedia's notifications, OpenTravel) uses. */
export const OTA_NAMESPACE = 'http://www.opentravel.org/OTA/2003/05';

const builder = new Builder({ xmldec: { version: '1.0', encoding: 'UTF-8' }, renderOpts: { pretty: false } });

/** Serialises an xml2js object (`$` attributes, `_` text, arrays for repeated elements). */
export function buildXml(doc: Record<string, unknown>): string {
  return builder.buildObject(doc);
}

// ---- reading ----
/*
 * Reading an XML body that anyone on the internet (or an OTA having a bad day) may have written.
 * Refused before parsing, in one linear scan: any document type declaration (DTD), hence every
 * entity declaration (billion laughs) and external entity (XXE) — no OTA message has one, so there
 * is nothing to expand and nothing to fetch. Bodies are bounded by the route's bodyLimit (inbound)
 * or the HTTP client's maxContentLength (answers) before we see them, so the parse (xml2js over
 * sax, which itself never fetches or expands declared entities) works on at most that many bytes.
 */

/** Why a body is not read: `forbidden_xml` (a DTD or entities), `malformed_xml` (anything else). */
export class XmlRefused extends Error {
  constructor(
    readonly reason: 'malformed_xml' | 'forbidden_xml',
    message: string,
  ) {
    super(message);
  }
}

function refused(reason: XmlRefused['reason'], message: string): never {
  throw new XmlRefused(reason, message);
}

/**
 * The one way to read XML, for OTA answers and inbound bodies alike: every child an array (zod and
 * the readers decide what occurs once), text under `_` whenever an element has attributes (a bare
 * text element is its string; `textOf` reads both), `<Success/>` as {} rather than '', namespace
 * prefixes dropped from names (soap-env:Envelope → Envelope), sax in strict mode. (The sandboxes,
 * which stand in for the publishers, read requests their own way on purpose: see their xml files.)
 */
export const XML_READ_OPTIONS: ParserOptions = {
  explicitArray: true,
  explicitCharkey: false,
  emptyTag: () => ({}),
  tagNameProcessors: [processors.stripPrefix], // soap-env:Envelope → Envelope
  attrNameProcessors: [processors.stripPrefix],
  strict: true,
};

/** A parsed element: attributes under `$`, text under `_` (or the string itself), children as arrays. */
export type XmlNode = { $?: Record<string, string>; _?: string } & { [child: string]: unknown };

export async function readXml(body: unknown): Promise<{ root: string; node: XmlNode }> {
  if (typeof body !== 'string' || !body.trim()) refused('malformed_xml', 'the body is empty or not text; send an XML document');
  const xml = body as string;
  // `<!` outside comments and CDATA only starts a declaration: any `<!DOCTYPE` or `<!ENTITY` there is
  // refused (the same words inside a comment or CDATA are text).
  if (/<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i.test(xml.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g, ''))) {
    refused('forbidden_xml', 'the document declares a DTD or entities, which are not accepted (no OTA message has them)');
  }
  const bad = notWellFormed(xml);
  if (bad) refused('malformed_xml', `the body is not well-formed XML: ${bad}`);
  let doc: Record<string, unknown>;
  try {
    doc = (await parseStringPromise(xml, XML_READ_OPTIONS)) as Record<string, unknown>;
  } catch (err) {
    // The first line of sax's message names the problem and its position, never the content.
    return refused(
      'malformed_xml',
      `the body is not well-formed XML: ${String((err as Error).message)
        .split('\n')[0]!
        .slice(0, 200)}`,
    );
  }
  const root = doc && typeof doc === 'object' ? Object.keys(doc)[0] : undefined;
  if (!root) refused('malformed_xml', 'the body holds no XML element');
  const node = doc[root!];
  return { root: root!, node: (node && typeof node === 'object' ? node : {}) as XmlNode };
}

// XML 1.0 excludes these characters (and PostgreSQL text cannot hold NUL).
const ILLEGAL_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * What sax lets through in its lenient corners, checked in one pass over the markup: illegal
 * characters, a `<` inside an attribute value, a repeated attribute, a namespace prefix never
 * declared, and anything but comments and whitespace after the root element. Returns the problem,
 * or null.
 */
// A start or end tag at lastIndex: name, attributes (quoted values without "<"), self-closing mark.
const TAG = /<\/?([^\s/>]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;

function notWellFormed(xml: string): string | null {
  if (ILLEGAL_CHARS.test(xml)) return 'it contains a character XML does not allow (a control character or NUL)';
  const declared = new Set(['xml', 'xmlns', ...[...xml.matchAll(/xmlns:([A-Za-z_][\w.-]*)\s*=/g)].map((m) => m[1]!)]);
  let depth = 0;
  let rootClosed = false;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) break;
    if (rootClosed && xml.slice(i, lt).trim()) return 'there is text after the root element';
    const skip = xml.startsWith('<!--', lt) ? '-->' : xml.startsWith('<![CDATA[', lt) ? ']]>' : xml.startsWith('<?', lt) ? '?>' : null;
    if (skip) {
      i = end(xml, skip, lt);
      if (i < 0) return `a comment, CDATA section or processing instruction at character ${lt} is never closed`;
      continue;
    }
    if (rootClosed) return 'there is markup after the root element';
    const closing = xml[lt + 1] === '/';
    TAG.lastIndex = lt;
    const tag = TAG.exec(xml);
    if (!tag) return `a tag at character ${lt} is not well-formed (an unquoted attribute, or a "<" inside one)`;
    const [whole, name, attrs, selfClosing] = tag;
    const names = [...attrs!.matchAll(/([^\s=]+)\s*=\s*(?:"[^"]*"|'[^']*')/g)].map((m) => m[1]!);
    if (new Set(names).size !== names.length) return `an element <${name!.slice(0, 40)}> repeats an attribute`;
    for (const n of [name!, ...names]) {
      const prefix = n.includes(':') ? n.split(':')[0]! : undefined;
      if (prefix && !declared.has(prefix)) return `the namespace prefix "${prefix.slice(0, 20)}" is not declared`;
    }
    if (closing) depth -= 1;
    else if (!selfClosing) depth += 1;
    if (depth === 0) rootClosed = true;
    i = lt + whole!.length;
  }
  if (rootClosed && xml.slice(i).trim()) return 'there is text after the root element';
  return null;
}

/** Where the construct opened at `from` ends (after `marker`), or -1 when it never does. */
function end(xml: string, marker: string, from: number): number {
  const at = xml.indexOf(marker, from);
  return at < 0 ? -1 : at + marker.length;
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
