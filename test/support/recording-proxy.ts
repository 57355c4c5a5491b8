import http from 'node:http';
import { forward, listenLocal } from './proxy.ts';

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
    forward(upstream, req, res);
  });
  const { endpoint, close } = await listenLocal(server);
  return {
    endpoint,
    requests,
    signedRegions: () =>
      requests.map((r) => /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\/aws4_request/.exec(String(r.headers.authorization ?? ''))?.[1] ?? '(unsigned)'),
    close,
  };
}
