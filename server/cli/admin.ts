import { parseArgs } from 'node:util';
import { DatabaseMissingError, describeDatabase, MISSING_DATABASE_HINT, openStore } from '../accounts/open-store';
import { redactText } from '../accounts/redact';
import { AccountError, type AccountStore } from '../accounts/store';
import { PAID_CLASSES, type PaidClass } from '../auth/classes';
import { loadConfig, type Config } from '../config/config';
import { commandUsage, isCommand, mainUsage, type Command } from './usage';

/**
 * Operator CLI, spelled exactly as the API spec's section 3:
 *   admin user:create --email E --username U [--name N] [--class C] [--verified]
 *   admin user:set-class --email E --class C
 *   admin key:create --email E --name N      (prints only the key on stdout)
 *   admin key:list --email E
 *   admin key:revoke --id ID
 * stdout carries only results (scripts read it); the database in use and failures go to
 * stderr. A failure is one line (naming the database too) and a non-zero exit.
 */
export class CliError extends Error {}

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new CliError(`--${name} is required`);
  return v;
}

function paidClass(value: string): PaidClass {
  if (!(PAID_CLASSES as string[]).includes(value)) throw new CliError(`--class must be one of ${PAID_CLASSES.join(', ')}`);
  return value as PaidClass;
}

function parse(rest: string[]) {
  return parseArgs({
    args: rest,
    options: {
      email: { type: 'string' },
      username: { type: 'string' },
      name: { type: 'string' },
      class: { type: 'string' },
      verified: { type: 'boolean' },
      id: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}

/** Runs one command against an open store; results are lines on `out`. */
export async function runCommand(command: Command, values: ReturnType<typeof parse>, store: AccountStore, out: (line: string) => void): Promise<void> {
  const userFor = async (email: string) => {
    const u = await store.userByEmail(email);
    if (!u) throw new CliError(`no user with email ${email}`);
    return u;
  };
  switch (command) {
    case 'user:create': {
      const u = await store.createUser({
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
      const u = await store.setClass(required(values, 'email'), paidClass(required(values, 'class')));
      out(JSON.stringify({ id: u.id, email: u.email, class: u.class }));
      return;
    }
    case 'key:create': {
      const k = await store.createKey((await userFor(required(values, 'email'))).id, required(values, 'name'));
      out(k.key);
      return;
    }
    case 'key:list': {
      for (const k of await store.listKeys((await userFor(required(values, 'email'))).id)) out(JSON.stringify(k));
      return;
    }
    case 'key:revoke': {
      const id = required(values, 'id');
      if (!(await store.revokeKey(id))) throw new CliError(`no active key with id ${id}`);
      out(JSON.stringify({ id, revoked: true }));
      return;
    }
  }
}

/** The whole CLI: arguments in, exit code out. */
export async function runAdmin(argv: string[], config: Pick<Config, 'databaseUrl' | 'databasePath'>, io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    // Asked for: stdout, success. Given nothing at all: the same text, but as a failure.
    (command ? io.out : io.err)(mainUsage());
    return command ? 0 : 1;
  }
  if (!isCommand(command)) {
    io.err(`admin: unknown command ${command}; run \`npm run admin -- --help\` for the list\n`);
    return 1;
  }
  // The spec promises one line on stderr for a failure, so the database goes into that line;
  // on success it is a line of its own (stdout stays clean for key:create either way).
  const database = describeDatabase(config);
  let store: AccountStore | undefined;
  try {
    const values = parse(rest);
    if (values.help) {
      io.out(commandUsage(command));
      return 0;
    }
    // Only user:create may bring a database into being; anything else on a missing database
    // means the configuration points at the wrong place.
    store = await openStore(config, { create: command === 'user:create' });
    const lines: string[] = [];
    await runCommand(command, values, store, (line) => lines.push(`${line}\n`));
    io.err(`admin: database ${database}\n`);
    for (const line of lines) io.out(line);
    return 0;
  } catch (err) {
    io.err(`admin: ${message(err)} [database: ${database}]\n`);
    return 1;
  } finally {
    await store?.close();
  }
}

function message(err: unknown): string {
  if (err instanceof DatabaseMissingError) return `${err.message}. ${MISSING_DATABASE_HINT}`;
  if (err instanceof CliError || err instanceof AccountError) return err.message;
  const e = err as { code?: string; message?: string };
  if (e.code?.startsWith('ERR_PARSE_ARGS')) return `${String(e.message).split('\n')[0]} (see --help)`;
  return `unexpected error: ${redactText(e.message ?? String(err)).split('\n')[0]}`;
}

if (require.main === module) {
  const io: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    io.err(`admin: ${redactText((err as Error).message)}\n`);
    process.exit(1);
  }
  void runAdmin(process.argv.slice(2), config, io).then((code) => {
    process.exitCode = code;
  });
}
