/**
 * Results of a pure function of a string, kept for the rest of the process up to a size: a test or
 * script that synthesizes the same project many times renders and parses the same texts again.
 * When an entry would pass the bound, everything kept so far is let go of first.
 */
export class Memo<T> {
  readonly #kept = new Map<string, T>();
  #size = 0;

  /**
   * `maxSize`: what may be kept in all, in the units of `sizeOf` (by default one per entry); an
   * entry larger than a quarter of it is never kept.
   */
  constructor(
    private readonly maxSize: number,
    private readonly sizeOf: (key: string, value: T) => number = () => 1,
  ) {}

  /** `compute(key)`, kept: computed only the first time (and again once let go of). */
  get(key: string, compute: (key: string) => T): T {
    if (this.#kept.has(key)) return this.#kept.get(key) as T;
    const value = compute(key);
    const size = this.sizeOf(key, value);
    if (size <= this.maxSize / 4) {
      if (this.#size + size > this.maxSize) {
        this.#kept.clear();
        this.#size = 0;
      }
      this.#kept.set(key, value);
      this.#size += size;
    }
    return value;
  }
}
