import { once } from 'node:events';
import fs, { createWriteStream } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { messageOf } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { Repo } from '../../repo/repo.ts';
import { timelineOfSegment, type TimelineSpan } from '../../wal/history.ts';
import { archivedNames, firstLaterSegment } from '../wal/gap.ts';
import { parseLsn, parseWalFileName, segmentName, segmentNumber, segmentOfLsn } from '../../wal/names.ts';
import { readArchived, readSidecar } from '../wal/archived.ts';
import { archivedChain } from '../wal/check/repository.ts';
import { osUserIds, runningAsRoot } from './os-user.ts';
import type { RecoveryPlan } from './plan.ts';
import type { RecoveryTarget } from './target.ts';

// The spool: WAL segments fetched ahead of the replay into <pgdata>/pgops_spool/, for the runs where pgops itself
// waits for the replay (recover --start, drill --pitr). PostgreSQL runs restore_command once per file, one after the
// other, and a node start costs more than a local file's copy; restore_command takes a spooled file with one mv
// (restore-command.ts) and runs wal fetch only for what the spool lacks. A name appears in the spool only whole,
// fsynced and verified against its sidecar, and is always the archived file of exactly that name: whatever PostgreSQL
// asks for, it gets the bytes wal fetch would give. The folder is removed when the replay ends.
//
// What the spool does not hold, restore_command asks for (a file <name>.ask), and the spool answers while it runs:
// with the file itself (fetched and verified as any spooled file), with <name>.absent where wal fetch would exit
// "not archived" (a history file never written, the segment past the archive's end), or by removing the question
// unanswered (a gap, a damaged file, an error: wal fetch runs and says why). An answer is given only while the
// question it answers stands (the same file). Recovery asks for four or five such files (the next timeline's history
// at its start; the last segment again, the end of the archive, two history files at its end), each a node start.

export const SPOOL_FOLDER = 'pgops_spool';
// the temp name of a download: never a WAL file name, so restore_command never takes one
const TEMP_PREFIX = '.tmp-';
// files ahead of the replay (downloads included): 8 x 16 MB of disk
const AHEAD_BYTES = 128 * 1024 * 1024;
const MAX_AHEAD = 8;
const DOWNLOADS = 2;
// a broken repository or a full disk fails every download alike: the spool gives up, wal fetch does the rest
const MAX_FAILURES_IN_A_ROW = 3;
// how often the spool looks for the files the server moved out
const POLL_MS = 50;
/** restore_command's question for a file the spool lacks, and the answer "not archived" (restore-command.ts) */
export const ASK_SUFFIX = '.ask';
export const ABSENT_SUFFIX = '.absent';

// The spool folder of a data directory.
export function spoolFolder(pgdata: string): string {
  return path.join(pgdata, SPOOL_FOLDER);
}

// How many files the spool keeps ahead: 8, fewer for segments over 16 MB (at least 2).
export function aheadFor(segmentSize: number): number {
  return Math.max(2, Math.min(MAX_AHEAD, Math.floor(AHEAD_BYTES / segmentSize)));
}

// The segments replay reads, in order, each under the timeline recovery reads it from: from the plan's first to its
// last (the archive's end, or the one before a gap), or, for an LSN or immediate target, to the segment the target
// lies in (the base backup's last for immediate) when that comes earlier: replay stops there.
export function segmentsToReplay(plan: { first: string; last: string; backupLast: string; segmentSize: number }, target: RecoveryTarget, chain: readonly TimelineSpan[]): string[] {
  const size = plan.segmentSize;
  const segno = (name: string) => segmentNumber(parseWalFileName(name)!, size)!;
  const bound = target.kind === 'immediate' ? segno(plan.backupLast) : target.kind === 'lsn' ? segmentOfLsn(parseLsn(target.lsn), size) : Infinity;
  const to = Math.min(segno(plan.last), bound);
  const names: string[] = [];
  for (let n = segno(plan.first); n <= to; n++) names.push(segmentName(timelineOfSegment(chain, n, size), n, size));
  return names;
}

// What the spool did: files fetched into it, taken out by the server, and not fetched (wal fetch fetched those);
// restore_command's questions it answered (a file placed, or "not archived").
export interface SpoolStats {
  fetched: number;
  served: number;
  skipped: number;
  answered: number;
}

