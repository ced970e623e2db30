/**
 * The demo hotel: fixed facts for `stayos seed-demo`. Its OTA connections are each adapter's own
 * (connectors/<ota>/adapter.ts `sandbox.demo`, gathered by connectors/demo.ts), with codes that
 * follow that OTA's rules, or every message would fail validation at the OTA.
 */
interface DemoRatePlan {
  code: string;
  name: string;
  mealPlan: string;
  refundable: boolean;
  cancellationHours: number | null;
  /** A derived plan: its parent's rates × (1 + adjustmentPct / 100), rounded by `rounding`. */
  parent?: string;
  adjustmentPct?: number;
  rounding?: 'cent' | 'whole' | 'up' | 'down';
  /** Priced per number of guests (daily_rates.occupancy_amounts): mapped as such at every OTA. */
  pricingModel?: 'per_day' | 'per_occupancy';
}

export const DEMO = {
  code: 'DEMO',
  name: 'StayOS Demo Hotel Amsterdam',
  timezone: 'Europe/Amsterdam',
  currency: 'EUR',
  country: 'NL',
  address: { line1: 'Prinsengracht 263', city: 'Amsterdam', postalCode: '1016 GV', country: 'NL' },
  roomTypes: [
    { code: 'STD', name: 'Standard Double', maxOccupancy: 2, sizeSqm: 18, sort: 1, rooms: range(101, 108).concat(range(201, 208)) },
    { code: 'DLX', name: 'Deluxe King', maxOccupancy: 3, sizeSqm: 26, sort: 2, rooms: range(301, 310) },
    { code: 'STE', name: 'Junior Suite', maxOccupancy: 4, sizeSqm: 40, sort: 3, rooms: range(401, 404) },
  ],
  ratePlans: [
    { code: 'BAR', name: 'Best Available Rate', mealPlan: 'room_only', refundable: true, cancellationHours: 24 },
    {
      code: 'NRF',
      name: 'Non-refundable',
      mealPlan: 'room_only',
      refundable: false,
      cancellationHours: null,
      parent: 'BAR',
      adjustmentPct: -10,
      rounding: 'whole',
    },
    { code: 'BB', name: 'Bed & Breakfast', mealPlan: 'breakfast', refundable: true, cancellationHours: 24 },
    // Priced per guest: single use below the double, each extra guest on top (issue 18).
    { code: 'FAM', name: 'Flexible, priced per guest', mealPlan: 'breakfast', refundable: true, cancellationHours: 48, pricingModel: 'per_occupancy' },
  ] as DemoRatePlan[],
} as const;

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** The demo's guest names (also used by `stayos demo-traffic`). */
export const FIRST = [
  'Anna',
  'Lukas',
  'Sofia',
  'Mateo',
  'Emma',
  'Noah',
  'Julia',
  'Liam',
  'Chloé',
  'Hugo',
  'Aiko',
  'Ravi',
  'Fatima',
  'Oliver',
  'Ingrid',
  'Tomás',
];
export const LAST = [
  'de Vries',
  'Müller',
  'Rossi',
  'García',
  'Janssen',
  'Smith',
  'Kowalski',
  'Dubois',
  'Nakamura',
  'Patel',
  'Haddad',
  'Brown',
  'Larsen',
  'Silva',
  'May',
  'Stern',
];
const COUNTRIES = ['NL', 'DE', 'IT', 'ES', 'BE', 'GB', 'PL', 'FR', 'JP', 'IN', 'MA', 'US', 'NO', 'PT', 'IE', 'AT'];
const LANGS = ['nl', 'de', 'it', 'es', 'nl', 'en', 'pl', 'fr', 'ja', 'en', 'fr', 'en', 'no', 'pt', 'en', 'de'];

export interface DemoGuest {
  first: string;
  last: string;
  email: string;
  phone: string;
  country: string;
  language: string;
  preferences: Record<string, unknown>;
  passport: string | undefined;
}

export function demoGuests(): DemoGuest[] {
  return Array.from({ length: 64 }, (_, i) => {
    const first = FIRST[i % FIRST.length]!;
    const last = LAST[(i * 7) % LAST.length]!;
    const slug = `${first}.${last}`
      .toLowerCase()
      .normalize('NFD')
      .replace(/[^a-z.]/g, '');
    return {
      first,
      last,
      email: `${slug}${i}@example.com`,
      phone: `+31 20 555 ${String(1000 + i)}`,
      country: COUNTRIES[i % COUNTRIES.length]!,
      language: LANGS[i % LANGS.length]!,
      preferences: i % 3 === 0 ? { pillow: 'feather', floor: 'high' } : i % 3 === 1 ? { dietary: ['vegetarian'] } : {},
      passport: i % 2 === 0 ? `X${String(48213700 + i * 13)}` : undefined,
    };
  });
}
