import http from 'node:http';
import type net from 'node:net';

// What the test proxies in front of a real S3 server share: forwarding one request unchanged, and listening on
// 127.0.0.1 with a close that ends open connections.

// Forwards req to upstream as it came, and the answer back as it comes.
export function forward(upstream: URL, req: http.IncomingMessage, res: http.ServerResponse): void {
  const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  out.on('error', () => res.destroy());
  req.pipe(out);
}

// Listens on a free port of 127.0.0.1: the endpoint, and a close that ends the connections still open.
export async function listenLocal(server: http.Server): Promise<{ endpoint: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
