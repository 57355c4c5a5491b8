// A `pgops wal ...` process that waits at a start line, for race tests: it loads pgops's wal fast path (and the S3
// repository), writes READY, waits until GO exists, then runs the command line as bin/pgops.js would and exits
// with its code. So that processes started one after the other race from the same moment, whatever their start-up.
//
//   node --import tsx test/support/wal-racer.ts READY GO wal push FILE --repo URL ...
import fs from 'node:fs';
import path from 'node:path';
import { fdWriter } from '../../lib/fd-writer.ts';
import { installWarningHandler } from '../../lib/log.ts';
import { runWalCommand } from '../../lib/tasks/wal/entry.ts';

const [ready, go, ...argv] = process.argv.slice(2);
installWarningHandler(fdWriter(2));
// loaded before the start line: openRepo imports it lazily, and the SDK takes long to load
await import('../../lib/repo/s3.ts');
await import('node:zlib');
fs.writeFileSync(ready, String(process.pid));
await startLine(go);
process.exit((await runWalCommand(argv)) ?? 99);

// Resolves once the file go exists (a watch on its folder, and a look right after the watch is set).
function startLine(file: string): Promise<void> {
  return new Promise((resolve) => {
    const watcher = fs.watch(path.dirname(file), () => {
      if (fs.existsSync(file)) done();
    });
    const done = () => {
      watcher.close();
      resolve();
    };
    if (fs.existsSync(file)) done();
  });
}
