/**
 * Runs work written as a generator (one `yield` per small step, e.g. per row of a tensor) without holding the event
 * loop for long: steps run synchronously until SLICE_MS has passed, then the rest continues after the event loop
 * has served whatever is waiting (setImmediate), slice by slice. Work that finishes within the first slice — every
 * ordinary request — returns its value directly, with no promise and no turn of the loop.
 */
const SLICE_MS = 4;
/** Steps between clock reads. */
const STEPS_PER_CHECK = 64;

export function runInSlices<T>(steps: Generator<unknown, T, void>): T | Promise<T> {
  const first = runSlice(steps);
  if (first.done) return first.value;
  return new Promise<T>((resolve, reject) => {
    const next = () => {
      try {
        const r = runSlice(steps);
        if (r.done) resolve(r.value);
        else setImmediate(next);
      } catch (err) {
        reject(err);
      }
    };
    setImmediate(next);
  });
}

function runSlice<T>(steps: Generator<unknown, T, void>): { done: true; value: T } | { done: false } {
  const started = performance.now();
  for (;;) {
    for (let i = 0; i < STEPS_PER_CHECK; i++) {
      const step = steps.next();
      if (step.done) return { done: true, value: step.value };
    }
    if (performance.now() - started >= SLICE_MS) return { done: false };
  }
}
