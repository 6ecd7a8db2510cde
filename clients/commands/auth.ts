/**
 * `irctl auth token --role reader|writer|admin [--namespace default] [--ttl 1h] [--subject NAME] [--key FILE]`:
 * mints a token for the stack's frontend (Temporal's JWT authorizer) signed with the stack's key
 * (.stack/jwt/signing.key, made by `npm run stack`), and prints it alone on stdout, for `--api-key` or
 * TEMPORAL_API_KEY. Roles: reader = <namespace>:read, writer = <namespace>:write, admin = temporal-system:admin.
 */
import { createPrivateKey } from 'node:crypto';
import { join, resolve } from 'node:path';
import { ConfigError, readPrivateFile } from '../../config/load';
import { parseDuration } from '../../config/schema';
import { mintToken, permissionsFor, ROLES, type Role } from '../auth-token';
import { CliError, ExitCode, parse, type Command, type CommandGroup } from '../cli';

/** Where `npm run stack` keeps the signing key (IR_STACK_DIR moves the stack's state, as for stack/). */
export const defaultSigningKey = () => resolve(process.env.IR_STACK_DIR ?? '.stack', 'jwt', 'signing.key');

const token: Command = {
  summary: "mint a token for the stack's frontend, signed with the stack's key (prints it)",
  usage: `irctl auth token --role ${ROLES.join('|')} [--namespace default] [--ttl 1h] [--subject NAME] [--key FILE]`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, ctx, {
      role: { type: 'string' },
      namespace: { type: 'string' },
      ttl: { type: 'string' },
      subject: { type: 'string' },
      key: { type: 'string' },
    });
    if (positionals.length) ctx.usageError(`unexpected argument '${positionals[0]}'`);
    const role = values.role as string | undefined;
    if (!role || !ROLES.includes(role as Role)) ctx.usageError(`--role must be one of ${ROLES.join(', ')}${role ? ` (got '${role}')` : ''}`);
    let ttlSeconds: number;
    try {
      ttlSeconds = parseDuration((values.ttl as string | undefined) ?? '1h');
    } catch {
      return ctx.usageError(`--ttl '${String(values.ttl)}' is not a duration; write it like 90s, 30m, 12h or 7d`);
    }
    const namespace = (values.namespace as string | undefined) ?? ctx.connection.namespace ?? 'default';
    const keyFile = (values.key as string | undefined) ?? defaultSigningKey();
    let pem: string;
    try {
      pem = readPrivateFile(keyFile, '--key');
    } catch (err) {
      const hint = values.key ? '' : ` (made by \`npm run stack\` in ${join('.stack', 'jwt')}; or give --key FILE)`;
      throw new CliError(`${(err as ConfigError).message}${hint}`, ExitCode.USAGE);
    }
    const subject = (values.subject as string | undefined) ?? `irctl-${role}`;
    const jwt = mintToken(createPrivateKey(pem), { role: role as Role, namespace, subject, ttlSeconds });
    if (ctx.json) {
      ctx.out(JSON.stringify({ token: jwt, subject, permissions: permissionsFor(role as Role, namespace), expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString() }));
    } else {
      ctx.out(jwt);
      ctx.err(`token for ${subject}: ${permissionsFor(role as Role, namespace).join(', ')}, valid ${values.ttl ?? '1h'}`);
    }
    return ExitCode.OK;
  },
};

export const command: CommandGroup = { summary: 'tokens for the JWT authorizer', subcommands: { token } };