// A running spool: told how far replay got, stopped (downloads ended, folder removed) when it ends.
export interface Spool {
  readonly folder: string;
  /** replay restored this file (the server log): what lies before it is not needed any more */
  replayed(name: string): void;
  stop(): Promise<SpoolStats>;
}

// What a spool fetches, from where, and for whom.
export interface SpoolOptions {
  pgdata: string;
  repo: Repo;
  systemId: string;
  /** the segments in replay order */
  names: readonly string[];
  /** ahead: files kept ahead of the replay, downloads: at a time */
  ahead: number;
  downloads?: number;
  /** the server's user when we are root: it moves the files out, and must own them to read them */
  owner?: { uid: number; gid: number };
  log: Logger;
  signal: AbortSignal;
}

// The segments a plan's replay reads (the timeline chain read again from the archive's history files).
export async function spoolNames(repo: Repo, plan: RecoveryPlan): Promise<string[]> {
  const { chain, problem } = await archivedChain(repo, plan.systemIdentifier, plan.archiveEnd.timeline);
  // the plan read the same history: a problem now is the archive changing under us; wal fetch copes without a spool
  if (problem) return [];
  return segmentsToReplay({ first: plan.wal.first, last: plan.wal.last, backupLast: plan.backup.manifest.wal.last, segmentSize: plan.segmentSize }, plan.target, chain);
}

// The spool of a plan's WAL, started before the server so that its first files are ready when replay asks; the server
// runs as osUser. Without one (the folder cannot be made, the history cannot be read: a warning), restore_command
// finds no folder and wal fetch fetches every file, as it does for a server started by hand.
export async function spoolForPlan(o: { repo: Repo; plan: RecoveryPlan; pgdata: string; osUser: string; log: Logger; signal: AbortSignal }): Promise<Spool | undefined> {
  try {
    const names = await spoolNames(o.repo, o.plan);
    const owner = runningAsRoot() ? await osUserIds(o.osUser) : undefined;
    return startSpool({ pgdata: o.pgdata, repo: o.repo, systemId: o.plan.systemIdentifier, names, ahead: aheadFor(o.plan.segmentSize), owner, log: o.log, signal: o.signal });
  } catch (err) {
    o.log.warn('spool', `WAL is not fetched ahead: ${messageOf(err)}; wal fetch fetches every file the server asks for, one at a time`, { hint: `slower, not wrong: the spool needs a folder ${spoolFolder(o.pgdata)} that the server's user can write` });
    return undefined;
  }
}

// Creates the spool folder (0700, owned by the server's user) and starts fetching the first files.
export function startSpool(o: SpoolOptions): Spool {
  const folder = spoolFolder(o.pgdata);
  // a folder left by a run that died is replaced: it holds only verified files, but nothing of it is needed
  fs.rmSync(folder, { recursive: true, force: true });
  fs.mkdirSync(folder, { mode: 0o700 });
  try {
    if (o.owner) fs.chownSync(folder, o.owner.uid, o.owner.gid);
  } catch (err) {
    fs.rmSync(folder, { recursive: true, force: true });
    throw err;
  }
  const spool = new Prefetcher(folder, o);
  spool.fill();
  return spool;
}

class Prefetcher implements Spool {
  private readonly index = new Map<string, number>();
  /** the names renamed into the folder that the server has not taken yet */
  private readonly placed = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  /** downloads by name, so that a question for a file on its way waits for it */
  private readonly downloading = new Map<string, Promise<void>>();
  /** files placed to answer a question, not yet taken */
  private readonly answeredFiles = new Set<string>();
  private readonly answering = new Map<string, Promise<void>>();
  private watcher: fs.FSWatcher | undefined;
  private readonly abort = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort = () => this.abort.abort();
  private next = 0;
  /** the index of the newest file replay is known to have had */
  private position = -1;
  private failuresInARow = 0;
  private stopped = false;
  private readonly stats: SpoolStats = { fetched: 0, served: 0, skipped: 0, answered: 0 };

