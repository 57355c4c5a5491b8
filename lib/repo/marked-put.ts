import { abortable } from './abortable.ts';
import { readFromStart } from './open-file.ts';
import { AlreadyExistsError, type MarkedPublish, type MarkedResult, type PutResult, type Repo } from './repo.ts';

// Repo.publishMarked as two puts with ifAbsent, the data object first and the marker last: s3's way, and a file
// repository's for a body that is a stream (wal push with compression).
export async function publishMarkedInSteps(repo: Repo, p: MarkedPublish): Promise<MarkedResult> {
  const body = 'handle' in p.body ? readFromStart(p.body.handle) : p.body;
  let written: PutResult | undefined;
  try {
    written = await repo.put(p.key, body, { signal: p.signal, ifAbsent: true });
  } catch (err) {
    body.destroy();
    if (!(err instanceof AlreadyExistsError)) throw err;
    await p.onExists(undefined);
  }
  let text: string;
  try {
    text = await p.markerText(written && { size: written.size, sha256: written.sha256 }, written?.sealed);
  } catch (err) {
    // this publish created it, and no marker names it: take it back (a credential that may not delete leaves it to
    // the bucket's lifecycle rule: nothing vouches for it, and the refusal is the error to report)
    if (written) await repo.delete([p.key]).catch(() => {});
    throw err;
  }
  try {
    // putBytes takes the signal, but a request waiting on a silent store must not keep an interrupted caller waiting
    await abortable(repo.putBytes(p.markerKey, text, { ifAbsent: true, signal: p.signal }), p.signal);
    return { created: written !== undefined, markerExisted: false };
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
    return { created: written !== undefined, markerExisted: true };
  }
}
