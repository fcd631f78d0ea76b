// Owns how a configured URL (database_url, redis_url, spoolman_url) is shown in a log, a message or a page:
// without its secrets.

/**
 * The URL without its user name and password, and with a password-like query value starred. It is parsed, not
 * cut at an `@`: in `http://admin:p@ss@host` the credentials run to the last `@` before the host, so cutting at
 * the first would show part of the password.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "(unparseable URL)";
  }
  u.username = "";
  u.password = "";
  for (const key of [...u.searchParams.keys()]) if (/pass|secret|token/i.test(key)) u.searchParams.set(key, "***");
  return u.href;
}
