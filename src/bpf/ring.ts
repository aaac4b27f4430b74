/**
 * A BPF ring buffer read in place. The kernel lets user space map a ring buffer map: the
 * consumer position on a writable page at offset 0, then (read-only, at one page) the producer
 * position page followed by the data area mapped twice in a row, so a record that wraps around
 * the end reads as one piece. Reading it here, instead of through libbpf's ring_buffer__consume,
 * saves a native-to-JS callback and a copy per record: under a fork storm that was most of the
 * cost of process events in user space.
 *
 * The protocol is the one libbpf follows (kernel/bpf/ringbuf.c): each record starts with an
 * 8-byte header, a u32 length whose bit 31 says "still being written" (stop there) and bit 30
 * "discarded" (skip it), then the data; records are 8-byte aligned. Positions only grow; a
 * position modulo the data size is the offset. Loads of the positions and of a record's length
 * are Atomics (acquire), the store of the consumer position too (release).
 */
import { mapFd } from './libbpf';
import { clockInfo } from '../procfs/procs';

const BUSY_BIT = 0x80000000;
const DISCARD_BIT = 0x40000000;
const HDR = 8;

/** A mapped ring buffer: consume() calls back once per record, on the mapped bytes. */
export class RingReader {
  private readonly unmaps: (() => void)[] = [];
  private readonly cons: BigUint64Array;
  private readonly prod: BigUint64Array;
  private readonly data: Buffer;
  private readonly words: Int32Array;
  private closed = false;

  /** Maps the ring buffer map `fd` of `size` bytes (its max_entries); throws when it cannot. */
  constructor(fd: number, readonly size: number) {
    const page = clockInfo().pageSize;
    const consumer = mapFd(fd, page, 0, true);
    this.unmaps.push(consumer.unmap);
    let ring;
    try {
      ring = mapFd(fd, page + 2 * size, page, false);
    } catch (e) {
      consumer.unmap();
      throw e;
    }
    this.unmaps.push(ring.unmap);
    this.cons = new BigUint64Array(consumer.view, 0, 1);
    this.prod = new BigUint64Array(ring.view, 0, 1);
    this.data = Buffer.from(ring.view, page, 2 * size);
    this.words = new Int32Array(ring.view, page, (2 * size) / 4);
  }

  /**
   * Calls `cb(buf, offset, length)` for each record in the ring, oldest first, until the ring
   * is empty, a record is still being written, or `cb` returns a negative number (that record
   * counts as consumed). The bytes are valid only during the call. Returns the records seen.
   */
  consume(cb: (buf: Buffer, off: number, len: number) => number): number {
    if (this.closed) return 0;
    let consPos = Number(Atomics.load(this.cons, 0));
    let n = 0;
    for (;;) {
      const prodPos = Number(Atomics.load(this.prod, 0));
      if (consPos >= prodPos) return n;
      while (consPos < prodPos) {
        const off = consPos % this.size; // positions pass 2^32: no 32-bit bitwise ops
        const word = Atomics.load(this.words, off >> 2) >>> 0;
        if (word & BUSY_BIT) return n;
        const len = word & ~(BUSY_BIT | DISCARD_BIT);
        consPos += (len + HDR + 7) & ~7;
        let rc = 0;
        if (!(word & DISCARD_BIT)) {
          n++;
          rc = cb(this.data, off + HDR, len);
        }
        Atomics.store(this.cons, 0, BigInt(consPos));
        if (rc < 0) return n;
      }
    }
  }

  /** Unmaps the ring (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unmaps.splice(0)) u();
  }
}
