/** A workflow that only verifies a decision signature: proves the verifier bundles and runs in the sandbox. */
import { verifySshSignature } from '../../vocabulary/decision-signature';

export async function verifyInSandbox(armored: string, text: string, namespace?: string) {
  return verifySshSignature(armored, text, namespace);
}
