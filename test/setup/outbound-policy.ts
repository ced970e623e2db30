/**
 * Every test file runs in sandbox mode on loopback, as `stayos start` does with its demo: the OTA
 * sandboxes the tests start listen on ephemeral ports of 127.0.0.1 (connectors/outbound/hosts.ts). Tests of the
 * policy itself set their own.
 */
import { setOutboundPolicy } from '../../connectors/outbound/hosts.ts';

// The fake OTAs some tests serve (at the root of an ephemeral port) are operator-allowed hosts.
setOutboundPolicy({ sandboxOrigins: ['http://127.0.0.1:*', 'http://localhost:*'], extraHosts: ['127.0.0.1:*'] });
