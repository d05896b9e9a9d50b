import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { cyclesOf, graphOf } from "./importGraph.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

describe("import cycles", () => {
  it("the packages' sources import each other without a cycle", () => {
    const graph = graphOf(root)
    expect(graph.size).toBeGreaterThan(40)
    expect(cyclesOf(graph)).toEqual([])
  })

  it("the check finds a cycle when there is one", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts", "d.ts"]],
      ["d.ts", []],
      ["e.ts", ["e.ts"]]
    ])
    expect(cyclesOf(graph)).toEqual([["a.ts", "b.ts", "c.ts"], ["e.ts"]])
  })
})
