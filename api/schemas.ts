/**
 * The API's request and response shapes, in zod: the routes validate their input with them, and
 * the OpenAPI document at /docs is generated from them (api/openapi.ts). Responses describe the
 * JSON as sent (timestamps as ISO strings); the API tests parse real responses with them, so the
 * document cannot drift from what the routes answer.
 */
import { z } from 'zod';
import { adapterOf, CHANNEL_CODES } from '../connectors/registry.ts';
import { mappingSettings } from '../connectors/outbound/settings.ts';

const ts = z.iso.datetime({ offset: true });
const int = z.number().int();
const day = z.iso.date();
export const propertyCode = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be a property code (letters, digits, _ -)');
export const otaCode = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1–64 letters, digits, _ . -');
const channelCode = z.enum(CHANNEL_CODES as [string, ...string[]]).describe('a channel of the OTA registry');

export const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).meta({ id: 'Error' });
export const idParams = z.object({ id: z.uuid() });
export const holdParams = z.object({ id: z.uuid(), holdId: z.uuid() });

// -- channel status -------------------------------------------------------------------------------
export const healthFilter = z
  .enum(['active', 'degraded', 'down', 'paused', 'closing', 'disabled', 'attention'])
  .describe(
    'a health, or attention: down, degraded or closing, or with open errors, unmapped rooms or rates, open overbookings, held cells or a change waiting over 5 minutes',
  );
export const channelsQuery = z
  .object({
    property: propertyCode.optional(),
    status: healthFilter.optional(),
    channel: channelCode.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100).describe('connections per page (1–500)'),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0).describe('connections to skip (the previous page’s nextOffset)'),
  })
  .strict();
export const channelStatus = z
  .object({
    id: z.uuid(),
    property: z.string(),
    channel: channelCode,
    hotelCode: z.string(),
    health: z.object({
      status: z
        .enum(['active', 'degraded', 'down', 'paused', 'closing', 'disabled'])
        .describe(
          'paused: the OTA keeps the last values it got; closing: its inventory is being closed at the OTA before it is disabled or deleted; disabled: StayOS no longer feeds it',
        ),
      reason: z.string().nullable().describe('why it is not active (the OTA error, a pause by a user …)'),
      since: ts,
    }),
    lastSuccessAt: ts.nullable(),
    consecutiveFailures: int,
    retryAt: ts.nullable(),
    pending: z.object({ cells: int.describe('cells changed in the PMS and not yet acknowledged by the OTA'), oldestAgeSeconds: int.nullable() }),
    lastHour: z.object({ requests: int, failed: int }),
    openErrors: int,
    unmapped: int,
    inboundBookings24h: int,
    openOverbookings: int,
    pendingClosures: int.describe(
      'OTA targets StayOS no longer feeds (a mapping re-pointed or removed, the hotel moved, the connection closing) still to be closed at the OTA',
    ),
    heldCells: int.describe('cells a guardrail holds for approval (GET /api/v1/channels/:id/holds; docs/revenue-model.md)'),
  })
  .meta({ id: 'ChannelStatus' });
export const channelsSummaryQuery = z.object({ property: propertyCode.optional() }).strict();
export const channelList = z.object({
  channels: z
    .array(channelStatus)
    .describe('those needing attention first (down, closing, degraded, other problems), then paused, active, disabled; by property and channel'),
  total: int.describe('connections the filter matches'),
  nextOffset: int.nullable().describe('the offset of the next page; null on the last'),
});
export const channelSummary = z
  .object({
    connections: int,
    attention: int.describe('connections needing attention (status=attention)'),
    byHealth: z.record(z.string(), int).describe('connections per health (active, degraded, down, paused, closing, disabled)'),
    pendingCells: int,
    oldestPendingSeconds: int.nullable(),
    openErrors: int,
    unmapped: int,
    openOverbookings: int,
    heldCells: int,
    requests1h: int,
    failed1h: int,
    bookings24h: int,
  })
  .meta({ id: 'ChannelSummary' });
export const otaList = z
  .object({
    otas: z.array(
      z.object({
        code: channelCode,
        name: z.string().describe('as the revenue team knows it'),
        outbound: z
          .object({ syncDays: z.object({ min: int, max: int }).describe('the nights a full sync (and settings.sync_days) may cover') })
          .nullable()
          .describe('StayOS pushes availability, rates and restrictions to it; null: it takes none from us'),
        inbound: z.enum(['webhook', 'poll']).nullable().describe('how its bookings come in: pushed to our webhook, or pulled by StayOS; null: none'),
        settings: z.array(z.string()).describe('the keys a connection of it may be given in settings'),
      }),
    ),
  })
  .meta({ id: 'OtaList' });
