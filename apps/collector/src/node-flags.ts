/**
 * How the `spanring` launchers start Node: the bin's shebang (main.ts), `npm start` and
 * `npm run spanring` (package.json) write these literally, bench:e2e starts the collector with
 * them, so it measures what users run, and node-flags.test.ts checks that the copies agree.
 *
 * Why the flags: V8 sizes the young generation for throughput (two 32 MB semi-spaces by
 * default). The collector's young objects are short-lived (one per span, dead within a batch
 * window), so 8 MB semi-spaces cost no measurable CPU here and take ~100 MB off the resident
 * size (bench:e2e peak RSS). --expose-gc lets receiver workers run a young-generation GC every
 * few MB of request bodies (workers/young-garbage-nudge.ts says why); nothing else calls gc.
 */
export const COLLECTOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--expose-gc'];

/**
 * Environment the launchers set, read by glibc's malloc (other C libraries ignore it).
 *
 * malloc serves a request above its mmap threshold with a mapping of its own, returned to the
 * system on free. By default the threshold rises to the largest block freed so far, so once a
 * few exports have come and gone every later one comes from the heap instead: @grpc/grpc-js
 * copies each encoded export (~3.5 MB for 8192 spans) into a fresh frame, and those frames,
 * freed between longer-lived small blocks, fragment the heap. Under sustained overload that was
 * ~60–90 MB of freed but resident memory (bench:e2e's 2× phase). Exports to plaintext host:port
 * endpoints no longer make such frames (pipeline exporter/grpc-http2-channel.ts); TLS and unix:
 * endpoints still go through grpc-js, and other large short-lived blocks remain.
 * - MMAP_THRESHOLD 2 MiB, fixed: export-sized blocks get mappings of their own; everything
 *   smaller (request and record buffers, which are pooled) stays in the heap.
 * - TRIM_THRESHOLD 32 MiB: fixing the mmap threshold also fixes when a heap's free top is given
 *   back (past 128 KiB). The worker threads' heaps were then given back and faulted in again
 *   all the time (strace: ~14 madvise calls/s, 0.4/s with this), costing ~10–20% CPU per span
 *   in bench:e2e --quick pairs. Now a heap shrinks only past 32 MiB of free top.
 * What remains, for exports through grpc-js, is a page fault per 4 KiB of each export's frame.
 */
export const COLLECTOR_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '2097152',
  MALLOC_TRIM_THRESHOLD_: '33554432',
};
