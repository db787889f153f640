/** Help texts of the operator CLI; the spelling is the API spec's section 3. */
export const COMMANDS = {
  'user:create': {
    usage: 'user:create --email E --username U [--name N] [--class Basic|Professional|Enterprise] [--verified]',
    about: 'Creates a user (no password: operator-made users sign in with API keys). Creates the database and its schema if there is none yet.',
  },
  'user:set-class': {
    usage: 'user:set-class --email E --class Basic|Professional|Enterprise',
    about: "Changes a user's class; it applies to their next request.",
  },
  'key:create': {
    usage: 'key:create --email E --name N',
    about: 'Issues an API key (at most 5 active per user). Prints only the key on stdout, so `key=$(npm run --silent admin -- key:create ...)` works.',
  },
  'key:list': {
    usage: 'key:list --email E',
    about: "Lists a user's active keys, one JSON object a line (never the secret).",
  },
  'key:revoke': {
    usage: 'key:revoke --id ID',
    about: 'Revokes a key; every server process refuses it from its next request.',
  },
} as const;

export type Command = keyof typeof COMMANDS;

export const isCommand = (s: string | undefined): s is Command => s !== undefined && Object.hasOwn(COMMANDS, s);

const DATABASE_NOTE = `Database: DATABASE_URL=postgres://… (PostgreSQL) when set, else the SQLite file DATABASE_PATH
(default ./data/facestudio.db). Every command first prints the database it uses to stderr.
Failures exit non-zero with a one-line message on stderr.`;

export function mainUsage(): string {
  const lines = Object.values(COMMANDS).map((c) => `  admin ${c.usage}`);
  return `Face Studio operator CLI: npm run --silent admin -- <command> [options]\n\n${lines.join('\n')}\n\n` + `admin <command> --help describes one command.\n${DATABASE_NOTE}\n`;
}

export function commandUsage(c: Command): string {
  return `usage: npm run --silent admin -- ${COMMANDS[c].usage}\n\n${COMMANDS[c].about}\n\n${DATABASE_NOTE}\n`;
}
