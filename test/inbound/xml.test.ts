/** The well-formedness pre-scan of inbound XML: what it refuses, and valid markup it must let through. */
import { describe, expect, it } from 'vitest';
import { parseInboundXml } from '../../inbound/index.ts';

const refusal = async (xml: string) =>
  parseInboundXml(xml).then(
    () => null,
    (e: Error & { reason?: string }) => e.reason,
  );

describe('inbound XML pre-scan', () => {
  it('lets valid markup through: "=" and ":" inside values, prefixes declared, comments and CDATA around', async () => {
    for (const xml of [
      '<a href="https://h.example/?a=b&amp;c=d" note=\'x a=1 a=2\'/>',
      '<?xml version="1.0"?><!-- lead --><s:Envelope xmlns:s="urn:x"><s:Body t="12:00:00"><![CDATA[<not a tag a=1 a=2>]]></s:Body></s:Envelope><!-- tail -->',
      '<a x=">" y=\'"\'>text with = and : and </a>',
    ])
      expect(await refusal(xml), xml).toBeNull();
  });

  it('refuses what sax would let through', async () => {
    for (const [xml, why] of [
      ['<a x="1" x="2"/>', 'repeated attribute'],
      ['<a x="<"/>', '< in a value'],
      ['<p:a/>', 'undeclared prefix'],
      ['<a/><b/>', 'a second root'],
      ['<a/>text', 'text after the root'],
      ['<a>\u0001</a>', 'a control character'],
      ['<!DOCTYPE a><a/>', 'a DTD'],
      ['<a x=1/>', 'an unquoted value'],
      ['<a/><!-- never closed', 'an unterminated comment after the root'],
      ['<a><![CDATA[ open</a>', 'an unterminated CDATA section'],
      ['<?xml version="1.0"', 'an unterminated declaration'],
    ])
      expect({ why, reason: await refusal(xml!) }).toEqual({ why, reason: expect.stringMatching(/^(malformed_xml|forbidden_xml)$/) });
  });
});
