/**
 * The Node flags the `spanring` launchers run the collector with: the bin's shebang
 * (main.ts), `npm start` and `npm run spanring` (package.json) write them literally, and
 * bench:e2e starts the collector with this list, so it measures what users run.
 *
 * Why: V8 sizes the young generation for throughput (two 32 MB semi-spaces by default). The
 * collector's young objects are short-lived (one per span, dead within a batch window), so 8 MB
 * semi-spaces cost no measurable CPU here and take ~100 MB off the resident size
 * (bench:e2e peak RSS). --expose-gc lets receiver workers run a young-generation GC every few
 * MB of request bodies (workers/young-garbage-nudge.ts says why); nothing else calls gc.
 */
export const COLLECTOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--expose-gc'];
