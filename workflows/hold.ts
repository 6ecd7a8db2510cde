/**
 * The vault hold inside an operation's workflow: ask the vault's sentinel (workflows/sentinel.ts), wait visibly
 * while another operation holds the vault (or stop, when the vault's config says refuse), give it back at the end.
 * Waiting costs no history per minute: the sentinel answers with a signal; the request is repeated only rarely,
 * in case the sentinel was restarted and forgot it.
 */
import { ApplicationFailure, condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { holdAnswerSignal, type HoldAnswer, type Holder } from './sentinel-messages';

type Activities = ReturnType<typeof createActivities>;

const { requestVaultHold } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

// Giving the vault back must happen: unlimited retries.
const { releaseVaultHold } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '1 minute' },
});

const REASK_MS = 10 * 60_000;

export class VaultHold {
  private answer?: HoldAnswer;
  private requested = false;
  readonly me: Holder;

  constructor(
    private readonly vaultId: string,
    private readonly onChange: (answer: HoldAnswer) => void,
  ) {
    const info = workflowInfo();
    this.me = { workflowId: info.workflowId, runId: info.runId };
    setHandler(holdAnswerSignal, (answer) => {
      this.answer = answer;
      this.onChange(answer);
    });
  }

  /** Resolves once the vault is ours; throws VaultBusy when refused. Cancellable (abort while waiting). */
  async acquire(): Promise<Extract<HoldAnswer, { state: 'granted' }>> {
    for (;;) {
      await requestVaultHold(this.vaultId, this.me);
      this.requested = true;
      const settled = () => this.answer?.state === 'granted' || this.answer?.state === 'refused';
      if (await condition(settled, REASK_MS)) break;
    }
    const a = this.answer!;
    if (a.state === 'refused') {
      throw ApplicationFailure.nonRetryable(
        `vault ${this.vaultId} is held by workflow ${a.heldBy} (since ${a.since}): one operation per vault; this cycle was refused and touched nothing`,
        'VaultBusy',
      );
    }
    return a as Extract<HoldAnswer, { state: 'granted' }>;
  }

  /** Gives the vault back (or withdraws a request still waiting). Call it from a non-cancellable scope. */
  async release(): Promise<void> {
    if (this.requested) await releaseVaultHold(this.vaultId, this.me);
  }
}
