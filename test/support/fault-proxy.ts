import http from 'node:http';
import type net from 'node:net';

// An HTTP proxy in front of a real S3 server that forwards faithfully until a trip point (a number of request-body
// bytes, a number of requests, or a request that matches), then fails for good: 'drop' resets every connection, 'refuse' stops listening (connection
// refused), '503' answers every request with 503 ServiceUnavailable. The request that crosses the trip point fails
// mid-body, as an upload does when its endpoint is lost. heal() forwards again, so a test can inspect the store.
export type Fault = 'drop' | 'refuse' | '503';

export interface FaultProxyOptions {
  fault: Fault;
  /** trip once this many request-body bytes (all requests together) have reached the proxy */
  afterBytes?: number;
  /** trip at the request after this many forwarded ones */
  afterRequests?: number;
  /** trip at the first request this matches (e.g. the PUT of a manifest); path without the query */
  atRequest?: (method: string, path: string) => boolean;
}

export interface FaultProxy {
  endpoint: string;
  readonly tripped: boolean;
  /** what passed: requests forwarded, request-body bytes seen, requests and connections failed on purpose */
  readonly stats: { forwarded: number; bodyBytes: number; faulted: number };
  /** trips now */
  trip(): void;
  /** forwards again (a refusing proxy listens again on its port) */
  heal(): Promise<void>;
  close(): Promise<void>;
}

const UNAVAILABLE = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>Service is unable to handle request.</Message></Error>';

// Starts the proxy on a free port of 127.0.0.1 in front of target (http://host:port).
export async function startFaultProxy(target: string, opts: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(target);
  const stats = { forwarded: 0, bodyBytes: 0, faulted: 0 };
  const sockets = new Set<net.Socket>();
  // how to fail each request in flight when the proxy trips
  const inFlight = new Set<() => void>();
  let tripped = false;

  // Drains what the client still sends, then answers 503 (a client writing into a closed socket sees EPIPE, not the answer).
  const answer503 = (req: http.IncomingMessage, res: http.ServerResponse) => {
    stats.faulted++;
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    const send = () => {
      res.writeHead(503, { 'content-type': 'application/xml', connection: 'close' });
      res.end(UNAVAILABLE);
    };
    req.resume();
    if (req.complete) send();
    else req.once('end', send);
  };

  const trip = () => {
    if (tripped) return;
    tripped = true;
    for (const fail of [...inFlight]) fail();
    if (opts.fault === '503') return;
    for (const s of sockets) s.destroy();
    if (opts.fault === 'refuse') server.close();
  };

  const server = http.createServer((req, res) => {
    if (tripped) {
      if (opts.fault === '503') answer503(req, res);
      else {
        stats.faulted++;
        req.socket.destroy();
      }
      return;
    }
    if ((opts.afterRequests !== undefined && stats.forwarded >= opts.afterRequests) || opts.atRequest?.(req.method ?? '', decodeURIComponent(new URL(req.url ?? '/', 'http://proxy').pathname))) {
      trip();
      if (opts.fault === '503') answer503(req, res);
      else req.socket.destroy();
      return;
    }
    stats.forwarded++;
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    let failed = false;
    out.on('error', () => {
      if (!failed) res.destroy();
    });
    const fail = () => {
      failed = true;
      inFlight.delete(fail);
      req.unpipe(out);
      out.destroy();
      if (opts.fault === '503') answer503(req, res);
      else {
        stats.faulted++;
        req.socket.destroy();
      }
    };
    inFlight.add(fail);
    res.on('close', () => inFlight.delete(fail));
    // the chunk that crosses the trip point fails the request: the server sees its body cut short
    req.on('data', (chunk: Buffer) => {
      stats.bodyBytes += chunk.length;
      if (opts.afterBytes !== undefined && stats.bodyBytes >= opts.afterBytes) trip();
    });
    req.pipe(out);
  });
  server.on('connection', (socket: net.Socket) => {
    if (tripped && opts.fault === 'drop') {
      stats.faulted++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get tripped() {
      return tripped;
    },
    stats,
    trip,
    async heal() {
      tripped = false;
      opts = { fault: opts.fault };
      if (!server.listening) await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}
