/**
 * Self-signed certificates for the lab's HTTPS faces, made once per lab folder with `openssl` (EC P-256,
 * SAN 127.0.0.1/::1/localhost), like an appliance's factory certificate. The fingerprint is what a vault
 * config pins; the PEM is what `curl --cacert` and the drivers trust.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface LabCert {
  key: Buffer;
  cert: Buffer;
  certFile: string;
  /** `SHA256:AB:CD:…` */
  fingerprint: string;
}

export function ensureCert(dir: string, name: string, commonName: string): LabCert {
  const certFile = path.join(dir, 'tls', `${name}.crt`);
  const keyFile = path.join(dir, 'tls', `${name}.key`);
  const pinFile = path.join(dir, 'tls', `${name}.sha256`);
  const made = !fs.existsSync(certFile) || !fs.existsSync(keyFile);
  if (made) {
    fs.mkdirSync(path.dirname(certFile), { recursive: true });
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650', '-subj', `/CN=${commonName}`,
        '-addext', 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost', '-keyout', keyFile, '-out', certFile],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    fs.chmodSync(keyFile, 0o600);
  }
  const cert = fs.readFileSync(certFile);
  const fingerprint = `SHA256:${new X509Certificate(cert).fingerprint256}`;
  // The pin beside the certificate, for configs that read it from a file (`tls.fingerprint: { file }`): written
  // with a new certificate, or once for a lab folder from before pins by file.
  if (made || !fs.existsSync(pinFile)) fs.writeFileSync(pinFile, `${fingerprint}\n`);
  return { key: fs.readFileSync(keyFile), cert, certFile, fingerprint };
}
