/** What the cycle needs from any backup software: which protected jobs are writing, and a hold on new runs. */
import type { CredentialHint } from '../rest-errors';
import type { HttpsTarget } from '../https';

export interface BackupJob {
  id: string;
  name: string;
  /** The software's own status word or code (Bareos `R`, NetWorker `Active`). */
  status: string;
  startedAt?: string;
}

/** One thing the hold switches off: a Bareos job or schedule, a NetWorker workflow's automatic start. */
export interface HoldItem {
  kind: 'job' | 'schedule' | 'workflow';
  /** Job or schedule name; `policy/workflow` for NetWorker. */
  name: string;
}

export interface BackupDriver {
  readonly label: string;
  /** Jobs among `names` that are running or about to write (not in a terminal state). */
  activeJobs(names: string[]): Promise<BackupJob[]>;
  /** Whether the item is enabled now (so a release never enables what an operator had disabled). */
  isEnabled(item: HoldItem): Promise<boolean>;
  setEnabled(item: HoldItem, enabled: boolean): Promise<void>;
  stats(): { requests: number; logins: number };
  close(): Promise<void>;
}

export interface BackupTarget extends HttpsTarget {
  username: string;
  password: string;
  credential: CredentialHint;
}