export const channelDetail = channelStatus
  .extend({
    errors: z.array(
      z.object({
        severity: z.string(),
        kind: z.string(),
        errorCode: z.string(),
        otaCode: z.string().nullable(),
        message: z.string(),
        occurrences: int,
        stayFrom: day.nullable(),
        stayTo: day.nullable(),
        firstSeenAt: ts,
        lastSeenAt: ts,
      }),
    ),
    unmappedItems: z.array(
      z.object({
        kind: z.string(),
        roomTypeId: z.uuid().nullable(),
        ratePlanId: z.uuid().nullable(),
        otaRoomCode: z.string().nullable(),
        otaRateCode: z.string().nullable(),
        detail: z.string().nullable(),
        occurrences: int,
        lastSeenAt: ts,
      }),
    ),
    inbound: z.array(
      z.object({
        id: z.uuid(),
        receivedAt: ts,
        source: z.string(),
        messageType: z.string(),
        reservationId: z.string().nullable(),
        outcome: z.string(),
        otaErrorCode: z.string().nullable(),
        error: z.string().nullable(),
      }),
    ),
    overbookings: z.array(
      z.object({
        id: z.uuid(),
        reservationId: z.uuid().nullable(),
        roomTypeId: z.uuid(),
        firstNight: day,
        lastNight: day,
        nights: int,
        worstShortfall: int,
        raisedAt: ts,
      }),
    ),
  })
  .meta({ id: 'ChannelDetail' });

// -- parity ---------------------------------------------------------------------------------------
export const parityQuery = z
  .object({
    from: day,
    to: day,
    only: z.enum(['differing']).optional().describe('only the cells where the OTA differs from the PMS'),
  })
  .strict()
  .refine((q) => q.to >= q.from, 'to must not be before from')
  .refine((q) => (Date.parse(q.to) - Date.parse(q.from)) / 86_400_000 < 93, 'at most 93 nights per request');
const otaValues = z.object({
  availability: int,
  rate: z.string().nullable().describe('exact decimal'),
  currency: z.string().nullable(),
  minLos: int,
  maxLos: int.nullable(),
  closedToArrival: z.boolean(),
  closedToDeparture: z.boolean(),
  closed: z.boolean(),
  occupancyRates: z.record(z.string(), z.string()).nullable().describe('price per number of guests (per-occupancy rates), exact decimals'),
  minStayThrough: int.nullable(),
  maxStayThrough: int.nullable(),
  minAdvanceDays: int.nullable(),
  maxAdvanceDays: int.nullable(),
  roomClosed: z.boolean().describe('the room type closed (all its rates), where the OTA has a room-level close'),
});
const ackedValues = z.object({
  availability: int.nullable(),
  rate: z.string().nullable(),
  currency: z.string().nullable(),
  minLos: int.nullable(),
  maxLos: int.nullable(),
  closedToArrival: z.boolean().nullable(),
  closedToDeparture: z.boolean().nullable(),
  closed: z.boolean().nullable(),
  occupancyRates: z.record(z.string(), z.string()).nullable(),
  minStayThrough: int.nullable(),
  maxStayThrough: int.nullable(),
  minAdvanceDays: int.nullable(),
  maxAdvanceDays: int.nullable(),
  roomClosed: z.boolean().nullable(),
});
export const parityReport = z
  .object({
    connectionId: z.uuid(),
    from: day,
    to: day,
    cells: int,
    differing: int,
    items: z.array(
      z.object({
        date: day,
        roomTypeId: z.uuid(),
        ratePlanId: z.uuid(),
        otaRoomCode: z.string(),
        otaRateCode: z.string(),
        pms: otaValues.describe("what the PMS says after this channel's rules, in the OTA's terms: what the OTA must show"),
        beforeRules: z
          .object({ availability: int, rate: z.string().nullable().describe('exact decimal') })
          .describe("the PMS's own rooms free and rate, before this channel's rules (availability offset and cap, markup, close-out)"),
        ota: ackedValues.nullable().describe('the last values the OTA acknowledged (null: never pushed)'),
        differs: z.array(z.enum(['avail', 'rate', 'restr'])),
        overbooked: z.boolean(),
      }),
    ),
  })
  .meta({ id: 'Parity' });

