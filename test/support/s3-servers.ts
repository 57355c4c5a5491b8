import { startRgwServer } from './rgw.ts';
import { startS3Server, type S3Server } from './s3.ts';

// The S3 servers every S3 integration test runs on: s3rver (small, lenient, in node) and Ceph's radosgw
// (production-grade, strict). A test file writes
//   describe.each(S3_SERVERS)('... on $name', ({ start }) => { beforeAll(async () => (s3 = await start())) ... })
export const S3_SERVERS: readonly { name: 's3rver' | 'rgw'; start: (bucket?: string) => Promise<S3Server> }[] = [
  { name: 's3rver', start: startS3Server },
  { name: 'rgw', start: startRgwServer },
];
