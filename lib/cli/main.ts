import { installWarningHandler } from '../log.ts';
import { dispatch } from './dispatch.ts';
import { exitWith } from './exit.ts';

// The process entry of the pgops bin (dist/main.js) and of scripts/<task>.ts: one command line through the one
// dispatch, then the one exit.
export async function main(argv: readonly string[]): Promise<void> {
  installWarningHandler();
  exitWith(await dispatch(argv));
}
