// Bech32 (BIP 173, the original checksum: not bech32m), as age encodes its keys. BIP 173 caps a string at 90
// characters; age's keys are longer (an AGE-SECRET-KEY-1 is 74, a post-quantum recipient far more), so there is
// no length limit here, as in age's own internal/bech32.
//
// Errors are plain Errors with a short reason and never the input: the input may be a secret key. keys.ts turns
// them into AgeKeyErrors that say what was expected.

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
const CHECKSUM_LENGTH = 6;

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = (((chk & 0x1ffffff) << 5) ^ v) >>> 0;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk = (chk ^ GENERATOR[i]) >>> 0;
  }
  return chk;
}

function hrpExpand(hrp: string): number[] {
  const codes = [...hrp].map((c) => c.charCodeAt(0));
  return [...codes.map((c) => c >> 5), 0, ...codes.map((c) => c & 31)];
}

// Regroups bits (8 to 5 when encoding, 5 to 8 when decoding); decoding refuses non-zero or over-long padding,
// so that each key has one encoding only.
function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] {
  const out: number[] = [];
  const max = (1 << to) - 1;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < data.length; i++) {
    acc = ((acc << from) | data[i]) & 0xffffff;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & max);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & max);
  } else if (bits >= from) {
    throw new Error('illegal zero padding');
  } else if ((acc << (to - bits)) & max) {
    throw new Error('non-zero padding');
  }
  return out;
}

// Encodes data under hrp, lowercase (age upper-cases its secret keys itself).
export function bech32Encode(hrp: string, data: Uint8Array): string {
  const lower = hrp.toLowerCase();
  if (lower.length < 1 || [...lower].some((c) => c.charCodeAt(0) < 33 || c.charCodeAt(0) > 126)) {
    throw new Error('invalid human-readable part');
  }
  const values = convertBits(data, 8, 5, true);
  const mod = polymod([...hrpExpand(lower), ...values, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum = Array.from({ length: CHECKSUM_LENGTH }, (_, p) => (mod >>> (5 * (5 - p))) & 31);
  return lower + '1' + [...values, ...checksum].map((v) => CHARSET[v]).join('');
}

// Decodes a bech32 string (all lowercase or all uppercase) into its human-readable part (as written) and data.
export function bech32Decode(text: string): { hrp: string; data: Buffer } {
  if (text.toLowerCase() !== text && text.toUpperCase() !== text) throw new Error('mixed case');
  const pos = text.lastIndexOf('1');
  if (pos < 1 || pos + 1 + CHECKSUM_LENGTH > text.length) throw new Error('no separator 1 before a 6-character checksum');
  const hrp = text.slice(0, pos);
  if ([...hrp].some((c) => c.charCodeAt(0) < 33 || c.charCodeAt(0) > 126)) throw new Error('invalid character in the human-readable part');
  const values: number[] = [];
  for (const c of text.slice(pos + 1).toLowerCase()) {
    const v = CHARSET.indexOf(c);
    if (v === -1) throw new Error('invalid character in the data part');
    values.push(v);
  }
  if (polymod([...hrpExpand(hrp.toLowerCase()), ...values]) !== 1) throw new Error('invalid checksum');
  return { hrp, data: Buffer.from(convertBits(values.slice(0, -CHECKSUM_LENGTH), 5, 8, false)) };
}
