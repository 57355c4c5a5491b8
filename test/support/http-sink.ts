import http from 'node:http';
import type net from 'node:net';

export interface Received {
  method: string;
  path: string;
  body: string;
}

// A real HTTP listener on loopback that records every request (a Pushgateway, a ping or a webhook receiver).
export async function startHttpSink(status = 200): Promise<{ url: string; received: Received[]; setStatus(s: number): void; close(): Promise<void> }> {
  const received: Received[] = [];
  let answer = status;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', body });
      res.writeHead(answer, { 'content-type': 'text/plain' });
      res.end('OK');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    received,
    setStatus: (s) => (answer = s),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
