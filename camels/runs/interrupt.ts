// SIGINT / SIGTERM for long runs: the first signal asks the running loop to finish its current step,
// write a checkpoint and stop (it then throws Interrupted, which the CLI turns into a resume hint and
// exit code 130 / 143); a second signal exits at once.

export class Interrupted extends Error {
  constructor(
    readonly signal: NodeJS.Signals,
    readonly runDir: string,
    readonly resumeCommand: string,
  ) {
    super(`interrupted by ${signal}; a checkpoint is in ${runDir}; resume with: ${resumeCommand}`);
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

/** Catch SIGINT and SIGTERM for the rest of the process (once). */
export function installInterruptHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** The signal received, if any: loops check it at step boundaries. */
export function interruptRequested(): NodeJS.Signals | null {
  return requested;
}

/** For tests: forget a received signal. */
export function resetInterrupt(): void {
  requested = null;
}
