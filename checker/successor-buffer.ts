/**
 * A state's successors, collected before they are used: their states one
 * after another and their actions, in arrays reused from state to state that
 * grow by doubling. For the ample-set expander (reduce.ts) and the trace
 * minimiser, which look at all of a state's successors before taking any.
 */
export class SuccessorBuffer {
  /** Successor i's state is states[i * W .. (i + 1) * W); read it after collecting (growth replaces the array). */
  states: Int32Array;
  actions: Int32Array;
  count = 0;

  constructor(private readonly W: number) {
    this.states = new Int32Array(W * 16);
    this.actions = new Int32Array(16);
  }

  clear(): void {
    this.count = 0;
  }

  add(next: Int32Array, action: number): void {
    const W = this.W;
    if (this.count === this.actions.length) {
      const s = new Int32Array(this.states.length * 2);
      s.set(this.states);
      this.states = s;
      const a = new Int32Array(this.actions.length * 2);
      a.set(this.actions);
      this.actions = a;
    }
    this.states.set(next.length === W ? next : next.subarray(0, W), this.count * W);
    this.actions[this.count++] = action;
  }
}
