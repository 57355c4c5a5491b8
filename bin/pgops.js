#!/usr/bin/env node
// The pgops bin: runs the TypeScript sources through tsx, then hands argv to lib/cli.ts.
import { register } from 'tsx/esm/api';

register();
const { installWarningHandler } = await import('../lib/log.ts');
installWarningHandler();
const { main } = await import('../lib/cli.ts');
const code = await main(process.argv.slice(2));
// pools and keep-alive sockets must not keep a cron job alive: exit once stdout is flushed
process.stdout.write('', () => process.exit(code));