  constructor(
    readonly folder: string,
    private readonly o: SpoolOptions,
  ) {
    o.names.forEach((n, i) => this.index.set(n, i));
    o.signal.addEventListener('abort', this.onAbort, { once: true });
    this.timer = setInterval(() => this.fill(), POLL_MS);
    this.timer.unref();
    try {
      // a question is seen at once; the poll (fill) finds any the watch missed
      this.watcher = fs.watch(folder, (_event, file) => {
        if (typeof file === 'string' && file.endsWith(ASK_SUFFIX)) this.answer(file.slice(0, -ASK_SUFFIX.length));
      });
      this.watcher.on('error', () => this.watcher?.close());
      this.watcher.unref();
    } catch {
      // no watch (inotify instances used up): the poll answers, 50 ms later
    }
  }

  replayed(name: string): void {
    const i = this.index.get(name);
    if (i !== undefined && i > this.position) this.position = i;
    this.fill();
  }

  // Notes the files the server took, drops those replay has passed, and starts downloads while there is room.
  fill(): void {
    if (this.stopped) return;
    this.noteTaken();
    this.findQuestions();
    // files replay went past (wal fetch got them first, the spool being late) would hold the room forever: once they
    // fill it, they go (not before: at its start replay reads the checkpoint's segment, then the redo point's before it;
    // a file removed while restore_command moves it makes its mv fail, and wal fetch fetches it)
    if (this.placed.size + this.running.size >= this.o.ahead) {
      for (const name of this.placed) {
        if (this.index.get(name)! >= this.position) continue;
        this.placed.delete(name);
        // a file that cannot be removed goes with the folder
        fs.promises.rm(path.join(this.folder, name), { force: true }).catch(() => undefined);
      }
    }
    if (this.next <= this.position) {
      this.stats.skipped += this.position + 1 - this.next;
      this.next = this.position + 1;
    }
    const downloads = this.o.downloads ?? DOWNLOADS;
    while (this.running.size < downloads && this.placed.size + this.running.size < this.o.ahead && this.next < this.o.names.length && this.failuresInARow < MAX_FAILURES_IN_A_ROW) {
      const name = this.o.names[this.next++];
      // asked for and fetched already (the spool was behind)
      if (this.answering.has(name) || this.answeredFiles.has(name)) {
        this.stats.skipped += 1;
        continue;
      }
      const p: Promise<void> = this.download(name).finally(() => {
        this.running.delete(p);
        this.downloading.delete(name);
        this.fill();
      });
      this.running.add(p);
      this.downloading.set(name, p);
    }
  }

  // The questions in the folder the watch did not report.
  private findQuestions(): void {
    let files: string[];
    try {
      files = fs.readdirSync(this.folder);
    } catch {
      return;
    }
    for (const f of files) if (f.endsWith(ASK_SUFFIX)) this.answer(f.slice(0, -ASK_SUFFIX.length));
  }

  // Answers restore_command's question for name, once at a time per name; asked again meanwhile, it is answered again.
  private answer(name: string): void {
    if (this.stopped || this.answering.has(name)) return;
    const p = this.answerOnce(name)
      .catch(() => undefined)
      .finally(() => {
        this.answering.delete(name);
        // asked anew while this answer was on its way (restore_command gave up and asked again): answered again
        if (!this.stopped && !this.abort.signal.aborted && fs.existsSync(this.question(name))) this.answer(name);
      });
    this.answering.set(name, p);
  }

  private question(name: string): string {
    return path.join(this.folder, name + ASK_SUFFIX);
  }

  private async answerOnce(name: string): Promise<void> {
    const ask = this.question(name);
    const asked = inodeOf(ask);
    if (asked === undefined) return;
    let answer: 'placed' | 'absent' | 'unanswered' = 'unanswered';
    try {
      if (parseWalFileName(name)) answer = await this.find(name);
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.o.log.debug('spool', `restore_command's question for ${name} is left to wal fetch: ${messageOf(err)}`, { name });
    }
    // the question went (restore_command gave up) or was asked anew: this answer is not for it
    if (inodeOf(ask) !== asked) return;
    if (answer === 'absent') {
      const absent = path.join(this.folder, name + ABSENT_SUFFIX);
      fs.writeFileSync(absent, '', { mode: 0o600 });
      if (this.o.owner) fs.chownSync(absent, this.o.owner.uid, this.o.owner.gid);
    }
    if (answer !== 'unanswered') this.stats.answered += 1;
    // after the answer: restore_command reads a question gone without an answer as "ask wal fetch"
    fs.rmSync(ask, { force: true });
  }

