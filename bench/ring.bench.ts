/**
 * Ring benchmark (`npm run bench:ring [-- --quick] [-- --json] [-- --reps N]`).
 *
 * Cross-thread: 100-byte records, one producer worker → a consumer on the main thread that
 * reads every record (sums its length and checks its stamps); SharedRing against the copy
 * limit (Uint8Array.set of 100-byte blocks back to back into a SharedArrayBuffer on one
 * thread and, for information, at SharedRing's own aligned record layout), ringbuf.js, and
 * MessagePort.postMessage
 * with 1 and 100 records per message.
 * In-thread: Ring<T> of small objects at a steady depth of 1,000 against Array push/shift
 * and a bare preallocated array ring.
 *
 * Every run is verified (record count, byte count, checksum); a mismatch fails the bench
 * (exit 1). Targets are reported, not enforced.
 */
import { MessageChannel, Worker, type TransferListItem } from 'node:worker_threads';
import {
  createSharedRing,
  Ring,
  SharedNotify,
  SharedRingConsumer,
  type RecordHandler,
} from '#spanring/ringmpsc';
import { RingBuffer } from 'ringbuf.js';
import {
  BenchFailure,
  checkEqual,
  log,
  measureRoundRobin,
  resultLookup,
  nowNs,
  parseBenchArgs,
  printReport,
  ratio,
  runBench,
  secondsSince,
  type BenchCase,
  type TableRow,
} from './harness.ts';
import {
  CREDIT_BYTES,
  CREDIT_CONSUMED,
  CREDIT_NOTIFY,
  expectedChecksum,
  RECORD_BYTES,
  recordTemplate,
  RINGBUF_CLOSED,
  RINGBUF_DATA_NOTIFY,
  RINGBUF_SIGNAL_BYTES,
  RINGBUF_SPACE_NOTIFY,
  type PostMessageProduceRequest,
  type ProduceDone,
  type ProduceRequest,
  type ProducerReply,
  type RingbufProduceRequest,
  type SharedRingProduceRequest,
} from './ring-protocol.ts';

/** 1 MiB of ring data for SharedRing, ringbuf.js and the copy limit's target region. */
const RING_BITS = 20;
const RING_CAPACITY = 2 ** RING_BITS;
/** Bytes a 100-byte record occupies in a SharedRing: 8-byte header + payload padded to 8. */
const SHARED_RECORD_FOOTPRINT = 8 + ((RECORD_BYTES + 7) & ~7);
/** Where SharedRing puts a payload: after its 8-byte header, so on an 8-byte boundary. */
const SHARED_PAYLOAD_OFFSET = 8;
/**
 * Most records a consumer takes per call (~1/5 of the ring). SharedRing's consumer frees
 * space (stores head) only when consumeUpTo returns, and consumeBatch keeps going while the
 * producer keeps publishing, so a bounded batch keeps handing space back while it works.
 */
const CONSUME_MAX = 2048;
/** postMessage cases keep at most this many records in flight: what the 1 MiB ring holds. */
const POST_WINDOW = 10_000;
/** Consumers re-check deadlines and worker failures at least this often while they wait. */
const WAIT_SLICE_MS = 200;

const DEPTH = 1000;
const BATCH = 100;
/** Ring<T> and the bare ring hold DEPTH + BATCH items; 2^11 = 2048 slots. */
const OBJECT_RING_BITS = 11;
const POOL_SIZE = 4096;

/** A producer worker that serves one ProduceRequest at a time. */
class ProducerWorker {
  readonly file: string;
  private readonly worker: Worker;
  private pending: { resolve: (done: ProduceDone) => void; reject: (error: Error) => void } | null = null;
  private failure: Error | null = null;
  private closing = false;

  constructor(file: string) {
    this.file = file;
    this.worker = new Worker(new URL(`./workers/${file}`, import.meta.url));
    this.worker.on('message', (reply: ProducerReply) => {
      const pending = this.pending;
      this.pending = null;
      if (reply.kind === 'done') pending?.resolve(reply);
      else this.fail(new BenchFailure(`${file}: ${reply.message}`), pending);
    });
    this.worker.on('error', (error) => this.fail(error, this.pending));
    this.worker.on('exit', (code) => {
      if (!this.closing) this.fail(new BenchFailure(`${file} exited with code ${code}`), this.pending);
    });
  }

