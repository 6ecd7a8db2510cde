/**
 * The ransomware scenario: encrypts `count` production files in place (random bytes, padded to the next AES
 * block like a block cipher would), renames them with a known ransomware extension and drops a ransom note in
 * the top folder — the indicators the validation analytics look for. Which files is deterministic.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { listFiles } from './retention';
import { prng } from './seed';

export const RANSOM_EXTENSION = '.locky';
export const RANSOM_NOTE = 'README_TO_DECRYPT.txt';
const KNOWN_EXTENSIONS = ['.locky', '.encrypted', '.wncry'];

export function ransomware(prodDir: string, count: number): { encrypted: string[]; note: string } {
  const candidates = listFiles(prodDir).filter((f) => f !== RANSOM_NOTE && !KNOWN_EXTENSIONS.some((e) => f.endsWith(e)));
  // Deterministic shuffle of the sorted list.
  const rnd = prng(0x10c4 + candidates.length);
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
  }
  const encrypted: string[] = [];
  for (const rel of candidates.slice(0, Math.max(0, count))) {
    const file = path.join(prodDir, rel);
    const size = fs.statSync(file).size;
    // A new file beside the old one, then the old one removed: same result, and no snapshot (hard links) changes.
    fs.writeFileSync(file + RANSOM_EXTENSION, crypto.randomBytes(size + 16 - (size % 16)));
    fs.unlinkSync(file);
    encrypted.push(rel + RANSOM_EXTENSION);
  }
  fs.writeFileSync(
    path.join(prodDir, RANSOM_NOTE),
    [
      'All of your files have been encrypted!',
      '',
      'Your documents, databases and backups are encrypted with RSA-2048 and AES-128.',
      'To recover your files you need the private key, which is stored on our server.',
      'Send 2 BTC to the address below and email your ID to decrypt@example.onion.',
      'Do not rename the files or try to decrypt them yourself: you will lose them for good.',
      '',
    ].join('\n'),
  );
  return { encrypted, note: RANSOM_NOTE };
}
