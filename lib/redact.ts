// Secrets never reach a log line, a report or an error: URLs lose their passwords, registered secrets are masked.
const secrets = new Set<string>();

// Registers a value (a password, a secret key) to be masked wherever it would be printed.
export function addSecret(value: string | undefined): void {
  if (value && value.length >= 3) secrets.add(value);
}

// Replaces the password in every URL of the text, then every registered secret, with ***.
export function redact(text: string): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@\s/]*)@/gi, '$1***@');
  out = out.replace(/(password=)([^&\s]+)/gi, '$1***');
  for (const s of secrets) out = out.split(s).join('***');
  for (const s of secrets) {
    const enc = encodeURIComponent(s);
    if (enc !== s) out = out.split(enc).join('***');
  }
  return out;
}

// Redacts every string inside a JSON-able value.
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}
