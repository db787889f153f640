/**
 * Database and Redis URLs carry passwords. Everything that shows where data lives (the admin
 * CLI's first line, the start-up log, readiness failures in the log) passes through here, so
 * there is one place that decides what is safe to print.
 */
const CREDENTIALS_IN_URL = /\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*):([^@\s]*)@/gi;

/** A URL with its password replaced by "***" (the user name stays: it helps operators). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    // ?password=... is accepted by libpq-style connection strings too.
    for (const name of [...u.searchParams.keys()]) if (/pass/i.test(name)) u.searchParams.set(name, '***');
    return u.toString();
  } catch {
    return redactText(url);
  }
}

/** Any text (an error message, say) with the password of every URL in it replaced. */
export function redactText(text: string): string {
  return text.replace(CREDENTIALS_IN_URL, (_m, scheme: string, user: string) => `${scheme}${user}:***@`);
}
