import http from 'node:http';
import type net from 'node:net';

// An HTTP proxy in front of a real S3 server that forwards every request unchanged and remembers what was asked: the
// method, the path and the headers (the SigV4 Authorization header names the region a request was signed for).
export interface RecordingProxy {
  endpoint: string;
  requests: { method: string; path: string; headers: http.IncomingHttpHeaders }[];
  /** the regions of the requests' SigV4 credential scopes (Credential=KEY/DATE/REGION/s3/aws4_request), in order */
  signedRegions(): string[];
  close(): Promise<void>;
}

// Starts the proxy on 127.0.0.1 in front of target.
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const requests: RecordingProxy['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
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
    requests,
    signedRegions: () =>
      requests.map((r) => /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\/aws4_request/.exec(String(r.headers.authorization ?? ''))?.[1] ?? '(unsigned)'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
