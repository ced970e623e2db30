/**
 * api/ — what comes into StayOS Channel over HTTP: health and readiness today; the OTA booking
 * webhooks (OTA → api → reservation), the channel-status API and the dashboard as they arrive.
 */
export { buildApp, type AppDeps } from './app.ts';
export { listen } from './server.ts';
