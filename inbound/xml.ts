/**
 * An inbound body, read the one way (core/xml.ts): what it refuses becomes the inbound refusal of
 * the same reason, answered in the sender's protocol.
 */
import { readXml, XmlRefused, type XmlNode } from '../core/xml.ts';
import { refuse } from './refusal.ts';

export async function parseInboundXml(body: unknown): Promise<{ root: string; node: XmlNode }> {
  try {
    return await readXml(body);
  } catch (err) {
    if (err instanceof XmlRefused) return refuse(err.reason, err.message);
    throw err;
  }
}
