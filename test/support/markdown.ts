// What the doc tests read of a markdown page: its prose, and the anchors GitHub gives its headings.
import fs from 'node:fs';
import path from 'node:path';
import { headingSlug } from '../../tools/docs/runbooks.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

// The page without its fenced code blocks (a "## " or "#anchor" inside them is not markdown structure).
export function prose(text: string): string {
  return text.replace(/^ *(```|~~~)[^\n]*\n[\s\S]*?^ *\1[^\n]*$/gm, '');
}

// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces turned into hyphens, -1, -2 for repeats.
export function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(text).matchAll(/^#{1,6} (.+?)\s*$/gm)) {
    const base = headingSlug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

// The runbook pages of a list ("runbooks/<page>.md[#anchor]", from the repository's root) that are not a file under
// runbooks/, or whose #anchor is no heading of that file.
export function deadPages(pages: readonly string[]): string[] {
  return pages.filter((page) => {
    const [file, anchor] = page.split('#');
    if (!/^runbooks\/[\w-]+\.md$/.test(file) || !fs.existsSync(path.join(ROOT, file))) return true;
    return anchor !== undefined && !headingAnchors(fs.readFileSync(path.join(ROOT, file), 'utf8')).has(anchor);
  });
}
