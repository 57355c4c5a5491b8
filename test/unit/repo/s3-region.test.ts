import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode, PgopsError } from '../../../lib/errors.ts';
import { resolveOptions } from '../../../lib/options.ts';
import { createS3Client, endpointOf } from '../../../lib/repo/s3-client.ts';
import { FALLBACK_REGION, regionProvider, resolveRegion } from '../../../lib/repo/s3-region.ts';
import { tempDirs } from '../../support/temp-dir.ts';

const tempDir = tempDirs('pgops-s3-region-');
// every variable the region chain reads: each test starts with none of them but its own files
const CHAIN_ENV = ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_EC2_METADATA_DISABLED', 'PGOPS_S3_REGION'];
let saved: Record<string, string | undefined>;

// An AWS config file (as `aws configure` writes it) and an empty credentials file, both in a temp folder, named by
// AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE: the machine's own ~/.aws is never read.
function awsFiles(config: string): string {
  const dir = tempDir();
  const file = path.join(dir, 'config');
  fs.writeFileSync(file, config);
  fs.writeFileSync(path.join(dir, 'credentials'), '');
  process.env.AWS_CONFIG_FILE = file;
  process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(dir, 'credentials');
  return file;
}

beforeEach(() => {
  saved = Object.fromEntries(CHAIN_ENV.map((k) => [k, process.env[k]]));
  for (const k of CHAIN_ENV) delete process.env[k];
  awsFiles('');
  // no test asks an EC2 metadata service (there is none here, and no test may need the network)
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
});
afterEach(() => {
  for (const k of CHAIN_ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

const PROFILES = `[default]
region = eu-central-1

[profile prod]
region = eu-west-3
output = json
`;

describe('the S3 region comes from the usual chain when --s3-region is not given', () => {
  it('takes AWS_REGION from the environment', async () => {
    process.env.AWS_REGION = 'ap-southeast-2';
    expect(await resolveRegion({})).toBe('ap-southeast-2');
  });

  it("takes the region of the profile AWS_PROFILE names, from AWS_CONFIG_FILE", async () => {
    awsFiles(PROFILES);
    process.env.AWS_PROFILE = 'prod';
    expect(await resolveRegion({})).toBe('eu-west-3');
  });

  it("takes the default profile's region when AWS_PROFILE is unset, with or without an --s3-endpoint", async () => {
    awsFiles(PROFILES);
    expect(await resolveRegion({})).toBe('eu-central-1');
    expect(await resolveRegion({ s3Endpoint: 'http://127.0.0.1:9000' })).toBe('eu-central-1');
  });

  it('AWS_REGION wins over the profile, as in the AWS CLI', async () => {
    awsFiles(PROFILES);
    process.env.AWS_PROFILE = 'prod';
    process.env.AWS_REGION = 'sa-east-1';
    expect(await resolveRegion({})).toBe('sa-east-1');
  });

  it('an explicit --s3-region wins over the environment and the profile', async () => {
    awsFiles(PROFILES);
    process.env.AWS_PROFILE = 'prod';
    process.env.AWS_REGION = 'sa-east-1';
    expect(await resolveRegion({ s3Region: 'us-west-2' })).toBe('us-west-2');
  });

  it('with an --s3-endpoint and nothing naming a region: us-east-1 (S3-compatible stores do not care)', async () => {
    expect(await resolveRegion({ s3Endpoint: 'http://127.0.0.1:9000' })).toBe(FALLBACK_REGION);
  });

  it('for AWS itself and nothing naming a region: exit 3, naming where a region goes', async () => {
    process.env.AWS_PROFILE = 'prod';
    const err = (await resolveRegion({}).catch((e: unknown) => e)) as PgopsError;
    expect(err).toBeInstanceOf(PgopsError);
    expect(err.code).toBe(ExitCode.UNKNOWN);
    expect(err.message).toMatch(/^no S3 region: --s3-region, PGOPS_S3_REGION, AWS_REGION and AWS_DEFAULT_REGION are unset, profile "prod" in .*config names none/);
    expect(err.hint).toContain('--s3-region');
    expect(err.hint).toContain('aws configure set region REGION --profile prod');
  });
});

describe('the option table reads the environment before the chain does', () => {
  const region = (env: NodeJS.ProcessEnv, config: Record<string, unknown> = {}, flags: Record<string, unknown> = {}) =>
    resolveOptions('backup', flags, env, config, ['s3-region']).values.s3Region;

  it('has no default: an unset --s3-region is left to the chain', () => {
    expect(region({})).toBeUndefined();
  });

  it('reads PGOPS_S3_REGION, then AWS_REGION, then AWS_DEFAULT_REGION (which the SDK alone does not read)', () => {
    expect(region({ AWS_DEFAULT_REGION: 'eu-north-1' })).toBe('eu-north-1');
    expect(region({ AWS_DEFAULT_REGION: 'eu-north-1', AWS_REGION: 'eu-south-1' })).toBe('eu-south-1');
    expect(region({ AWS_DEFAULT_REGION: 'eu-north-1', AWS_REGION: 'eu-south-1', PGOPS_S3_REGION: 'me-south-1' })).toBe('me-south-1');
  });

  it('a flag wins over the environment, the environment over the config file', () => {
    expect(region({ AWS_REGION: 'eu-south-1' }, { 's3-region': 'ca-central-1' })).toBe('eu-south-1');
    expect(region({}, { 's3-region': 'ca-central-1' })).toBe('ca-central-1');
    expect(region({ AWS_REGION: 'eu-south-1' }, {}, { 's3-region': 'us-west-1' })).toBe('us-west-1');
  });
});

describe("the client's region", () => {
  it("is the profile's: the SDK signs for it, and messages name AWS's endpoint after it", async () => {
    awsFiles(PROFILES);
    process.env.AWS_PROFILE = 'prod';
    const { client, region } = createS3Client({});
    try {
      expect(region.known).toBeUndefined();
      expect(endpointOf({}, region.known)).toBe('AWS S3 (region not yet known)');
      expect(await client.config.region()).toBe('eu-west-3');
      expect(region.known).toBe('eu-west-3');
      expect(endpointOf({}, region.known)).toBe('https://s3.eu-west-3.amazonaws.com');
      expect(endpointOf({ s3Endpoint: 'http://127.0.0.1:9000' }, region.known)).toBe('http://127.0.0.1:9000');
    } finally {
      client.destroy();
    }
  });

  it('is resolved once per client, and known at once when given', async () => {
    awsFiles(PROFILES);
    const provider = regionProvider({});
    expect(await provider()).toBe('eu-central-1');
    // the file changes: the client keeps the region it started with
    awsFiles('[default]\nregion = us-west-2\n');
    expect(await provider()).toBe('eu-central-1');
    expect(regionProvider({ s3Region: 'eu-west-1' }).known).toBe('eu-west-1');
  });

  it('a failed resolution is not remembered', async () => {
    const provider = regionProvider({});
    await expect(provider()).rejects.toThrow(/no S3 region/);
    awsFiles('[default]\nregion = us-west-2\n');
    expect(await provider()).toBe('us-west-2');
  });
});
