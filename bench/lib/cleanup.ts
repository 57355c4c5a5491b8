// Cleanup steps that run once, last added first: at the end of the run, on a failure, or on SIGINT/SIGTERM.
export class Cleanups {
  private readonly steps: { what: string; run: () => unknown }[] = [];
  private done = false;

  constructor() {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        process.stderr.write(`\nreceived ${sig}: cleaning up\n`);
        void this.run().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
      });
    }
  }

  /** registers a step; its errors are reported, not thrown, so the other steps still run */
  add(what: string, run: () => unknown): void {
    this.steps.push({ what, run });
  }

  async run(): Promise<void> {
    if (this.done) return;
    this.done = true;
    for (const step of this.steps.reverse()) {
      try {
        await step.run();
      } catch (err) {
        process.stderr.write(`cleanup: could not ${step.what}: ${(err as Error).message}\n`);
      }
    }
  }
}
