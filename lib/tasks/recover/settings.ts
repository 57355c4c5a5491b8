import fs from 'node:fs';
import path from 'node:path';

// What turns a laid-down base backup into an archive recovery: restore_command and the target appended to
// postgresql.auto.conf (read after postgresql.conf, the last line of a setting wins), recovery.signal, and no
// standby.signal. A cluster whose configuration lives outside its data directory (Debian's /etc/postgresql/...) has
// none in the backup: minimal files are written so that the server starts.

// A value as a postgresql.conf string: quoted, single quotes doubled, backslashes escaped (the file's strings
// take C-style escapes).
export function confValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

// The block appended to postgresql.auto.conf: a comment naming pgops, the backup and the time, then the settings.
export function settingsBlock(settings: Record<string, string>, o: { backupId: string; now: Date }): string {
  const lines = Object.entries(settings).map(([k, v]) => `${k} = ${confValue(v)}`);
  return `\n# added by pgops recover from base backup ${o.backupId} at ${o.now.toISOString()}\n${lines.join('\n')}\n`;
}

// What writeRecoverySettings changed besides the settings.
export interface WrittenSettings {
  /** standby.signal came with the backup (taken from a standby) and was removed: this is an archive recovery */
  removedStandbySignal: boolean;
  /** configuration files the backup lacked, written minimal */
  wroteConfig: string[];
}

function writeOwned(file: string, text: string, owner: { uid: number; gid: number } | undefined, flag: 'a' | 'wx' = 'wx'): void {
  const fd = fs.openSync(file, flag, 0o600);
  try {
    fs.writeSync(fd, text);
    if (owner) fs.fchownSync(fd, owner.uid, owner.gid);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

// Writes the recovery settings into pgdata (restore_command first), creates recovery.signal and removes a
// standby.signal; fsyncs what it wrote and the folder.
export function writeRecoverySettings(pgdata: string, settings: Record<string, string>, o: { backupId: string; now: Date; owner?: { uid: number; gid: number } }): WrittenSettings {
  const wroteConfig: string[] = [];
  // the backed-up cluster kept its configuration elsewhere: the server needs a postgresql.conf to start, and an hba
  // that lets local users in by their OS name (peer) and others by password; nothing more is assumed
  const minimal: Record<string, string> = {
    'postgresql.conf': '# written by pgops recover: the backed-up cluster kept its configuration outside its data directory\n',
    'pg_hba.conf': '# written by pgops recover: the backed-up cluster kept pg_hba.conf outside its data directory\nlocal all all peer\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n',
    'pg_ident.conf': '# written by pgops recover\n',
  };
  if (!fs.existsSync(path.join(pgdata, 'postgresql.conf'))) {
    for (const [name, text] of Object.entries(minimal)) {
      if (fs.existsSync(path.join(pgdata, name))) continue;
      writeOwned(path.join(pgdata, name), text, o.owner);
      wroteConfig.push(name);
    }
  }
  writeOwned(path.join(pgdata, 'postgresql.auto.conf'), settingsBlock(settings, o), o.owner, 'a');
  const signal = path.join(pgdata, 'recovery.signal');
  if (!fs.existsSync(signal)) writeOwned(signal, '', o.owner);
  const standby = path.join(pgdata, 'standby.signal');
  const removedStandbySignal = fs.existsSync(standby);
  if (removedStandbySignal) fs.rmSync(standby);
  const dir = fs.openSync(pgdata, 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
  return { removedStandbySignal, wroteConfig };
}
