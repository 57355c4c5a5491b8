import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './cluster.ts';

// What an S3 server of the tests does beyond the basics (put, get, list, delete, multipart upload), as measured
// against it (test/integration/s3-servers.test.ts): tests of behaviour that differs are gated on these.
export interface S3Capabilities {
  /** AbortMultipartUpload removes the upload and its parts (s3rver answers 405) */
  abortMultipart: boolean;
  /** ListMultipartUploads shows the uploads in progress */
  listMultipartUploads: boolean;
  /** PutObject with If-None-Match: * refuses (412) to overwrite an existing key */
  conditionalWrites: boolean;
  /** a bucket created with object lock enabled refuses to delete a locked object version */
  objectLock: boolean;
}

// A throwaway S3 server on 127.0.0.1 with one bucket, for tests that need a real S3 API: s3rver (here) or
// Ceph's radosgw (rgw.ts).
export interface S3Server {
  endpoint: string;
  bucket: string;
  /** the credentials s3rver accepts, for process.env or a spawned pgops */
  env: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string; AWS_REGION: string };
  /** s3://bucket/prefix */
  repoUrl(prefix: string): string;
  /** the s3-* option values that reach this server */
  options: {
    s3Endpoint: string;
    s3PathStyle: boolean;
    s3Checksum: 'when-required';
    s3Region: string;
    s3PartSize: number;
    s3MaxAttempts: number;
  };
  capabilities: S3Capabilities;
  stop(): Promise<void>;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'node_modules/s3rver/bin/s3rver.js');

// Starts s3rver in its own node process; call stop() in afterAll.
export async function startS3Server(bucket = 'pgops-test'): Promise<S3Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-s3-'));
  const port = await freePort();
  // s3rver encrypts ListObjectsV2 continuation tokens with DES: without the legacy provider
  // every paginated listing answers 500.
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', BIN, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent', '--configure-bucket', bucket],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitForPort(port, child, () => stderr);
  } catch (err) {
    await kill(child);
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    // s3rver's one built-in account
    env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' },
    repoUrl: (prefix) => `s3://${bucket}/${prefix}`,
    options: {
      s3Endpoint: endpoint,
      s3PathStyle: true,
      // with WHEN_SUPPORTED the SDK streams aws-chunked bodies, which s3rver stores framing and all
      s3Checksum: 'when-required',
      s3Region: 'us-east-1',
      s3PartSize: 5 * 1024 * 1024,
      s3MaxAttempts: 3,
    },
    capabilities: { abortMultipart: false, listMultipartUploads: false, conditionalWrites: false, objectLock: false },
    async stop() {
      await kill(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Resolves once the port accepts connections; rejects when the process exits or 15 s pass.
async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`s3rver exited (${child.exitCode ?? child.signalCode}) before listening: ${stderr().trim()}`);
    }
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`s3rver did not listen on 127.0.0.1:${port} within 15 s: ${stderr().trim()}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
