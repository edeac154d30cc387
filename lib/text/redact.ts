/**
 * Credentials never appear in output: every line flagops prints, and every report it writes,
 * passes through a {@link Redactor} that knows the secrets of the run (passwords in URLs on the
 * command line, FLAGOPS_PROMETHEUS_PASSWORD / FLAGOPS_PROMETHEUS_TOKEN, and secrets read from
 * files), in every form a server could echo them: as given, URL-encoded, and as the base64 of
 * `user:password` in a `Basic` header.
 */

/** Environment variables that hold secrets. */
export const SECRET_ENV = ['FLAGOPS_PROMETHEUS_PASSWORD', 'FLAGOPS_PROMETHEUS_TOKEN'] as const;
/** Environment variables that may hold a URL with credentials. */
export const URL_ENV = ['FLAGOPS_PROMETHEUS_URL'] as const;

export class Redactor {
  private secrets: string[] = [];

  /** Adds a secret (empty ones are ignored). */
  add(secret: string | undefined): this {
    if (secret && !this.secrets.includes(secret)) {
      // Longest first, so a secret containing another is replaced whole.
      this.secrets = [...this.secrets, secret].sort((a, b) => b.length - a.length);
    }
    return this;
  }

  /** Adds a basic-auth password in every form: raw, URL-encoded, and the base64 of `user:password`. */
  addBasic(user: string, password: string): this {
    if (!password) return this;
    this.add(password);
    this.add(encodeURIComponent(password));
    this.add(Buffer.from(`${user}:${password}`).toString('base64'));
    return this;
  }

  /** Adds the credentials of every URL-like `scheme://user:password@` or `user:password@host` in `text`. */
  addUrlCredentials(text: string): this {
    for (const m of text.matchAll(/(?:^|[\s='"]|\/\/)([^\s:/@'"=]*):([^\s@'"/]+)@/g)) {
      const user = safeDecode(m[1]!);
      const raw = m[2]!;
      this.add(raw);
      this.addBasic(user, safeDecode(raw));
    }
    return this;
  }

  /** `text` with every secret replaced by `***`. */
  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  }
}

/** The secrets of a run known before any command starts: from the command line and the environment. */
export function runSecrets(argv: readonly string[], env: NodeJS.ProcessEnv): Redactor {
  const redactor = new Redactor();
  for (const arg of argv) redactor.addUrlCredentials(arg);
  for (const name of URL_ENV) if (env[name]) redactor.addUrlCredentials(env[name]!);
  for (const name of SECRET_ENV) redactor.add(env[name]);
  return redactor;
}

/** A URL for messages: everything between the scheme and the last `@` (the user and password) replaced by `***`. */
export function redactUrl(url: string): string {
  return url.replace(/^((?:[a-z][a-z0-9+.-]*:)?\/\/)?[^\s]*@/is, '$1***@');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
