/**
 * Entry of the codec tooling (no Temporal connection):
 *   tsx codec/main.ts keygen --out FILE
 *       writes a new random AES-256 key (base64, mode 0600); refuses to overwrite a file.
 *   tsx codec/main.ts serve --tls-cert FILE --tls-key FILE (--token-file FILE | --client-ca FILE)
 *       --allow-origin http://127.0.0.1:18233 [--host 127.0.0.1] [--port 18888]
 *       (--config config/stack.yaml | --key-file ID=FILE ...)
 *       the codec server for the Temporal UI and CLI; keys from the config's temporal.encryption.keys or from
 *       --key-file flags (the first one encrypts, every one decrypts).
 */
import { encryptionKeysFromFile } from './data-converter';
import { EncryptionCodec } from './encryption-codec';
import { generateKeyFile, loadKeyRing, type KeyRef } from './keys';
import { startCodecServer } from './server';

const USAGE = `usage:
  tsx codec/main.ts keygen --out FILE
  tsx codec/main.ts serve --tls-cert FILE --tls-key FILE [--token-file FILE] [--client-ca FILE]
      --allow-origin URL [--allow-origin URL ...] [--host 127.0.0.1] [--port 18888]
      (--config FILE | --key-file ID=FILE [--key-file ID=FILE ...])`;

class UsageError extends Error {}

function parseFlags(args: string[]): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = args[i + 1];
    if (!flag.startsWith('--') || value === undefined || value.startsWith('--')) throw new UsageError(`expected --flag value, got ${flag}`);
    flags.set(flag.slice(2), [...(flags.get(flag.slice(2)) ?? []), value]);
    i++;
  }
  return flags;
}

function keysFrom(flags: Map<string, string[]>): KeyRef[] {
  const config = flags.get('config')?.[0];
  if (config) {
    const keys = encryptionKeysFromFile(config);
    if (!keys) throw new UsageError(`${config} has no temporal.encryption.keys; the codec server needs the keys the workers use`);
    return keys;
  }
  const refs = (flags.get('key-file') ?? []).map((spec) => {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new UsageError(`--key-file ${spec}: write ID=FILE, e.g. --key-file 2026-12=.stack/keys/2026-12.key`);
    return { id: spec.slice(0, eq), file: spec.slice(eq + 1) };
  });
  if (!refs.length) throw new UsageError('give the keys: --config FILE (temporal.encryption.keys) or --key-file ID=FILE');
  return refs;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const flags = parseFlags(rest);
  const one = (name: string, required = true): string | undefined => {
    const v = flags.get(name)?.[0];
    if (required && !v) throw new UsageError(`--${name} is required`);
    return v;
  };
  if (command === 'keygen') {
    const out = one('out')!;
    generateKeyFile(out);
    console.log(`wrote a new AES-256 key to ${out} (mode 0600); list it first in temporal.encryption.keys to encrypt with it`);
    return;
  }
  if (command === 'serve') {
    const ring = loadKeyRing(keysFrom(flags));
    const port = Number(one('port', false) ?? 18888);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${one('port', false)}: a TCP port number`);
    const { url } = await startCodecServer({
      codec: new EncryptionCodec(ring),
      host: one('host', false),
      port,
      certFile: one('tls-cert')!,
      keyFile: one('tls-key')!,
      clientCaFile: one('client-ca', false),
      tokenFile: one('token-file', false),
      allowedOrigins: flags.get('allow-origin') ?? [],
    });
    console.log(`codec server on ${url} (keys: ${[...ring.keys.keys()].join(', ')}; encrypting with ${ring.encryptId})`);
    return;
  }
  throw new UsageError(command ? `unknown command ${command}` : 'no command');
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof UsageError ? `${err.message}\n${USAGE}` : (err as Error).message);
  process.exit(err instanceof UsageError ? 2 : 1);
});
