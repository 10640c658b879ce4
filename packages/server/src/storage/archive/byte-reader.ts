/** Reads exact byte counts from a stream of chunks (a tar is a sequence of fixed-size blocks). */
export class ByteReader {
  private chunks: Buffer[] = [];
  private available = 0;
  private ended = false;
  /** Bytes handed out so far. */
  offset = 0;

  constructor(
    private readonly source: AsyncIterator<Buffer>,
    private readonly mapError: (err: unknown) => unknown = (err) => err,
  ) {}

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    let r: IteratorResult<Buffer>;
    try {
      r = await this.source.next();
    } catch (err) {
      throw this.mapError(err);
    }
    if (r.done) {
      this.ended = true;
      return false;
    }
    if (r.value.length > 0) {
      this.chunks.push(r.value);
      this.available += r.value.length;
    }
    return true;
  }

  /** Up to `max` bytes, as soon as any are there; an empty buffer only at the end of the stream. */
  async chunk(max: number): Promise<Buffer> {
    while (this.available === 0) if (!(await this.more())) return Buffer.alloc(0);
    const first = this.chunks[0];
    const out = first.length <= max ? first : first.subarray(0, max);
    if (out === first) this.chunks.shift();
    else this.chunks[0] = first.subarray(max);
    this.available -= out.length;
    this.offset += out.length;
    return out;
  }

  /** Exactly `n` bytes, or fewer only when the stream ends first. */
  async read(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const c = await this.chunk(n - got);
      if (c.length === 0) break;
      parts.push(c);
      got += c.length;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, got);
  }

  /** Discards `n` bytes; false when the stream ended first. */
  async skip(n: number): Promise<boolean> {
    while (n > 0) {
      const c = await this.chunk(Math.min(n, 1 << 20));
      if (c.length === 0) return false;
      n -= c.length;
    }
    return true;
  }
}
