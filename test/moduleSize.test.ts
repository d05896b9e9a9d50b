import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { graphOf } from "./importGraph.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

describe("module size", () => {
  it("a source module over 400 lines says why in its header", () => {
    const unexplained = [...graphOf(root).keys()].filter((file) => {
      const text = fs.readFileSync(path.join(root, file), "utf8")
      const header = text.slice(0, text.indexOf("*/") + 2)
      // Counted as `wc -l` counts.
      return (text.match(/\n/g)?.length ?? 0) > 400 && !/lines because/.test(header)
    })
    expect(unexplained).toEqual([])
  })
})
