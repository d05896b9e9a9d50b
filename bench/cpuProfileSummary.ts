/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`) by self time: the
 * functions the process spent its own time in, the flame graph's widest
 * leaves. Usage: `tsx bench/cpuProfileSummary.ts FILE.cpuprofile [TOP]`.
 *
 * Prints one line per function (self ms, share of samples, name and file:line),
 * then the same totals grouped by file.
 */
import { readFileSync } from "node:fs"
import { basename } from "node:path"

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
    readonly columnNumber: number
  }
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const [file, topArg] = process.argv.slice(2)
if (file === undefined) {
  console.error("usage: tsx bench/cpuProfileSummary.ts FILE.cpuprofile [TOP]")
  process.exit(2)
}
const top = Number(topArg ?? 25)
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile

const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const selfMicros = new Map<number, number>()
// A sample's time is the delta to the next one.
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i + 1] ?? 0
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta)
})

const where = (node: ProfileNode) => {
  const url = node.callFrame.url
  const short = url === "" ? "(native)" : url.replace(/^file:\/\//, "").replace(/.*node_modules\//, "").replace(/.*\/packages\//, "")
  return short
}

const byFunction = new Map<string, number>()
const byFile = new Map<string, number>()
let total = 0
for (const [id, micros] of selfMicros) {
  const node = byId.get(id)!
  const name = node.callFrame.functionName || "(anonymous)"
  const key = `${name}  ${where(node)}:${node.callFrame.lineNumber + 1}:${node.callFrame.columnNumber + 1}`
  byFunction.set(key, (byFunction.get(key) ?? 0) + micros)
  const fileKey = node.callFrame.url === "" ? name.startsWith("(") ? name : "(native)" : basename(where(node))
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + micros)
  total += micros
}

const print = (title: string, rows: Map<string, number>) => {
  console.log(`${title} (total ${(total / 1000).toFixed(0)} ms)`)
  for (const [key, micros] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(micros / 1000).toFixed(1).padStart(9)} ms ${(100 * micros / total).toFixed(1).padStart(5)} %  ${key}`)
  }
}

print("Self time by function", byFunction)
console.log()
print("Self time by file", byFile)