// -- CDC ------------------------------------------------------------------------------------------
export const cdcStatus = z
  .object({
    slots: z.array(
      z.object({
        slot: z.string(),
        active: z.boolean(),
        walStatus: z.string().nullable().describe('reserved / extended / unreserved / lost'),
        confirmedLsn: z.string().nullable(),
        walLsn: z.string(),
        lagBytes: int.nullable(),
        lagSeconds: z.number().nullable(),
        safeWalBytes: int.nullable(),
      }),
    ),
    eventsPerSecond: z
      .number()
      .nullable()
      .describe('row changes decoded per second over the last 10 s, as the CDC part last reported it (null: no CDC has run)'),
    incidents: z
      .array(
        z.object({
          id: z.uuid(),
          slot: z.string(),
          kind: z.enum(['slot_lost', 'slot_dropped', 'failover', 'truncate', 'poison']),
          detail: z.string(),
          detectedAt: ts,
          resyncAt: ts.nullable().describe("every connection's window marked to be pushed again"),
          resolvedAt: ts.nullable(),
        }),
      )
      .describe(
        'open incidents and those of the last 24 hours, newest first: a slot lost, dropped or missing after a failover (remade, every connection resynchronised), a TRUNCATE, a change set aside',
      ),
  })
  .meta({ id: 'CdcStatus' });

// -- actions --------------------------------------------------------------------------------------
export const fullSyncBody = z
  .object({ days: z.number().int().positive().optional().describe("days from today (default: the OTA's window)") })
  .strict()
  .optional();
export const actionResult = z
  .object({
    action: z.enum(['full_sync', 'pause', 'resume', 'retry_errors', 'approve_hold']),
    connectionId: z.uuid(),
    status: z.string().optional(),
    days: int.optional(),
    cellsMarked: int.optional(),
    resolved: int.optional(),
    holdId: z.uuid().optional(),
    cellsReleased: int.optional().describe('held cells released for the next push (approve_hold)'),
  })
  .meta({ id: 'ActionResult' });