  produce(request: ProduceRequest, transfer: readonly TransferListItem[] = []): Promise<ProduceDone> {
    this.throwIfFailed();
    if (this.pending !== null) throw new BenchFailure(`${this.file}: a request is already running`);
    const reply = new Promise<ProduceDone>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(request, transfer);
    });
    // The consumer awaits the reply only after its loop; until then a failure reaches it via
    // throwIfFailed(), so an early rejection must not count as unhandled (that would crash).
    reply.catch(() => {});
    return reply;
  }

  /** Consumers call this while they wait, so a dead producer fails the run at once. */
  throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }

  private fail(error: Error, pending: { reject: (error: Error) => void } | null): void {
    this.failure ??= error;
    this.pending = null;
    pending?.reject(error);
  }
}

function startOf(startClock: SharedArrayBuffer, what: string): bigint {
  const start = Atomics.load(new BigInt64Array(startClock), 0);
  if (start === 0n) throw new BenchFailure(`${what}: the producer never stamped its start time`);
  return start;
}

/** Diagnostics on stderr: a producer that waited often was held back by its consumer. */
function logProducer(what: string, done: ProduceDone): void {
  log(`  ${what}: the producer waited for room ${done.waits} time(s)`);
}

function checkTimeLeft(deadline: number, what: string, records: number, count: number): void {
  if (performance.now() > deadline) {
    throw new BenchFailure(`${what}: timed out after consuming ${records} of ${count} records`);
  }
}

/** Checks a cross-thread run consumed exactly what was produced, bytes and stamps included. */
function verifyRecords(
  what: string,
  count: number,
  done: ProduceDone,
  records: number,
  bytes: number,
  checksum: number,
): void {
  checkEqual(`${what}: records produced`, done.produced, count);
  checkEqual(`${what}: records consumed`, records, count);
  checkEqual(`${what}: bytes consumed`, bytes, count * RECORD_BYTES);
  checkEqual(`${what}: checksum`, checksum, expectedChecksum(count));
}

// ---------------------------------------------------------------------------------------------
// Cross-thread cases. Each returns the seconds from the producer's first record to the
// consumer's last.

async function runSharedRing(worker: ProducerWorker, count: number, timeoutMs: number): Promise<number> {
  const what = 'SharedRing';
  const handle = createSharedRing({ ringBits: RING_BITS });
  const consumer = new SharedRingConsumer(handle);
  const startClock = new SharedArrayBuffer(8);
  const request: SharedRingProduceRequest = { kind: 'produce', count, startClock, timeoutMs, handle };
  const done = worker.produce(request);
  sharedTally.bytes = 0;
  sharedTally.checksum = 0;
  const deadline = performance.now() + timeoutMs;
  let records = 0;
  for (;;) {
    const n = consumer.consumeUpTo(CONSUME_MAX, sharedRecordHandler);
    records += n;
    if (n > 0) continue;
    if (consumer.isDrained) break;
    worker.throwIfFailed();
    checkTimeLeft(deadline, what, records, count);
    await consumer.waitForData(WAIT_SLICE_MS);
  }
  const end = nowNs();
  const reply = await done;
  verifyRecords(what, count, reply, records, sharedTally.bytes, sharedTally.checksum);
  logProducer(what, reply);
  return secondsSince(startOf(startClock, what), end);
}

/**
 * One long-lived handler, as a real consumer has: a closure made per run would give V8 a
 * "many closures" call site that it may not inline into consumeUpTo.
 */
const sharedTally = { bytes: 0, checksum: 0 };
const sharedRecordHandler: RecordHandler = (bytes, offset, length) => {
  sharedTally.bytes += length;
  sharedTally.checksum += bytes[offset]! | (bytes[offset + length - 1]! << 8);
};

/**
 * Copy limits, on one thread, with no ring, no second thread and no consumer: copy the record
 * template into a 1 MiB SharedArrayBuffer region and stamp it.
 *
 * `spacing`/`payloadOffset` place the copies. The machine limit is 100-byte blocks
 * copied back to back (spacing 100, offset 0), so half of them land at 4 mod 8; the ring-layout
 * limit uses SharedRing's own spacing (8-byte header, payload padded to 8) and is what the
 * producer's copying alone would cost. V8 copies into shared memory word by word only when
 * source and target agree mod 8, which is why SharedRing aligns its records.
 */
