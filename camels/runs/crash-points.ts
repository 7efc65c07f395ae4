// Named points where a test can make the process die as `kill -9` would, to prove that a kill at
// that instant loses nothing: CAMELS_CRASH_AT=<name>[@<n>] kills the process (SIGKILL) the n-th time
// (default the first) it passes <name>. Unset, a crash point costs one environment lookup.

const counts = new Map<string, number>();

export function crashPoint(name: string): void {
  const spec = process.env.CAMELS_CRASH_AT;
  if (!spec) return;
  const at = spec.lastIndexOf('@');
  const target = at > 0 ? spec.slice(0, at) : spec;
  if (target !== name) return;
  const nth = at > 0 ? Number(spec.slice(at + 1)) : 1;
  const n = (counts.get(name) ?? 0) + 1;
  counts.set(name, n);
  if (n === nth) {
    process.stderr.write(`camels-gpu: crash point '${name}' (#${n}) reached: killing the process (CAMELS_CRASH_AT)\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
