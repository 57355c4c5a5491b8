// The host a page is written for (Debian's PostgreSQL 15 packages, pgops installed under /opt/pgops, its config in
// /etc/pgops), mapped onto the machine a drill builds. This table is the only rewriting a drill does to a page's
// steps besides binding its named placeholders; what is not in it runs as the page writes it.

export interface DrillHost {
  /** the server the page calls <host>, and the one it calls <new-host> when there is one */
  host: { port: number };
  newHost?: { port: number };
  /** the data directory of <host>'s server (/var/lib/postgresql/15/main on the page) */
  pgdata?: string;
  /** the server's log file (/var/log/postgresql/postgresql-*.log on the page) */
  serverLog?: string;
  /** pgops's config file (/etc/pgops/pgops.config.yml on the page) */
  config?: string;
  /** a file repository's folder (/var/backups/pgops on the page) */
  fileRepo?: string;
  /** the folder of the server programs (/usr/lib/postgresql/15/bin on the page) */
  pgBin: string;
  /** how the server's OS user runs pgops (/usr/bin/node /opt/pgops/bin/pgops.js on the page) */
  pgopsCommand: string;
  /** more literal rewrites a drill needs, each stated in its test (a mount point, a scratch folder) */
  more?: [string, string][];
}

// The rewrites of a page's literal host paths, longest first so that a path is not cut by a shorter one.
export function hostRewrites(h: DrillHost): [string, string][] {
  const pairs: [string, string | undefined][] = [
    ['<new-host>:5432', h.newHost ? `127.0.0.1:${h.newHost.port}` : undefined],
    ['<host>:5432', `127.0.0.1:${h.host.port}`],
    ['/usr/bin/node /opt/pgops/bin/pgops.js', h.pgopsCommand],
    ['/usr/lib/postgresql/15/bin', h.pgBin],
    ['/var/lib/postgresql/15/main', h.pgdata],
    ['/var/log/postgresql/postgresql-*.log', h.serverLog],
    ['/etc/pgops/pgops.config.yml', h.config],
    ['/var/backups/pgops', h.fileRepo],
    ...(h.more ?? []),
  ];
  return pairs.filter((p): p is [string, string] => p[1] !== undefined).sort((a, b) => b[0].length - a[0].length);
}

// A page's text with the host's paths rewritten.
export function onHost(code: string, h: DrillHost): string {
  let out = code;
  for (const [from, to] of hostRewrites(h)) out = out.replaceAll(from, to);
  return out;
}