// -- guardrail holds ------------------------------------------------------------------------------
const heldValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export const holdList = z
  .object({
    holds: z.array(
      z.object({
        id: z.uuid(),
        kind: z.enum(['rate_change', 'closing']),
        reason: z.string(),
        cells: int.describe('cells held when the hold was made'),
        waiting: int.describe('cells still held (0: approved, or every cell changed again in the PMS and was judged afresh)'),
        sample: z.array(z.object({ room: z.string(), rate: z.string(), night: day, was: heldValue, now: heldValue })),
        createdAt: ts,
        approvedAt: ts.nullable(),
        approvedBy: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'Holds' });

// -- connections ----------------------------------------------------------------------------------
const credentials = z
  .record(z.string().regex(/^[a-z_]{1,40}$/), z.string().min(1).max(500))
  .refine((c) => Object.keys(c).length <= 10, 'at most 10 entries')
  .describe('write-only: stored encrypted, never returned');
const settings = z.record(z.string().regex(/^[a-z_]{1,40}$/), z.unknown());
const endpointUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL (the OTA's https host; http only for sandboxes)" });
const reservationsUrl = endpointUrl.describe(
  'for channels with a separate reservations host only (Booking.com): base URL of the reservation queues (default: its production host, https://secure-supply-xml.booking.com; ARI goes to endpointUrl)',
);
export const createConnectionBody = z
  .object({
    property: propertyCode.optional().describe('needed when the key sees several properties'),
    channel: channelCode,
    hotelCode: otaCode,
    endpointUrl: endpointUrl.optional().describe("base URL of the OTA's ARI API (default: the OTA's production host; required for opentravel)"),
    reservationsUrl: reservationsUrl.optional(),
    credentials: credentials.optional(),
    settings: settings.default({}),
    status: z.enum(['active', 'paused']).default('active'),
  })
  .strict()
  .refine((b) => adapterOf(b.channel)?.production || b.endpointUrl, {
    message: 'endpointUrl is required for this channel (it has no production host)',
    path: ['endpointUrl'],
  })
  .refine((b) => adapterOf(b.channel)?.reservationsUrl || !b.reservationsUrl, {
    message: 'reservationsUrl is not used by this channel',
    path: ['reservationsUrl'],
  });
export const patchConnectionBody = z
  .object({
    hotelCode: otaCode.optional(),
    endpointUrl: endpointUrl.optional(),
    reservationsUrl: reservationsUrl.optional(),
    settings: settings.optional(),
    status: z
      .enum(['active', 'paused', 'disabled'])
      .optional()
      .describe(
        'paused: the OTA keeps the last values it got; disabled: its inventory is closed at the OTA first (closingFor says so until the OTA confirmed), unless closeAtOta is false',
      ),
    closeAtOta: z.boolean().optional().describe('with status disabled: false leaves the OTA selling at the last values (default true: close first)'),
    credentials: credentials.optional(),
    version: z.number().int().positive().optional().describe('optimistic lock: the version you read (409 if it moved)'),
  })
  .strict()
  .refine((b) => Object.keys(b).some((k) => k !== 'version' && k !== 'closeAtOta'), 'nothing to change')
  .refine((b) => b.closeAtOta === undefined || b.status === 'disabled', { message: 'closeAtOta goes with status disabled', path: ['closeAtOta'] });
export const deleteConnectionQuery = z
  .object({
    closeAtOta: z
      .enum(['true', 'false'])
      .default('true')
      .describe('false: delete at once, leaving the OTA selling at the last values (default: close the inventory at the OTA first)'),
  })
  .strict();
export const closeResult = z
  .object({
    connection: z.lazy(() => connection).describe('the connection now (closingFor set while the OTA closes)'),
    closures: int.describe('OTA targets being closed; the connection is disabled or deleted once the OTA confirmed them'),
    finished: z.boolean().describe('disabled or deleted already'),
  })
  .meta({ id: 'CloseResult' });
export const connection = z
  .object({
    id: z.uuid(),
    propertyId: z.uuid(),
    property: z.string().optional(),
    channel: channelCode,
    hotelCode: z.string(),
    endpointUrl: z.string(),
    reservationsUrl: z.string().nullable().describe('Booking.com reservation queues (null: other channels)'),
    settings: z.record(z.string(), z.unknown()),
    status: z.string(),
    statusReason: z.string().nullable(),
    closingFor: z.enum(['disable', 'delete']).nullable().describe('being disabled or deleted: its inventory is being closed at the OTA first'),
    hasCredentials: z.boolean(),
    version: int,
    createdAt: ts,
    updatedAt: ts,
  })
  .meta({ id: 'Connection' });
export const connectionList = z.object({ connections: z.array(connection) });
export const mappingsBody = z
  .array(
    z
      .object({
        roomType: otaCode,
        ratePlan: otaCode,
        otaRoomCode: otaCode,
        otaRateCode: otaCode,
        active: z.boolean().default(true),
        settings: mappingSettings
          .default({})
          .describe(
            "this mapping's channel rules: markup_pct replaces the connection's, close_out applies with it (either closes); availability_offset and max_availability are the room's: the room shows the lowest availability any of its mappings asks for (docs/revenue-model.md)",
          ),
      })
      .strict(),
  )
  .max(2000)
  .refine((m) => new Set(m.map((x) => `${x.roomType}|${x.ratePlan}`)).size === m.length, 'a room type and rate plan pair is mapped twice')
  .refine((m) => new Set(m.map((x) => `${x.otaRoomCode}|${x.otaRateCode}`)).size === m.length, 'an OTA room and rate pair is mapped twice');
const mapping = z
  .object({
    roomType: z.string(),
    ratePlan: z.string(),
    otaRoomCode: z.string(),
    otaRateCode: z.string(),
    active: z.boolean(),
    settings: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Mapping' });
export const mappingList = z.object({ mappings: z.array(mapping) });
export const mappingsResult = mappingList.extend({ added: int, removed: int, changed: int });

// -- recent activity (the dashboard) --------------------------------------------------------------
export const historyQuery = z
  .object({
    hours: z.coerce.number().int().min(1).max(72).default(1).describe('how far back (1–72 h); 60 points'),
    connection: z.uuid().optional().describe('one connection (default: every connection the key sees)'),
  })
  .strict();
export const syncHistory = z
  .object({
    bucketSeconds: int,
    points: z.array(
      z.object({
        at: ts,
        pending: int.nullable().describe('cells waiting at the end of the bucket (sampled by the CDC every 30 s; null: no sample)'),
        acknowledged: int.describe('cells in OTA requests the OTA accepted, wholly or partly'),
        failed: int.describe('OTA requests that failed'),
      }),
    ),
    pendingNow: int,
  })
  .meta({ id: 'SyncHistory' });
export const bookingsQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) }).strict();
export const recentBookings = z
  .object({
    bookings: z.array(
      z.object({
        receivedAt: ts,
        property: z.string(),
        connectionId: z.uuid().nullable(),
        channel: z.string(),
        hotelCode: z.string().nullable(),
        reservationId: z.string().nullable(),
        messageType: z.string(),
        outcome: z.string(),
        error: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'RecentBookings' });

export const errorsQuery = z
  .object({
    hours: z.coerce.number().int().min(1).max(168).default(24).describe('resolved errors seen in the last hours are listed too (1–168)'),
    connection: z.uuid().optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
export const errorLog = z
  .object({
    errors: z.array(
      z.object({
        connectionId: z.uuid(),
        property: z.string(),
        channel: z.string(),
        hotelCode: z.string(),
        severity: z.enum(['warning', 'error', 'alert']),
        kind: z.string(),
        errorCode: z.string(),
        otaCode: z.string().nullable(),
        message: z.string(),
        occurrences: int,
        stayFrom: day.nullable(),
        stayTo: day.nullable(),
        firstSeenAt: ts,
        lastSeenAt: ts,
        resolvedAt: ts.nullable().describe('null: still open'),
      }),
    ),
  })
  .meta({ id: 'ErrorLog' });