function runCopyLimit(count: number, spacing: number, payloadOffset: number): Promise<number> {
  const region = new Uint8Array(new SharedArrayBuffer(RING_CAPACITY));
  const template = recordTemplate(RECORD_BYTES);
  const last = RECORD_BYTES - 1;
  const wrapAt = RING_CAPACITY - spacing - payloadOffset;
  const start = nowNs();
  let offset = payloadOffset;
  for (let i = 0; i < count; i++) {
    region.set(template, offset);
    region[offset] = i & 255;
    region[offset + last] = (i >>> 8) & 255;
    offset += spacing;
    if (offset > wrapAt) offset = payloadOffset;
  }
  const seconds = secondsSince(start);
  // The copies must have happened (and stay observable, so none can be optimised away).
  if (count > 0 && region[payloadOffset + 1] !== template[1]) throw new BenchFailure('copy limit: copy not found');
  return Promise.resolve(seconds);
}

async function runRingbuf(worker: ProducerWorker, count: number, timeoutMs: number): Promise<number> {
  const what = 'ringbuf.js';
  const storage = RingBuffer.getStorageForCapacity(RING_CAPACITY, Uint8Array);
  const ring = new RingBuffer(storage, Uint8Array);
  const signals = new SharedArrayBuffer(RINGBUF_SIGNAL_BYTES);
  const words = new Int32Array(signals);
  const dataReady = new SharedNotify(words, RINGBUF_DATA_NOTIFY);
  const space = new SharedNotify(words, RINGBUF_SPACE_NOTIFY);
  const startClock = new SharedArrayBuffer(8);
  const request: RingbufProduceRequest = { kind: 'produce', count, startClock, timeoutMs, storage, signals };
  const done = worker.produce(request);
  const state: RingbufConsumerState = { record: new Uint8Array(RECORD_BYTES), got: 0, bytes: 0, checksum: 0 };
  const isReady = (): boolean => Atomics.load(words, RINGBUF_CLOSED) !== 0 || !ring.empty();
  const deadline = performance.now() + timeoutMs;
  let records = 0;
  for (;;) {
    const n = popRecords(ring, space, state, CONSUME_MAX);
    records += n;
    if (n > 0) continue;
    // The closed flag first: the producer sets it after its last push, so once it is seen
    // an empty ring is final.
    if (Atomics.load(words, RINGBUF_CLOSED) !== 0 && ring.empty()) break;
    space.notifyWaiters();
    worker.throwIfFailed();
    checkTimeLeft(deadline, what, records, count);
    await dataReady.waitUntil(isReady, WAIT_SLICE_MS);
  }
  const end = nowNs();
  checkEqual(`${what}: bytes of a partial record left over`, state.got, 0);
  const reply = await done;
  verifyRecords(what, count, reply, records, state.bytes, state.checksum);
  logProducer(what, reply);
  return secondsSince(startOf(startClock, what), end);
}

interface RingbufConsumerState {
  readonly record: Uint8Array;
  /** Bytes of the current record popped so far (ringbuf.js is a byte stream). */
  got: number;
  bytes: number;
  checksum: number;
}

/** Pops up to max whole records, one pop() per record, the way its API is meant to be used. */
function popRecords(ring: RingBuffer, space: SharedNotify, state: RingbufConsumerState, max: number): number {
  const record = state.record;
  let got = state.got;
  let records = 0;
  while (records < max) {
    const n = ring.pop(record, RECORD_BYTES - got, got);
    if (n === 0) break;
    got += n;
    if (got < RECORD_BYTES) continue;
    got = 0;
    records++;
    state.bytes += RECORD_BYTES;
    state.checksum += record[0]! | (record[RECORD_BYTES - 1]! << 8);
  }
  state.got = got;
  // Like SharedRing's consumeUpTo: one wake-up check per batch for a producer waiting for room.
  if (records > 0) space.notifyWaiters();
  return records;
}

