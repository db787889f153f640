/**
 * Builds a signed embed URL offline, from an API key:
 *
 *   npx tsx scripts/tools/sign-url.ts --key sk-faces-... --expires-in 3600 gender=female age=30 seed=42
 *
 * Options: --key K (or env FACES_API_KEY, which keeps the key out of shell history),
 * --expires-in SECONDS (default 3600) or --expires UNIX, --base URL (default http://localhost:8080,
 * or env FACESTUDIO_URL). Prints the URL on stdout; errors go to stderr with exit status 1.
 */
import { MAX_EXPIRES_IN, signUrl } from '../../server/auth/signed-url';
import { KEY_PREFIX } from '../../server/accounts/store';

function usage(message: string): never {
  process.stderr.write(`sign-url: ${message}\nusage: npx tsx scripts/tools/sign-url.ts --key sk-faces-... [--expires-in 3600 | --expires UNIX] [--base URL] name=value ...\n`);
  process.exit(1);
}

function main(argv: string[]) {
  let key = process.env.FACES_API_KEY;
  let expiresIn = 3600;
  let expires: number | undefined;
  let base = process.env.FACESTUDIO_URL || 'http://localhost:8080';
  const params: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--key') key = value();
    else if (a === '--expires-in') {
      const v = value();
      if (!/^[1-9][0-9]*$/.test(v) || Number(v) > MAX_EXPIRES_IN) usage(`--expires-in must be 1 to ${MAX_EXPIRES_IN} seconds`);
      expiresIn = Number(v);
    } else if (a === '--expires') {
      const v = value();
      if (!/^[1-9][0-9]*$/.test(v)) usage('--expires must be unix seconds');
      expires = Number(v);
    } else if (a === '--base') base = value();
    else if (a === '--help' || a === '-h') usage('signs /v1/generate parameters with an API key');
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else {
      const eq = a.indexOf('=');
      if (eq <= 0) usage(`parameter "${a}" is not name=value`);
      const name = a.slice(0, eq);
      if (name in params) usage(`parameter ${name} given twice`);
      params[name] = a.slice(eq + 1);
    }
  }
  if (!key) usage('--key (or FACES_API_KEY) is required');
  if (!key.startsWith(KEY_PREFIX)) usage(`the key must start with ${KEY_PREFIX}`);
  const at = expires ?? Math.floor(Date.now() / 1000) + expiresIn;
  try {
    process.stdout.write(`${signUrl(params, key, at, `${base.replace(/\/+$/, '')}/v1/generate`)}\n`);
  } catch (err) {
    usage((err as Error).message);
  }
}

main(process.argv.slice(2));
