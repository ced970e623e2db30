/**
 * Every test file runs in sandbox mode on loopback, as `stayos start` does with its demo: the OTA
 * sandboxes the tests start listen on ephemeral ports of 127.0.0.1 (connectors/outbound/hosts.ts). Tests of the
 * policy itself set their own.
 */
import { setOutboundPolicy } from '../../connectors/outbound/hosts.ts';

setOutboundPolicy({ sandboxOrigins: ['http://127.0.0.1:*', 'http://localhost:*'], extraHosts: [] });