  // The answer to a question: the file placed in the folder, "not archived" where wal fetch would say so, or none.
  private async find(name: string): Promise<'placed' | 'absent' | 'unanswered'> {
    const { repo, systemId } = this.o;
    const file = path.join(this.folder, name);
    await this.downloading.get(name);
    if (fs.existsSync(file)) return 'placed';
    const sidecar = await readSidecar(repo, systemId, name);
    if (!sidecar) {
      // a segment missing before later ones is a gap, which wal fetch reports (and fails the recovery on)
      if (parseWalFileName(name)!.kind !== 'segment') return 'absent';
      return firstLaterSegment(name, await archivedNames(repo, systemId)) === undefined ? 'absent' : 'unanswered';
    }
    const signal = this.abort.signal;
    await writeSpooled(file, (out) => readArchived(repo, systemId, sidecar, out, signal), this.o.owner, signal);
    this.answeredFiles.add(name);
    return 'placed';
  }

  // The files gone from the folder: the server moved them out.
  private noteTaken(): void {
    for (const name of this.answeredFiles) {
      if (fs.existsSync(path.join(this.folder, name))) continue;
      this.answeredFiles.delete(name);
      this.stats.served += 1;
      this.position = Math.max(this.position, this.index.get(name) ?? -1);
    }
    for (const name of this.placed) {
      if (fs.existsSync(path.join(this.folder, name))) continue;
      this.placed.delete(name);
      this.stats.served += 1;
      this.position = Math.max(this.position, this.index.get(name)!);
    }
  }

  // Fetches one file into the folder; a failure is only logged (wal fetch fetches the file and reports the error).
  private async download(name: string): Promise<void> {
    const { repo, systemId, log } = this.o;
    const signal = this.abort.signal;
    try {
      const sidecar = await readSidecar(repo, systemId, name);
      if (!sidecar) throw new Error('not in the archive');
      await writeSpooled(path.join(this.folder, name), (out) => readArchived(repo, systemId, sidecar, out, signal), this.o.owner, signal);
      this.placed.add(name);
      this.stats.fetched += 1;
      this.failuresInARow = 0;
    } catch (err) {
      if (signal.aborted) return;
      this.stats.skipped += 1;
      this.failuresInARow += 1;
      log.debug('spool', `${name} was not spooled (${messageOf(err)}): wal fetch fetches it when the server asks`, { name });
      if (this.failuresInARow === MAX_FAILURES_IN_A_ROW) log.debug('spool', `the spool stopped after ${MAX_FAILURES_IN_A_ROW} failed fetches in a row: wal fetch fetches the rest`);
    }
  }

  async stop(): Promise<SpoolStats> {
    if (!this.stopped) {
      this.noteTaken();
      this.stopped = true;
      clearInterval(this.timer);
      this.watcher?.close();
      this.o.signal.removeEventListener('abort', this.onAbort);
      this.abort.abort();
      await Promise.allSettled([...this.running, ...this.answering.values()]);
      fs.rmSync(this.folder, { recursive: true, force: true });
    }
    return { ...this.stats };
  }
}

// The inode of a file, undefined when there is none: tells a question from the one asked again under its name.
function inodeOf(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}

// Writes a spooled file: a temp name beside it, fsynced (a host crash must not leave a torn file under a WAL name for a
// server started by hand later) and owned by the server's user, then renamed to its name. The temp file goes on failure.
async function writeSpooled(target: string, fill: (out: Writable) => Promise<void>, owner: { uid: number; gid: number } | undefined, signal: AbortSignal): Promise<void> {
  const temp = path.join(path.dirname(target), `${TEMP_PREFIX}${path.basename(target)}`);
  const out = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
  try {
    await fill(out);
    if (!out.closed) await once(out, 'close');
    const handle = await fs.promises.open(temp, 'r+');
    try {
      await handle.sync();
      if (owner) await handle.chown(owner.uid, owner.gid);
    } finally {
      await handle.close();
    }
    signal.throwIfAborted();
    await fs.promises.rename(temp, target);
  } catch (err) {
    if (!out.closed) await once(out.destroy(), 'close').catch(() => undefined);
    await fs.promises.rm(temp, { force: true });
    throw err;
  }
}
