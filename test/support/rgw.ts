import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cephConf } from './rgw-conf.ts';
import { CephProcesses } from './rgw-daemons.ts';
import { reservePortBlock } from './rgw-ports.ts';
import type { S3Server } from './s3.ts';

// A throwaway Ceph RADOS Gateway on 127.0.0.1: one monitor, one memstore OSD (data in RAM), radosgw, a user
// with keys of its own and one bucket. The production-grade S3 server beside s3rver.

const BINARIES = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph', 'monmaptool'] as const;
// every phase waits for a condition; this is only how long before it is called stuck
const PHASE_MS = 60_000;
const STORE_BYTES = 4 * 1024 ** 3;
const REGION = 'us-east-1';
// The SSE-KMS key id the gateway knows: --s3-sse aws:kms --s3-sse-kms-key-id RGW_KMS_KEY_ID encrypts there.
export const RGW_KMS_KEY_ID = 'pgops-test-key';

// An S3Server that is radosgw, with the folder of its cluster (ceph.conf, log/).
export interface RgwServer extends S3Server {
  dir: string;
}

// Starts the cluster and radosgw; call stop() in afterAll. A failed start removes everything it made and
// throws with the tail of the log that says why.
export async function startRgwServer(bucket = 'pgops-test'): Promise<RgwServer> {
  const bin = cephBinaries();
  const ports = await reservePortBlock();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-rgw-'));
  const ceph = new CephProcesses(dir);
  const stop = async () => {
    await ceph.killAll();
    fs.rmSync(dir, { recursive: true, force: true });
    ports.release();
  };
  try {
    for (const sub of ['mon.a', 'run', 'log', 'rgw', 'crash']) fs.mkdirSync(path.join(dir, sub));
    fs.writeFileSync(path.join(dir, 'keyring'), '');
    const fsid = randomUUID();
    fs.writeFileSync(ceph.conf, cephConf({ dir, fsid, ports, storeBytes: STORE_BYTES }) + sseSettings());
    await startMonitor(ceph, bin, fsid, ports.mon);
    await startOsd(ceph, bin);
    const endpoint = `http://127.0.0.1:${ports.rgw}`;
    await startGateway(ceph, bin, endpoint);
    const keys = await createUser(ceph, bin);
    await createBucket(ceph, endpoint, keys, bucket);
    return {
      dir,
      endpoint,
      bucket,
      env: { AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey, AWS_REGION: REGION },
      repoUrl: (prefix) => `s3://${bucket}/${prefix}`,
      options: {
        s3Endpoint: endpoint,
        s3PathStyle: true,
        // radosgw answers 411 to the aws-chunked bodies the SDK streams with WHEN_SUPPORTED
        s3Checksum: 'when-required',
        s3Region: REGION,
        s3PartSize: 5 * 1024 * 1024,
        s3MaxAttempts: 3,
      },
      capabilities: { abortMultipart: true, listMultipartUploads: true, conditionalWrites: true, objectLock: true },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// Lines added to [client.rgw] (the conf's last section) for server-side encryption: RGW's `testing` KMS backend, one
// key (random per start; its bytes never leave ceph.conf), and SSE over plain HTTP, which RGW refuses by default.
function sseSettings(): string {
  return `rgw_crypt_s3_kms_backend = testing
rgw_crypt_s3_kms_encryption_keys = ${RGW_KMS_KEY_ID}=${randomBytes(32).toString('base64')}
rgw_crypt_require_ssl = false
`;
}

// The absolute path of each Ceph program; throws naming the packages when any is missing.
function cephBinaries(): Binaries {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/bin', '/usr/sbin']);
  const found = {} as Binaries;
  const missing: string[] = [];
  for (const b of BINARIES) {
    const at = dirs.map((d) => path.join(d, b)).find((p) => fs.existsSync(p));
    if (at) found[b] = at;
    else missing.push(b);
  }
  if (missing.length) {
    throw new Error(`the Ceph programs ${missing.join(', ')} are not installed: apt-get install ceph-mon ceph-osd radosgw ceph-common (or run .ci/run)`);
  }
  return found;
}

// Creates the monitor's store, starts it and waits until it leads its one-monitor quorum.
async function startMonitor(ceph: CephProcesses, bin: Binaries, fsid: string, port: number): Promise<void> {
  const monmap = path.join(ceph.dir, 'monmap');
  await phase(ceph, 'creating the monitor', 'mon.a', async () => {
    await ceph.run(bin.monmaptool, ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${port}]`, monmap], { conf: false });
    await ceph.run(bin['ceph-mon'], ['--mkfs', '-i', 'a', '--monmap', monmap]);
  });
  ceph.spawnDaemon('mon.a', bin['ceph-mon'], ['-i', 'a']);
  await phase(ceph, 'waiting for the monitor to form its quorum', 'mon.a', () =>
    until(ceph, async () => ((await ceph.adminCommand('mon.a', 'mon_status')) as { state?: string } | undefined)?.state === 'leader'),
  );
}

// Registers an OSD with the monitor, creates its (memstore) store, starts it and waits until it is up.
async function startOsd(ceph: CephProcesses, bin: Binaries): Promise<void> {
  const uuid = randomUUID();
  const id = (await phase(ceph, 'registering the OSD with the monitor', 'mon.a', () => ceph.run(bin.ceph, ['--connect-timeout', '30', 'osd', 'new', uuid]))).trim();
  if (!/^\d+$/.test(id)) throw new Error(`ceph osd new answered ${JSON.stringify(id)}, not an OSD id`);
  fs.mkdirSync(path.join(ceph.dir, `osd.${id}`));
  await phase(ceph, 'creating the OSD store', `osd.${id}`, () => ceph.run(bin['ceph-osd'], ['-i', id, '--mkfs', '--osd-uuid', uuid]));
  ceph.spawnDaemon(`osd.${id}`, bin['ceph-osd'], ['-i', id]);
  // radosgw started before the OSD is up sends its first writes into a pool without a placement and resends
  // them only on its client's next 5 s tick
  await phase(ceph, `waiting for osd.${id} to be up`, `osd.${id}`, () =>
    until(ceph, async () => ((await ceph.adminCommand(`osd.${id}`, 'status')) as { state?: string } | undefined)?.state === 'active'),
  );
}

// Starts radosgw and waits until it answers HTTP: it listens only once it has created its pools.
async function startGateway(ceph: CephProcesses, bin: Binaries, endpoint: string): Promise<void> {
  ceph.spawnDaemon('client.rgw', bin.radosgw, ['-n', 'client.rgw']);
  await phase(ceph, `waiting for radosgw to answer at ${endpoint}`, 'client.rgw', () =>
    until(ceph, async () => {
      try {
        await fetch(endpoint, { signal: AbortSignal.timeout(2_000) });
        return true;
      } catch {
        return false;
      }
    }),
  );
}

// Creates the S3 user; radosgw-admin generates its keys, so that no secret is ever in a command line.
async function createUser(ceph: CephProcesses, bin: Binaries): Promise<Keys> {
  const out = await phase(ceph, 'creating the S3 user', 'client.admin', () =>
    ceph.run(bin['radosgw-admin'], ['user', 'create', '--uid', 'pgops-test', '--display-name', 'pgops tests']),
  );
  const key = (JSON.parse(out) as { keys?: { access_key: string; secret_key: string }[] }).keys?.[0];
  if (!key?.access_key || !key.secret_key) throw new Error('radosgw-admin user create answered without an S3 key');
  return { accessKeyId: key.access_key, secretAccessKey: key.secret_key };
}

// Creates the bucket through the S3 API, as a user of the server would.
async function createBucket(ceph: CephProcesses, endpoint: string, keys: Keys, bucket: string): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client({ endpoint, region: REGION, forcePathStyle: true, credentials: keys, maxAttempts: 5 });
  try {
    await phase(ceph, `creating bucket ${bucket}`, 'client.rgw', () => client.send(new CreateBucketCommand({ Bucket: bucket })));
  } finally {
    client.destroy();
  }
}

type Binaries = Record<(typeof BINARIES)[number], string>;
interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

// Runs one phase of the start; a failure names the phase and ends with the tail of the log that explains it
// (or of the daemon that died, when one did).
async function phase<T>(ceph: CephProcesses, what: string, log: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    ceph.assertRunning();
    throw new Error(`rgw test server: ${what} failed: ${err instanceof Error ? err.message : String(err)}\n${ceph.logTail(log)}`);
  }
}

// Polls probe every 100 ms until it is true; throws when a daemon dies or PHASE_MS pass.
async function until(ceph: CephProcesses, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + PHASE_MS;
  for (;;) {
    ceph.assertRunning();
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`no answer within ${PHASE_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The uid of the user startRgwServer creates: the owner of its bucket (and of the buckets a test creates with
// server.env's keys), as a bucket policy names it.
export const RGW_OWNER_UID = 'pgops-test';

// The principal a bucket policy names a user of the gateway by.
export function rgwUserArn(uid: string): string {
  return `arn:aws:iam:::user/${uid}`;
}

// Creates another user on a running gateway and returns its S3 keys (generated by radosgw-admin, never in a command
// line): a credential that may do only what a bucket policy grants it in another user's bucket.
export async function createRgwUser(server: RgwServer, uid: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const ceph = new CephProcesses(server.dir);
  try {
    const out = await ceph.run(cephBinaries()['radosgw-admin'], ['user', 'create', '--uid', uid, '--display-name', `pgops tests: ${uid}`]);
    const key = (JSON.parse(out) as { keys?: { access_key: string; secret_key: string }[] }).keys?.[0];
    if (!key?.access_key || !key.secret_key) throw new Error(`radosgw-admin user create --uid ${uid} answered without an S3 key`);
    return { accessKeyId: key.access_key, secretAccessKey: key.secret_key };
  } finally {
    // it started no daemon: this only forgets it
    await ceph.killAll();
  }
}
