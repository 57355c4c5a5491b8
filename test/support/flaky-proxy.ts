import http from 'node:http';
import type net from 'node:net';

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
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get faults() {
      return state.faults;
    },
    get forwarded() {
      return state.forwarded;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
