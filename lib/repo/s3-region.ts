// the AWS SDK's own configuration loader (a dependency of @aws-sdk/client-s3, the module its clients resolve with)
import { NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS, loadConfig } from '@smithy/core/config';
import { ExitCode, PgopsError } from '../errors.ts';
import type { S3Options } from './s3-client.ts';

// The region S3 requests are signed for and AWS's endpoint is named after, found as the AWS CLI finds it: --s3-region
// (or PGOPS_S3_REGION, AWS_REGION, AWS_DEFAULT_REGION, the config file: lib/options.ts reads those), else the AWS SDK's
// own chain: AWS_REGION, then the `region` of the profile (AWS_PROFILE, else default) in AWS_CONFIG_FILE or
// ~/.aws/config (and the credentials file), then, for AWS itself, the EC2 instance's region from its metadata service.
// An S3-compatible store (--s3-endpoint: MinIO, Ceph RGW, s3rver) mostly ignores the region: there nothing found means
// us-east-1, without the metadata service's second of timeouts on a machine that is no EC2 instance.

// The region where nothing names one and an --s3-endpoint is set (AWS's own default region).
export const FALLBACK_REGION = 'us-east-1';

// A region that is known now: the option's value, else undefined (the chain is asynchronous).
export function explicitRegion(options: S3Options): string | undefined {
  return options.s3Region || undefined;
}

// Resolves the region: the option, else the SDK's chain (environment, profile, instance metadata for AWS), else
// us-east-1 with an --s3-endpoint; throws a usage error naming where to set it when AWS is the target and none is found.
export async function resolveRegion(options: S3Options): Promise<string> {
  const given = explicitRegion(options);
  if (given) return given;
  const chain = loadConfig(
    options.s3Endpoint ? { ...NODE_REGION_CONFIG_OPTIONS, default: FALLBACK_REGION } : NODE_REGION_CONFIG_OPTIONS,
    // the files as the SDK's own settings read them (its cache per path: one read per process)
    NODE_REGION_CONFIG_FILE_OPTIONS,
  );
  try {
    return await chain();
  } catch (err) {
    throw noRegion(err);
  }
}

// The region of one client: resolved on the first request, then known (for messages).
export interface RegionProvider {
  (): Promise<string>;
  known?: string;
}

// A memoised resolveRegion for one client, which also remembers the region once known (for messages).
export function regionProvider(options: S3Options): RegionProvider {
  let pending: Promise<string> | undefined;
  const provider = Object.assign(
    () => {
      pending ??= resolveRegion(options).then(
        (region) => (provider.known = region),
        // a failure is not remembered: the next request tries again (an edited profile, metadata answering late)
        (err: unknown) => {
          pending = undefined;
          throw err;
        },
      );
      return pending;
    },
    { known: explicitRegion(options) },
  );
  return provider;
}

// The error when nothing names a region for AWS: a configuration problem (exit 3) that says where one goes.
function noRegion(cause: unknown): PgopsError {
  const profile = process.env.AWS_PROFILE || 'default';
  const file = process.env.AWS_CONFIG_FILE || '~/.aws/config';
  return new PgopsError(
    `no S3 region: --s3-region, PGOPS_S3_REGION, AWS_REGION and AWS_DEFAULT_REGION are unset, profile "${profile}" in ${file} names none, and no EC2 instance metadata answered`,
    {
      code: ExitCode.UNKNOWN,
      hint: `pass --s3-region with the bucket's region (eu-west-1, ...), set AWS_REGION, or give the profile one: aws configure set region REGION${profile === 'default' ? '' : ` --profile ${profile}`}`,
      cause,
    },
  );
}
