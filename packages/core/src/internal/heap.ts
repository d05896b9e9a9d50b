/**
 * A binary min-heap over a caller's ordering, with a read-only walk of its
 * smallest elements that leaves the heap as it is.
 *
 * @internal
 */
export class Heap<A> {
  readonly items: Array<A> = []
  constructor(private readonly less: (a: A, b: A) => boolean) {}

  get size(): number {
    return this.items.length
  }

  peek(): A | undefined {
    return this.items[0]
  }

  push(item: A): void {
    const items = this.items
    let i = items.push(item) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(items[i]!, items[parent]!)) break
      ;[items[i], items[parent]] = [items[parent]!, items[i]!]
      i = parent
    }
  }

  pop(): A | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      items[0] = last
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        const right = left + 1
        let smallest = i
        if (left < items.length && this.less(items[left]!, items[smallest]!)) smallest = left
        if (right < items.length && this.less(items[right]!, items[smallest]!)) smallest = right
        if (smallest === i) break
        ;[items[i], items[smallest]] = [items[smallest]!, items[i]!]
        i = smallest
      }
    }
    return top
  }

  /**
   * Visits elements in ascending order until `visit` returns false, touching
   * only the elements it visits and their children: O(k log k) for k visited.
   */
  walk(visit: (item: A) => boolean): void {
    const items = this.items
    if (items.length === 0) return
    const frontier = new Heap<number>((a, b) => this.less(items[a]!, items[b]!))
    frontier.push(0)
    while (frontier.size > 0) {
      const i = frontier.pop()!
      if (!visit(items[i]!)) return
      if (2 * i + 1 < items.length) frontier.push(2 * i + 1)
      if (2 * i + 2 < items.length) frontier.push(2 * i + 2)
    }
  }
}
