// inferstack models: lock, pull, verify, keygen, sign. The work is in src/trust/; this file parses
// arguments and turns TrustErrors into one-line messages with exit status 1 (usage errors exit 2).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CliError } from './cli-error.ts';
import { writeFileAtomic } from '../trust/atomic-write.ts';
import { TrustError } from '../trust/errors.ts';
import { lockModel } from '../trust/lock-create.ts';
import { DEFAULT_LOCK_FILE, formatLock, newLock, readLock, type ModelsLock } from '../trust/lockfile.ts';
import { defaultMirrorDir, pullLock } from '../trust/mirror.ts';
import {
  DEFAULT_ALGORITHMS, RELEASE_SLH_DSA, formatSignature, generateHybridKey, keyId, readHybridKey, readSignature, signLock, verifyLockSignature,
} from '../trust/signing.ts';
import { verifyLock } from '../trust/verify.ts';

const USAGE = `usage: inferstack models <subcommand> [options]

  lock PATH|URL... [--lock FILE] [--name NAME]  hash every file of each model (directory, file, or one file's http(s) URL) into the lock
  pull [--lock FILE] [--mirror DIR] [--from BASE]
                                                copy locked files into the content-addressed mirror (resumable)
  verify [--lock FILE] [--mirror DIR | --from DIR] [--model NAME]... [--signature SIG] [--pub PUB]
                                                re-hash locked files (at their source, under --from, or in the mirror);
                                                with --pub, check the hybrid signature first
  keygen --out DIR [--slh-dsa] [--force]        write DIR/signing.key.pem and DIR/signing.pub.pem (Ed25519 + ML-DSA-65)
  sign --key KEY [--lock FILE] [--out SIG]      write the hybrid signature (default: the lock's path + .sig)

--lock defaults to ./${DEFAULT_LOCK_FILE}; --mirror defaults to $INFERSTACK_MIRROR or ~/.cache/inferstack/mirror.
`;

type Sub = (argv: string[]) => Promise<void>;

const subcommands: Record<string, Sub> = { lock, pull, verify, keygen, sign };

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const sub = subcommands[name];
  if (!sub) throw new CliError(`unknown models subcommand '${name}' (try: ${Object.keys(subcommands).join(', ')})`);
  try {
    await sub(rest);
  } catch (err) {
    if (err instanceof TrustError) throw new CliError(err.message, 1);
    throw err;
  }
}

async function lock(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { lock: { type: 'string', default: DEFAULT_LOCK_FILE }, name: { type: 'string' } },
  });
  if (positionals.length === 0) throw new CliError('models lock needs at least one PATH (a model directory or file) or URL (one file)');
  if (values.name !== undefined && positionals.length !== 1) throw new CliError('--name applies to a single PATH');
  // An existing lock is updated: models with the same name are replaced, others kept.
  const existing: ModelsLock = existsSync(values.lock) ? await readLock(values.lock) : newLock([]);
  const byName = new Map(existing.models.map((m) => [m.name, m]));
  const seen = new Set<string>();
  for (const p of positionals) {
    const model = await lockModel(p, { name: values.name });
    if (seen.has(model.name)) throw new CliError(`two PATHs give the model name "${model.name}"; lock them separately with --name`);
    seen.add(model.name);
    byName.set(model.name, model);
    const bytes = model.files.reduce((s, f) => s + f.size, 0);
    process.stdout.write(`locked ${model.name}: ${model.files.length} files, ${bytes} bytes, ${model.digest}\n`);
  }
  const result = newLock([...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
  await writeFileAtomic(values.lock, formatLock(result));
  if (existsSync(`${values.lock}.sig`)) process.stdout.write(`note: ${values.lock}.sig no longer matches; sign the lock again\n`);
}

async function pull(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { lock: { type: 'string', default: DEFAULT_LOCK_FILE }, mirror: { type: 'string' }, from: { type: 'string' } },
  });
  const lockFile = await readLock(values.lock);
  const mirror = values.mirror ?? defaultMirrorDir();
  await mkdir(mirror, { recursive: true });
  const report = await pullLock(lockFile, {
    mirror,
    from: values.from,
    onFile: (model, file, outcome) => process.stdout.write(`${outcome.padEnd(8)} ${model}/${file.path} sha256:${file.sha256}\n`),
  });
  process.stdout.write(
    `pulled ${report.files} files into ${mirror}: ${report.copied} copied, ${report.resumed} resumed, ${report.present} already present, ${report.bytesCopied} bytes copied\n`,
  );
}

async function verify(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      lock: { type: 'string', default: DEFAULT_LOCK_FILE },
      mirror: { type: 'string' },
      from: { type: 'string' },
      model: { type: 'string', multiple: true },
      signature: { type: 'string' },
      pub: { type: 'string' },
    },
  });
  if (values.signature !== undefined && values.pub === undefined) throw new CliError('--signature needs --pub (the public key to check it against)');
  const lockFile = await readLock(values.lock);
  // Signature first: it is cheap, and hashing gigabytes for a lock nobody signed is wasted work.
  let signed = '';
  if (values.pub !== undefined) {
    const pub = await readHybridKey(values.pub, 'public');
    const sig = await readSignature(values.signature ?? `${values.lock}.sig`);
    verifyLockSignature(lockFile, sig, pub);
    signed = `; signature ${pub.algorithms.join(' + ')} by ${keyId(pub)} verified`;
  }
  if (values.mirror !== undefined && values.from !== undefined) throw new CliError('--mirror and --from are alternatives: verify the mirror copy or the files under --from');
  const report = await verifyLock(lockFile, { mirror: values.mirror, from: values.from, models: values.model });
  process.stdout.write(`verified ${report.files} files, ${report.bytes} bytes against ${values.lock}${signed}\n`);
  if (values.pub === undefined && existsSync(`${values.lock}.sig`)) {
    process.stdout.write(`note: ${values.lock}.sig was not checked; pass --pub PUB to verify the signature\n`);
  }
}

async function keygen(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, 'slh-dsa': { type: 'boolean', default: false }, force: { type: 'boolean', default: false } },
  });
  if (values.out === undefined) throw new CliError('models keygen needs --out DIR');
  const keyPath = join(values.out, 'signing.key.pem');
  const pubPath = join(values.out, 'signing.pub.pem');
  if (!values.force && (existsSync(keyPath) || existsSync(pubPath))) throw new CliError(`${keyPath} or ${pubPath} exists; use --force to replace it`);
  const algorithms = values['slh-dsa'] ? [...DEFAULT_ALGORITHMS, RELEASE_SLH_DSA] : [...DEFAULT_ALGORITHMS];
  const { privatePem, publicPem } = generateHybridKey(algorithms);
  await mkdir(values.out, { recursive: true });
  await writeFileAtomic(keyPath, privatePem, 0o600);
  await writeFileAtomic(pubPath, publicPem, 0o644);
  process.stdout.write(`wrote ${keyPath} (keep secret) and ${pubPath}: ${algorithms.join(' + ')}\n`);
}

async function sign(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { key: { type: 'string' }, lock: { type: 'string', default: DEFAULT_LOCK_FILE }, out: { type: 'string' } },
  });
  if (values.key === undefined) throw new CliError('models sign needs --key KEY (a signing.key.pem from models keygen)');
  const key = await readHybridKey(values.key, 'private');
  const lockFile = await readLock(values.lock);
  const out = values.out ?? `${values.lock}.sig`;
  await writeFileAtomic(out, formatSignature(signLock(lockFile, key)));
  process.stdout.write(`wrote ${out}: ${key.algorithms.join(' + ')} by ${keyId(key)}\n`);
}
