// SIGINT / SIGTERM for long runs: the first signal asks the running loop to finish its current step,
// write a checkpoint and stop (it then throws Interrupted, which the CLI turns into a resume hint and
// exit code 130 / 143); a second signal exits at once.

let resumeHint: { runDir: string; command: string } | null = null;

/** The run and command a user resumes with, set once by the command that owns the run. */
export function setResumeHint(runDir: string, command: string): void {
  resumeHint = { runDir, command };
}

export class Interrupted extends Error {
  readonly runDir: string;
  readonly resumeCommand: string;

  constructor(
    readonly signal: NodeJS.Signals,
    runDir: string,
    resumeCommand: string,
  ) {
    const where = resumeHint ?? { runDir, command: resumeCommand };
    super(`interrupted by ${signal}; what was done is kept in ${where.runDir}; resume with: ${where.command}`);
    this.runDir = where.runDir;
    this.resumeCommand = where.command;
    this.name = 'Interrupted';
  }

  get exitCode(): number {
    return this.signal === 'SIGTERM' ? 143 : 130;
  }
}

let requested: NodeJS.Signals | null = null;
let installed = false;

function onSignal(sig: NodeJS.Signals): void {
  const code = sig === 'SIGTERM' ? 143 : 130;
  if (requested) {
    process.stderr.write(`\ncamels-gpu: second ${sig}: exiting now (the last checkpoint is kept)\n`);
    process.exit(code);
  }
  requested = sig;
  process.stderr.write(`\ncamels-gpu: ${sig} received: finishing the current step, then writing a checkpoint (send it again to exit at once)\n`);
}

let abandoning = false;

/**
 * For work kept as atomic phases (the embedded default, whose seeds may run in worker threads that
 * cannot checkpoint on the main thread's behalf): on SIGINT / SIGTERM, abandon the unfinished phases
 * at once, print how to resume, and exit 130 / 143. Finished phases are already on disk.
 */
export function installAbandonHandlers(): void {
  if (installed || abandoning) return;
  abandoning = true;
  const onAbandon = (sig: NodeJS.Signals) => {
    const where = resumeHint ? `finished phases are kept in ${resumeHint.runDir}; resume with: ${resumeHint.command}` : 'nothing was written yet';
    process.stderr.write(`\ncamels-gpu: interrupted by ${sig}; the unfinished phases are abandoned; ${where}\n`);
    process.exit(sig === 'SIGTERM' ? 143 : 130);
  };
  process.on('SIGINT', onAbandon);
  process.on('SIGTERM', onAbandon);
}

/** Catch SIGINT and SIGTERM for the rest of the process (once). */
export function installInterruptHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * The signal received, if any: loops check it at step boundaries. It first lets the event loop run
 * once, since a signal handler runs only there and the cpu backend's steps never yield by themselves.
 */
export async function pollInterrupt(): Promise<NodeJS.Signals | null> {
  if (installed || abandoning) await new Promise<void>((resolve) => setImmediate(resolve));
  return requested;
}

/** For tests: forget a received signal. */
export function resetInterrupt(): void {
  requested = null;
}
