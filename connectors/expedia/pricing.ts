/**
 * Which rate Expedia must be sent, per connection. Expedia does not check it: "It is critical that
 * you define the right type of rate to upload because no validation is done to confirm the rate
 * and type" (developers.expediagroup.com/supply/lodging/docs/property_mgmt_apis/product_mgmt/learn/
 * rate_acquisitions). A property is set up at Expedia for sell rates (SellLAR: the price the guest
 * pays, Expedia's commission inside) or net rates (NetRate: what the hotel keeps), and its rate
 * plans as tax-inclusive or not (Product API `rateAcquisitionType`, `taxInclusive`). The PMS keeps
 * sell prices; these settings say how to turn them into what this Expedia property expects:
 *  - `rate_acquisition_type`: SellLAR (default) or NetRate;
 *  - `commission_percent`: Expedia's commission, required for NetRate (net = sell × (1 − c/100));
 *  - `tax_inclusive`: Expedia's rate plans include taxes; `pms_rates_include_tax`: the PMS's daily
 *    rates do (default: the same as `tax_inclusive`, i.e. no conversion); `tax_percent`: the tax to
 *    add or remove when the two differ.
 * The tax conversion applies first, the commission to its result; the rate is rounded to cents.
 */
import { z } from 'zod';
import { StayosError } from '../../core/errors.ts';

export const expediaPricingSettings = z
  .object({
    rate_acquisition_type: z.enum(['SellLAR', 'NetRate']).default('SellLAR'),
    commission_percent: z.number().min(0).max(99).optional(),
    tax_inclusive: z.boolean().optional(),
    pms_rates_include_tax: z.boolean().optional(),
    tax_percent: z.number().min(0).max(100).optional(),
  })
  .refine((s) => s.rate_acquisition_type !== 'NetRate' || s.commission_percent !== undefined, {
    message: "rate_acquisition_type NetRate needs commission_percent (Expedia's commission, 0–99)",
    path: ['commission_percent'],
  })
  .refine(
    (s) => s.tax_inclusive === undefined || s.pms_rates_include_tax === undefined || s.tax_inclusive === s.pms_rates_include_tax || s.tax_percent !== undefined,
    { message: 'tax_inclusive differs from pms_rates_include_tax: tax_percent is needed to convert', path: ['tax_percent'] },
  );

export type ExpediaPricing = z.output<typeof expediaPricingSettings>;

/** The pricing settings of a connection's settings object (other keys are not looked at). */
export function expediaPricingOf(settings: Record<string, unknown>): ExpediaPricing {
  const keys = ['rate_acquisition_type', 'commission_percent', 'tax_inclusive', 'pms_rates_include_tax', 'tax_percent'];
  const parsed = expediaPricingSettings.safeParse(Object.fromEntries(keys.filter((k) => k in settings).map((k) => [k, settings[k]])));
  if (!parsed.success) {
    throw new StayosError('ERR_CONFIG', `expedia connection settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** A PMS sell price → the rate this Expedia property expects, as an exact decimal with 2 places. */
export function arRate(pmsRate: string, p: ExpediaPricing): string {
  let r = Number(pmsRate);
  if (p.tax_inclusive !== undefined && p.pms_rates_include_tax !== undefined && p.tax_inclusive !== p.pms_rates_include_tax) {
    const t = 1 + p.tax_percent! / 100;
    r = p.pms_rates_include_tax ? r / t : r * t;
  }
  if (p.rate_acquisition_type === 'NetRate') r *= 1 - p.commission_percent! / 100;
  // Half up to cents; the epsilon keeps 12.345 (stored as 12.34499…) rounding as written.
  return (Math.round(r * 100 + 1e-7) / 100).toFixed(2);
}
