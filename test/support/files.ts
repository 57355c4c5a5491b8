import fs from 'node:fs';
import path from 'node:path';

// Every file below a folder, relative and sorted; none when the folder does not exist.
export function filesBelow(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(root, f)).isFile()).sort();
}
