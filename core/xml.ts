/**
 * One way to write XML (style rule 1: no second copy): xml2js's builder with an XML declaration
 * and no pretty-printing. OTAs read the markup, not the layout; indentation would spend bytes of
 * Expedia's 100 KB per message and CPU on every request.
 */
import { Builder } from 'xml2js';

/** The OpenTravel namespace every OTA_* message (Booking.com, Expedia's notifications, OpenTravel) uses. */
export const OTA_NAMESPACE = 'http://www.opentravel.org/OTA/2003/05';

const builder = new Builder({ xmldec: { version: '1.0', encoding: 'UTF-8' }, renderOpts: { pretty: false } });

/** Serialises an xml2js object (`$` attributes, `_` text, arrays for repeated elements). */
export function buildXml(doc: Record<string, unknown>): string {
  return builder.buildObject(doc);
}
