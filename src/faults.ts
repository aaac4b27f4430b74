/**
 * Fault injection for the reliability tests: PROBETOP_FAULT names faults to inject, comma
 * separated ("uncaught", "tick", "read:runqlat"). Unset in normal use; nothing else reads it.
 */
const active = new Set((process.env.PROBETOP_FAULT ?? '').split(',').map((s) => s.trim()).filter(Boolean));

/** True when the fault `name` was asked for. */
export function fault(name: string): boolean {
  return active.size > 0 && active.has(name);
}
