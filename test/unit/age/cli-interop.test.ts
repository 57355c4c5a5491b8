import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AgeNoIdentityError,
  type Identity,
  MAX_HEADER_BYTES,
  type Recipient,
  decryptStream,
  encryptStream,
  headerInfo,
  parseIdentities,
  parseRecipient,
  rewrapHeader,
} from '../../../lib/age/index.ts';

// Against Debian's age and age-keygen (1.1.1; CI installs them): what pgops writes, age -d reads, and the other way
// round. Keys go by file, never in argv; recipients (public) may.
const AGE = '/usr/bin/age';
const KEYGEN = '/usr/bin/age-keygen';
const hasAge = fs.existsSync(AGE) && fs.existsSync(KEYGEN);
const MB = 1024 * 1024;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-age-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function keygen(name: string): { file: string; recipient: string; identities: Identity[] } {
  const file = path.join(dir, name);
  execFileSync(KEYGEN, ['-o', file], { stdio: 'ignore' });
  const recipient = execFileSync(KEYGEN, ['-y', file]).toString().trim();
  return { file, recipient, identities: parseIdentities(fs.readFileSync(file, 'utf8')) };
}

// age -d: its exit status and output, the file and the identity file given by path
function ageDecrypt(identityFile: string, input: string): { status: number | null; out: Buffer; stderr: string } {
  const r = spawnSync(AGE, ['-d', '-i', identityFile, input], { maxBuffer: 64 * MB });
  return { status: r.status, out: r.stdout, stderr: r.stderr.toString() };
}

// Runs input through one of our streams in pieces of random sizes.
async function ours(stream: NodeJS.ReadWriteStream, input: Buffer): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < input.length; ) {
    const n = 1 + crypto.randomInt(200_000);
    pieces.push(input.subarray(at, at + n));
    at += n;
  }
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), stream, new Writable({ write(c, _e, cb) { out.push(c); cb(); } }));
  return Buffer.concat(out);
}

const write = (name: string, data: Buffer) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return file;
};

describe(hasAge ? 'interop with the age CLI' : `interop with the age CLI (skipped: ${AGE} is not installed; apt-get install age)`, () => {
  const a = hasAge ? keygen('a.txt') : undefined!;
  const b = hasAge ? keygen('b.txt') : undefined!;
  const toA = (): Recipient[] => [parseRecipient(a.recipient)];

  it.skipIf(!hasAge)('reads the identity file age-keygen wrote, to the recipient age-keygen -y prints', () => {
    expect(a.identities).toHaveLength(1);
    expect(a.identities[0].kind === 'x25519' && a.identities[0].recipient).toBe(a.recipient);
  });

  for (const size of [0, 1, 64 * 1024, MB + 1, 17 * MB + 3]) {
    it.skipIf(!hasAge)(`writes what age -d reads: ${size} random bytes`, async () => {
      const plain = crypto.randomBytes(size);
      const file = write(`ours-${size}.age`, await ours(encryptStream(toA()), plain));
      const r = ageDecrypt(a.file, file);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.out.equals(plain)).toBe(true);
    });
  }

  for (const size of [0, 1, 64 * 1024, 2 * 64 * 1024, 17 * MB + 3]) {
    it.skipIf(!hasAge)(`reads what age -r writes: ${size} random bytes`, async () => {
      const plain = crypto.randomBytes(size);
      const input = write(`plain-${size}`, plain);
      const output = path.join(dir, `theirs-${size}.age`);
      execFileSync(AGE, ['-r', a.recipient, '-o', output, input]);
      const dec = decryptStream(a.identities);
      expect((await ours(dec, fs.readFileSync(output))).equals(plain)).toBe(true);
      expect(dec.plain().sha256).toBe(crypto.createHash('sha256').update(plain).digest('hex'));
    });
  }

  it.skipIf(!hasAge)('reads what age -R writes to two recipients, with either identity, and not with a third', async () => {
    const plain = crypto.randomBytes(MB);
    const recipientsFile = write('recipients.txt', Buffer.from(`# two of them\n${a.recipient}\n${b.recipient}\n`));
    const output = path.join(dir, 'two.age');
    execFileSync(AGE, ['-R', recipientsFile, '-o', output, write('plain-two', plain)]);
    const file = fs.readFileSync(output);
    expect(headerInfo(file).stanzas.map((s) => s.type)).toEqual(['X25519', 'X25519']);
    expect((await ours(decryptStream(a.identities), file)).equals(plain)).toBe(true);
    expect((await ours(decryptStream(b.identities), file)).equals(plain)).toBe(true);
    await expect(ours(decryptStream(keygen('c.txt').identities), file)).rejects.toBeInstanceOf(AgeNoIdentityError);
  });

  it.skipIf(!hasAge)('rekeys a file from A to B: age -d reads it with B and no longer with A', async () => {
    const plain = crypto.randomBytes(3 * MB + 17);
    for (const [name, original] of [
      ['ours', await ours(encryptStream(toA()), plain)],
      ['theirs', (execFileSync(AGE, ['-r', a.recipient, '-o', path.join(dir, 'rekey-theirs.age'), write('plain-rekey', plain)]), fs.readFileSync(path.join(dir, 'rekey-theirs.age')))],
    ] as const) {
      const { header, oldHeaderLength } = rewrapHeader(original.subarray(0, MAX_HEADER_BYTES), a.identities, [parseRecipient(b.recipient)]);
      const file = write(`rekeyed-${name}.age`, Buffer.concat([header, original.subarray(oldHeaderLength)]));
      const withB = ageDecrypt(b.file, file);
      expect(withB.status, withB.stderr).toBe(0);
      expect(withB.out.equals(plain)).toBe(true);
      const withA = ageDecrypt(a.file, file);
      expect(withA.status).not.toBe(0);
      expect(withA.stderr).toMatch(/no identity matched/);
    }
  });
});
