// A training loop's scalars read one step late: step i's readback is started right after step i is
// recorded (E.readLater) and awaited only after step i + 1 has been recorded, so the device works
// on step i + 1 while the host waits. What the values feed (NaN/Inf guards, metrics, progress) runs
// in order, one step later; flush() before anything that must see every step so far (checkpoints,
// validation, the end of the loop).

export type ScalarHandler = (values: number[]) => void | Promise<void>;

export class LateReads {
  private pending: { values: Promise<number[]>; handle: ScalarHandler } | null = null;

  /**
   * Queue this step's started readback (null: the step reads nothing); then handle the previous
   * step's values, awaited now.
   */
  async push(values: Promise<number[]> | null, handle: ScalarHandler = () => undefined): Promise<void> {
    const previous = this.pending;
    this.pending = values ? { values, handle } : null;
    if (previous) await previous.handle(await previous.values);
  }

  /** Handle the pending step's values, if any. */
  async flush(): Promise<void> {
    const previous = this.pending;
    this.pending = null;
    if (previous) await previous.handle(await previous.values);
  }

}
