import fs from 'node:fs/promises';
import path from 'node:path';

// pg_control starts with ControlFileData: system_identifier u64, then pg_control_version u32 (1300 for PostgreSQL 13
// to 16, 1700 for 17, ...), in the machine's byte order. Reading these 12 bytes needs no server and no pg_controldata.
const SANE_CONTROL_VERSION = { min: 900, max: 9999 };

// The system identifier in <dataDir>/global/pg_control; throws when the file is missing or does not look like one.
export async function readControlSystemId(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'global', 'pg_control');
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(12);
    const { bytesRead } = await handle.read(buf, 0, 12, 0);
    if (bytesRead < 12) throw new Error(`${file} is too short to be a pg_control file`);
    const version = buf.readUInt32LE(8);
    if (version < SANE_CONTROL_VERSION.min || version > SANE_CONTROL_VERSION.max) {
      throw new Error(`${file} has pg_control version ${version}: not a little-endian pg_control file`);
    }
    return buf.readBigUInt64LE(0).toString();
  } finally {
    await handle.close();
  }
}
