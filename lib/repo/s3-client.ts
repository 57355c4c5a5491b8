import { S3Client } from '@aws-sdk/client-s3';
import type { OptionsOf } from '../options.ts';
import { addSecret } from '../redact.ts';
import { regionProvider, type RegionProvider } from './s3-region.ts';

// The s3-* options, as every task with a repository resolves them; absent ones take the table's defaults here too
// (tests and the harness build them by hand).
export type S3Options = Partial<
  Pick<OptionsOf<'repo-init'>, 's3Endpoint' | 's3Region' | 's3PathStyle' | 's3Checksum' | 's3PartSize' | 's3MaxAttempts' | 's3Sse' | 's3SseKmsKeyId'>
>;

// How long to wait for a TCP connection: an unreachable endpoint fails in seconds, not minutes.
const CONNECT_TIMEOUT_MS = 5_000;
// A request whose socket stays silent this long is failed (and retried).
const IDLE_TIMEOUT_MS = 120_000;

// The endpoint the client talks to, for messages: the --s3-endpoint value or AWS's own for the region (once known).
export function endpointOf(options: S3Options, region = options.s3Region): string {
  if (options.s3Endpoint) return options.s3Endpoint;
  return region ? `https://s3.${region}.amazonaws.com` : 'AWS S3 (region not yet known)';
}

// An S3 client from the s3-* options, and its region provider (which knows the region once a request resolved it);
// the region and the credentials come from the SDK's default chains (env, profile, IMDS ...: lib/repo/s3-region.ts).
export function createS3Client(options: S3Options): { client: S3Client; region: RegionProvider } {
  // the SDK warns on every run that its 2027 releases will need Node 22; the installed version is pinned by the lockfile
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  addSecret(process.env.AWS_SECRET_ACCESS_KEY);
  addSecret(process.env.AWS_SESSION_TOKEN);
  const checksum = options.s3Checksum === 'when-required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  const region = regionProvider(options);
  const client = new S3Client({
    region,
    ...(options.s3Endpoint ? { endpoint: options.s3Endpoint } : {}),
    forcePathStyle: Boolean(options.s3PathStyle),
    requestChecksumCalculation: checksum,
    responseChecksumValidation: checksum,
    // standard retries: 5xx, throttling, timeouts and connection resets/refusals are retried with
    // exponential backoff and jitter, up to maxAttempts tries per request
    retryMode: 'standard',
    maxAttempts: options.s3MaxAttempts ?? 5,
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: IDLE_TIMEOUT_MS },
  });
  return { client, region };
}