async function runPostMessage(
  worker: ProducerWorker,
  perMessage: number,
  count: number,
  timeoutMs: number,
): Promise<number> {
  const what = `postMessage ${perMessage}/message`;
  const { port1, port2 } = new MessageChannel();
  const credit = new SharedArrayBuffer(CREDIT_BYTES);
  const words = new Int32Array(credit);
  const space = new SharedNotify(words, CREDIT_NOTIFY);
  const signalEvery = POST_WINDOW >>> 2;
  let records = 0;
  let bytesRead = 0;
  let checksum = 0;
  let nextSignal = signalEvery;
  const allConsumed = new Promise<void>((resolve) => {
    port1.on('message', (message: Uint8Array) => {
      for (let offset = 0; offset < message.length; offset += RECORD_BYTES) {
        bytesRead += RECORD_BYTES;
        checksum += message[offset]! | (message[offset + RECORD_BYTES - 1]! << 8);
      }
      records += message.length / RECORD_BYTES;
      Atomics.store(words, CREDIT_CONSUMED, records);
      if (records >= nextSignal) {
        nextSignal += signalEvery;
        space.notifyWaiters();
      }
      if (records >= count) resolve();
    });
  });
  const startClock = new SharedArrayBuffer(8);
  const request: PostMessageProduceRequest = {
    kind: 'produce',
    count,
    startClock,
    timeoutMs,
    port: port2,
    perMessage,
    window: POST_WINDOW,
    credit,
  };
  const done = worker.produce(request, [port2]);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      allConsumed,
      // A producer failure ends the wait at once; its success does not (messages may still be queued).
      done.then(() => new Promise<never>(() => {})),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new BenchFailure(`${what}: timed out after consuming ${records} of ${count} records`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
  const end = nowNs();
  port1.close();
  const reply = await done;
  verifyRecords(what, count, reply, records, bytesRead, checksum);
  logProducer(what, reply);
  return secondsSince(startOf(startClock, what), end);
}

// ---------------------------------------------------------------------------------------------
// In-thread cases: small objects at a steady depth. Each first fills DEPTH items, then
// repeats { push BATCH items; consume BATCH items } until `count` items went through, the
// consumer summing `value`. Items come from a pre-built pool, so allocation is not measured.

interface Item {
  readonly id: number;
  readonly value: number;
}

const POOL: readonly Item[] = Array.from({ length: POOL_SIZE }, (_, id) => ({ id, value: (id * 2654435761) % 1000 }));
const POOL_MASK = POOL_SIZE - 1;

/** POOL_PREFIX[k] = sum of the values of POOL[0..k-1]. */
const POOL_PREFIX: readonly number[] = [0];
for (const item of POOL) (POOL_PREFIX as number[]).push(POOL_PREFIX.at(-1)! + item.value);

/** Sum of the values of items 0..count-1 (item j is POOL[j & POOL_MASK]). */
function expectedValueSum(count: number): number {
  return Math.floor(count / POOL_SIZE) * POOL_PREFIX[POOL_SIZE]! + POOL_PREFIX[count % POOL_SIZE]!;
}

/** Checks that exactly `count` items came out in the timed loop and DEPTH were left. */
function verifyItems(what: string, count: number, sum: number, leftSum: number, left: number): void {
  checkEqual(`${what}: sum of consumed values`, sum, expectedValueSum(count));
  checkEqual(`${what}: items left at the end`, left, DEPTH);
  checkEqual(`${what}: sum of all values`, sum + leftSum, expectedValueSum(count + DEPTH));
}

function runObjectRing(count: number): Promise<number> {
  const what = 'Ring<T>';
  const ring = new Ring<Item>({ ringBits: OBJECT_RING_BITS });
  objectTally.sum = 0;
  let j = 0;
  for (; j < DEPTH; j++) ring.push(POOL[j & POOL_MASK]!);
  const start = nowNs();
  for (let done = 0; done < count; done += BATCH) {
    for (let k = 0; k < BATCH; k++) {
      if (!ring.push(POOL[j & POOL_MASK]!)) throw new BenchFailure(`${what}: full at depth ${ring.size}`);
      j++;
    }
    if (ring.consumeUpTo(BATCH, objectHandler) !== BATCH) throw new BenchFailure(`${what}: short batch`);
  }
  const seconds = secondsSince(start);
  const timedSum = objectTally.sum;
  objectTally.sum = 0;
  const left = ring.consumeBatch(objectHandler);
  verifyItems(what, count, timedSum, objectTally.sum, left);
  return Promise.resolve(seconds);
}

/** Long-lived, like sharedRecordHandler (see there). */
const objectTally = { sum: 0 };
const objectHandler = (item: Item): void => {
  objectTally.sum += item.value;
};

function runArrayShift(count: number): Promise<number> {
  const what = 'Array push/shift';
  const queue: Item[] = [];
  let sum = 0;
  let j = 0;
  for (; j < DEPTH; j++) queue.push(POOL[j & POOL_MASK]!);
  const start = nowNs();
  for (let done = 0; done < count; done += BATCH) {
    for (let k = 0; k < BATCH; k++) queue.push(POOL[j++ & POOL_MASK]!);
    for (let k = 0; k < BATCH; k++) sum += queue.shift()!.value;
  }
  const seconds = secondsSince(start);
  const left = queue.length;
  let leftSum = 0;
  for (const item of queue) leftSum += item.value;
  verifyItems(what, count, sum, leftSum, left);
  return Promise.resolve(seconds);
}

/**
 * The least a ring of object slots can do: a preallocated packed array, head and tail
 * counters and a mask. It clears consumed slots like Ring<T> does (so neither keeps consumed
 * objects alive) and checks for full, and nothing else.
 */
function runBareRing(count: number): Promise<number> {
  const capacity = 2 ** OBJECT_RING_BITS;
  const mask = capacity - 1;
  const slots: (Item | undefined)[] = [];
  for (let s = 0; s < capacity; s++) slots.push(undefined);
  let head = 0;
  let tail = 0;
  let sum = 0;
  let j = 0;
  for (; j < DEPTH; j++) slots[tail++ & mask] = POOL[j & POOL_MASK];
  const start = nowNs();
  for (let done = 0; done < count; done += BATCH) {
    for (let k = 0; k < BATCH; k++) {
      if (tail - head >= capacity) throw new BenchFailure('bare ring: full');
      slots[tail++ & mask] = POOL[j++ & POOL_MASK];
    }
    for (let k = 0; k < BATCH; k++) {
      const index = head++ & mask;
      sum += slots[index]!.value;
      slots[index] = undefined;
    }
  }
  const seconds = secondsSince(start);
  let leftSum = 0;
  const left = tail - head;
  while (head !== tail) leftSum += slots[head++ & mask]!.value;
  verifyItems('bare ring', count, sum, leftSum, left);
  return Promise.resolve(seconds);
}

// ---------------------------------------------------------------------------------------------

interface Counts {
  readonly records: number;
  readonly ringbuf: number;
  readonly postPerRecord: number;
  readonly postPer100: number;
  readonly objects: number;
  readonly arrayShift: number;
}

// Records/items per timed run, scaled to each case's speed so a full-mode run takes about
// 0.5-3 s on the reference 2-core machine (quick: about a quarter of that).
const FULL: Counts = {
  records: 20_000_000,
  ringbuf: 10_000_000,
  postPerRecord: 1_000_000,
  postPer100: 10_000_000,
  objects: 100_000_000,
  arrayShift: 20_000_000,
};
const QUICK: Counts = {
  records: 5_000_000,
  ringbuf: 2_500_000,
  postPerRecord: 250_000,
  postPer100: 2_500_000,
  objects: 20_000_000,
  arrayShift: 5_000_000,
};

function warmup(count: number, multipleOf = BATCH): number {
  return Math.max(multipleOf, Math.floor(count / 10 / multipleOf) * multipleOf);
}

async function main(): Promise<void> {
  const options = parseBenchArgs(process.argv.slice(2), { full: 3, quick: 2 });
  const counts = options.quick ? QUICK : FULL;
  const timeoutMs = options.quick ? 20_000 : 60_000;
  const sharedWorker = new ProducerWorker('shared-ring-producer.js');
  const ringbufWorker = new ProducerWorker('ringbuf-producer.js');
  const postWorker = new ProducerWorker('post-message-producer.js');
  try {
    const cases: BenchCase[] = [
      {
        name: 'shared-ring',
        label: 'SharedRing 100 B, worker -> main',
        unit: 'records/s',
        count: counts.records,
        warmupCount: warmup(counts.records),
        run: (n) => runSharedRing(sharedWorker, n, timeoutMs),
      },
      {
        name: 'copy-limit',
        label: 'copy limit: Uint8Array.set of 100 B blocks back to back into a SAB',
        unit: 'copies/s',
        count: counts.records,
        warmupCount: warmup(counts.records),
        run: (n) => runCopyLimit(n, RECORD_BYTES, 0),
      },
      {
        name: 'copy-limit-ring-layout',
        label: 'copy limit at SharedRing record layout (8-byte aligned)',
        unit: 'copies/s',
        count: counts.records,
        warmupCount: warmup(counts.records),
        run: (n) => runCopyLimit(n, SHARED_RECORD_FOOTPRINT, SHARED_PAYLOAD_OFFSET),
      },
      {
        name: 'ringbuf-js',
        label: 'ringbuf.js 100 B, worker -> main',
        unit: 'records/s',
        count: counts.ringbuf,
        warmupCount: warmup(counts.ringbuf),
        run: (n) => runRingbuf(ringbufWorker, n, timeoutMs),
      },
      {
        name: 'post-message-1',
        label: 'postMessage, 1 record/message',
        unit: 'records/s',
        count: counts.postPerRecord,
        warmupCount: warmup(counts.postPerRecord),
        run: (n) => runPostMessage(postWorker, 1, n, timeoutMs),
      },
      {
        name: 'post-message-100',
        label: 'postMessage, 100 records/message',
        unit: 'records/s',
        count: counts.postPer100,
        warmupCount: warmup(counts.postPer100),
        run: (n) => runPostMessage(postWorker, 100, n, timeoutMs),
      },
      {
        name: 'ring-t',
        label: 'Ring<T> push + consumeUpTo, depth 1000',
        unit: 'items/s',
        count: counts.objects,
        warmupCount: warmup(counts.objects),
        run: (n) => runObjectRing(n),
      },
      {
        name: 'array-push-shift',
        label: 'Array push + shift, depth 1000',
        unit: 'items/s',
        count: counts.arrayShift,
        warmupCount: warmup(counts.arrayShift),
        run: (n) => runArrayShift(n),
      },
      {
        name: 'bare-array-ring',
        label: 'bare preallocated array ring, depth 1000',
        unit: 'items/s',
        count: counts.objects,
        warmupCount: warmup(counts.objects),
        run: (n) => runBareRing(n),
      },
    ];
    const results = await measureRoundRobin(cases, options.reps);
    const get = resultLookup(results);
    const shared = get('shared-ring');
    const objectRing = get('ring-t');
    const comparisons = [
      { subject: shared, baseline: get('copy-limit'), target: 0.8 },
      { subject: shared, baseline: get('copy-limit-ring-layout'), target: null },
      { subject: shared, baseline: get('ringbuf-js'), target: 3 },
      { subject: shared, baseline: get('post-message-1'), target: 30 },
      { subject: shared, baseline: get('post-message-100'), target: null },
      { subject: objectRing, baseline: get('array-push-shift'), target: 5 },
      { subject: objectRing, baseline: get('bare-array-ring'), target: null },
    ];
    const ratios = comparisons.map((c) => ratio(`${c.subject.name}/${c.baseline.name}`, c.subject, c.baseline, c.target));
    const rows: TableRow[] = [];
    for (const subject of [shared, objectRing]) {
      rows.push({ result: subject });
      comparisons.forEach((c, i) => {
        if (c.subject === subject) rows.push({ result: c.baseline, ratio: ratios[i]!, indent: true });
      });
    }
    printReport({
      bench: 'ring',
      options,
      results,
      ratios,
      rows,
      notes: [
        'ratio = subject rate / baseline rate (higher is better for the subject); info = no target.',
        `Cross-thread runs time the producer's first record to the consumer's last; counts: ` +
          `${counts.records} records (SharedRing, copy), ${counts.ringbuf} (ringbuf.js), ` +
          `${counts.postPerRecord} / ${counts.postPer100} (postMessage 1 / 100 per message), ` +
          `${counts.objects} items (Ring<T>, bare ring), ${counts.arrayShift} (Array).`,
      ],
    });
  } finally {
    await Promise.all([sharedWorker.close(), ringbufWorker.close(), postWorker.close()]);
  }
}

log('bench ring: building workers and warming up (progress on stderr)');
runBench(main);
