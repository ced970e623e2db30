/**
 * The one interface an OTA implements (issue 17): everything StayOS knows about one channel, in
 * that channel's folder (connectors/<ota>/adapter.ts), listed once in connectors/registry.ts. The
 * engines never import an OTA folder: the outbound engine (connectors/outbound/) receives the
 * adapters' `Connector`s, the inbound engine (inbound/) receives the booking each adapter parsed
 * with the adapter's `InboundRules`; start-up code (cli/, api/, connectors/index.ts) does the
 * wiring from the registry. Every channel list — routes, CLI choices, API enums, dashboard
 * labels, demo connections, the CDC's consumers — is derived from the registry.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { StayosError } from '../core/errors.ts';
import type { z } from 'zod';
import type { Pool } from '../core/db.ts';
import type { Logger } from '../core/logger.ts';
import type { Booking, InboundConnection, InboundRules, WebhookDeps } from '../inbound/index.ts';
import type { StoredMessage } from '../inbound/replay.ts';
import type { Connector } from './outbound/connector.ts';

/** The window of nights the OTA accepts in one full sync (and the sync_days setting's bounds). */
export interface DayBounds {
  min: number;
  max: number;
  /** Why, in the publisher's words, for the error that names a value outside. */
  why: string;
}

export interface OutboundAdapter {
  connector: Connector;
  days: DayBounds;
}

/** An answer in the sender's protocol. */
export interface ProtocolAnswer {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

/** An inbound HTTP request as the webhook skeleton hands it to an adapter (the body as text). */
export interface WebhookRequest {
  ip: string;
  headers: Record<string, string | string[] | undefined>;
  params: Record<string, string>;
  body: string;
  /** performance.now() at receipt. */
  started: number;
}

/** What a webhook learnt from a request before it is authenticated. */
export interface OpenedMessage {
  /** The connection the request claims (by hotel code, by id in the path …), or undefined. */
  lookup(pool: Pool): Promise<InboundConnection | undefined>;
  /** The lockout's target: per connection when one was found, else what the protocol says (never one per made-up code). */
  target(connection: InboundConnection | undefined): string;
  /** The target is known before any lookup (the connection's id in the path): the lockout is checked first, costing a blocked sender no query. */
  targetKnown?: boolean;
  credentials: { username: string | undefined; password: string | undefined };
  /** No connection, or not these credentials: the protocol's own answer if it has one (Expedia: a known account naming a hotel it lacks). */
  unknown?(deps: WebhookDeps): Promise<ProtocolAnswer | undefined>;
  /** Parse, deliver (inbound/deliver.ts, with the adapter's rules) and answer, for the authenticated connection. */
  deliver(connection: InboundConnection, deps: WebhookDeps): Promise<ProtocolAnswer>;
}

/**
 * A push OTA's webhook: the skeleton (api/webhooks/skeleton.ts) runs auth → connection → rate
 * limit → deliver → answer; the adapter reads its protocol and words every answer.
 */
export interface WebhookAdapter {
  /** The route, e.g. /webhooks/expedia or /webhooks/ota/:connectionId; early answers are chosen by its prefix. */
  route: string;
  prefix: string;
  /** The protocol early answers to a URL under no webhook's prefix take (one adapter: OpenTravel's, the generic one). */
  generic?: boolean;
  /** For the OpenAPI document. */
  summary: string;
  description: string;
  /** Reads what authentication needs (headers, path, or the message itself); or answers at once (a body it cannot read). */
  open(request: WebhookRequest): Promise<OpenedMessage | ProtocolAnswer>;
  /**
   * The protocol's answer to what the skeleton refuses: `locked` (too many failed authentications
   * from this address), `auth` (unknown connection or wrong credentials: one answer for both),
   * `rate_limited` (the connection over its budget), `unavailable` (our failure: resend later);
   * `wait` in seconds where there is one.
   */
  answer(kind: 'locked' | 'auth' | 'rate_limited' | 'unavailable', detail: { wait?: number; error?: StayosError }): ProtocolAnswer;
  /**
   * The protocol's answer to a request refused before its handler ran: too many from its address,
   * too large, or unreadable; `status` is the HTTP status the skeleton would use (429, 413, or the
   * failure's own), which a protocol may replace (SOAP answers every Fault with 500).
   */
  refuse(reason: 'rate_limited' | 'too_large' | 'unreadable', text: string, status: number): ProtocolAnswer;
}

export interface PollerDeps {
  pool: Pool;
  log: Logger;
  intervalMs: number;
  timeoutMs: number;
}

/** A background task of the connectors part (a reservation poller). */
export interface Poller {
  start(): void;
  stop(): Promise<void>;
}

export interface InboundAdapter {
  /** How the channel's bookings arrive: pushed to a webhook, or pulled by a poller. */
  webhook?: WebhookAdapter;
  poller?(deps: PollerDeps): Poller;
  rules: InboundRules;
  /** The reservations a stored message of this channel holds, each parsed on demand (`stayos inbound replay`). */
  replay(message: StoredMessage, connection: InboundConnection): Array<() => Booking>;
}

/** The demo hotel's connection on this channel, served by the adapter's sandbox. */
export interface DemoConnection {
  hotelCode: string;
  credentials: Record<string, string>;
  settings: Record<string, unknown>;
  roomCodes: Record<string, string>;
  rateCodes: Record<string, string>;
}

/** The sandbox the demo (and the tests) talk to instead of the OTA: a Fastify plugin. */
export interface SandboxAdapter {
  /** Mounted at /sandbox/<path>. */
  path: string;
  demo: DemoConnection;
  /** Settings the demo connection needs to reach its sandbox (a token host), from the sandbox's URL. */
  demoSettings?(sandboxUrl: string): Record<string, unknown>;
  /** A sandbox holding the demo connection's account. */
  plugin(options: { faults?: unknown }): FastifyPluginAsync;
}

export interface OtaAdapter {
  /** channel.channels.code: the migration that adds the adapter inserts it. */
  code: string;
  /** As the revenue team knows it (dashboard, CLI, API). */
  name: string;
  /**
   * The hosts StayOS may call for a connection of this channel (outbound/hosts.ts), and the URLs
   * a new connection calls unless told otherwise.
   */
  hosts: readonly string[];
  production?: { endpointUrl: string; reservationsUrl?: string };
  /** Whether a connection keeps a separate reservations URL (Booking.com's PCI host). */
  reservationsUrl?: boolean;
  /** Settings a connection may be given (every key optional; unknown keys refused). */
  settings: z.ZodObject;
  /** Checks across settings a schema cannot say; throws an Error naming the problem. */
  checkSettings?(settings: Record<string, unknown>): void;
  outbound?: OutboundAdapter;
  inbound?: InboundAdapter;
  sandbox?: SandboxAdapter;
}
