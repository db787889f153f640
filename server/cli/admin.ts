import { parseArgs } from 'node:util';
import { openDb } from '../accounts/db';
import { AccountError, AccountStore, PAID_CLASSES, type PaidClass } from '../accounts/store';
import { loadConfig } from '../config/config';

/**
 * Operator CLI, spelled exactly as the API spec's section 3:
 *   admin user:create --email E --username U [--name N] [--class C] [--verified]
 *   admin user:set-class --email E --class C
 *   admin key:create --email E --name N      (prints only the key on stdout)
 *   admin key:list --email E
 *   admin key:revoke --id ID
 * Failures print one line on stderr and exit non-zero.
 */
const USAGE = 'usage: admin user:create|user:set-class|key:create|key:list|key:revoke [options]';

class CliError extends Error {}

function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new CliError(`--${name} is required`);
  return v;
}

function paidClass(value: string): PaidClass {
  if (!(PAID_CLASSES as string[]).includes(value)) throw new CliError(`--class must be one of ${PAID_CLASSES.join(', ')}`);
  return value as PaidClass;
}

export function runAdmin(argv: string[], store: AccountStore, out: (line: string) => void): void {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      email: { type: 'string' },
      username: { type: 'string' },
      name: { type: 'string' },
      class: { type: 'string' },
      verified: { type: 'boolean' },
      id: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const userFor = (email: string) => {
    const u = store.userByEmail(email);
    if (!u) throw new CliError(`no user with email ${email}`);
    return u;
  };
  switch (command) {
    case 'user:create': {
      const u = store.createUser({
        email: required(values, 'email'),
        username: required(values, 'username'),
        name: values.name,
        class: values.class ? paidClass(values.class) : 'Basic',
        verified: Boolean(values.verified),
      });
      out(JSON.stringify({ id: u.id, email: u.email, username: u.username, class: u.class, email_verified: u.email_verified }));
      return;
    }
    case 'user:set-class': {
      const u = store.setClass(required(values, 'email'), paidClass(required(values, 'class')));
      out(JSON.stringify({ id: u.id, email: u.email, class: u.class }));
      return;
    }
    case 'key:create': {
      const k = store.createKey(userFor(required(values, 'email')).id, required(values, 'name'));
      out(k.key);
      return;
    }
    case 'key:list': {
      for (const k of store.listKeys(userFor(required(values, 'email')).id)) out(JSON.stringify(k));
      return;
    }
    case 'key:revoke': {
      const id = required(values, 'id');
      if (!store.revokeKey(id)) throw new CliError(`no active key with id ${id}`);
      out(JSON.stringify({ id, revoked: true }));
      return;
    }
    default:
      throw new CliError(command ? `unknown command ${command}; ${USAGE}` : USAGE);
  }
}

if (require.main === module) {
  try {
    const db = openDb(loadConfig().databasePath);
    try {
      runAdmin(process.argv.slice(2), new AccountStore(db), (line) => process.stdout.write(`${line}\n`));
    } finally {
      db.close();
    }
  } catch (err) {
    const known = err instanceof CliError || err instanceof AccountError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`admin: ${known ? (err as Error).message.split('\n')[0] : `unexpected error: ${String(err)}`}\n`);
    process.exit(1);
  }
}
