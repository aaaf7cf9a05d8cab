/** Remembers the most recent ids up to a bound, oldest forgotten first. */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly bound: number) {}

  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.bound) {
      const oldest = this.ids.values().next().value as string;
      this.ids.delete(oldest);
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }
}
