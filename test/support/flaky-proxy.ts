import http from 'node:http';
import type net from 'node:net';
import { forward, listenLocal } from './proxy.ts';

// An HTTP proxy in front of a real server that fails some requests on purpose: a 503 SlowDown answer, or a
// reset connection. It proves that clients retry; it never stands in for the server itself.
export interface FlakyProxy {
  endpoint: string;
  /** requests answered with a fault so far */
  faults: { status503: number; resets: number };
  forwarded: number;
  close(): Promise<void>;
}

// Fails every `every`-th request (alternating 503 and connection reset), forwards the others to `target`.
export async function startFlakyProxy(target: string, every = 3): Promise<FlakyProxy> {
  const upstream = new URL(target);
  let count = 0;
  const state = { faults: { status503: 0, resets: 0 }, forwarded: 0 };
  const server = http.createServer((req, res) => {
    count++;
    if (count % every === 0) {
      // drain the body first so the client sees the answer, not a broken pipe
      req.resume();
      req.on('end', () => {
        if ((count / every) % 2 === 1) {
          state.faults.status503++;
          res.writeHead(503, { 'content-type': 'application/xml' });
          res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
        } else {
          state.faults.resets++;
          (req.socket as net.Socket).destroy();
        }
      });
      return;
    }
    state.forwarded++;
    forward(upstream, req, res);
  });
  const { endpoint, close } = await listenLocal(server);
  return {
    endpoint,
    get faults() {
      return state.faults;
    },
    get forwarded() {
      return state.forwarded;
    },
    close,
  };
}
