/**
 * The import graph of the packages' sources, read with the TypeScript
 * compiler's own pre-processor (no bundler, no extra dependency), and its
 * cycles. Type-only imports count too: a cycle of types is still two
 * modules a newcomer cannot change one at a time.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

/** Module → the modules of the same tree it imports (relative specifiers only). */
export type Graph = ReadonlyMap<string, ReadonlyArray<string>>

const sourcesUnder = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourcesUnder(full)
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : []
  })

/** The graph of every `packages/<name>/src` under `root`; a package's imports of another by name are edges too. */
export const graphOf = (root: string): Graph => {
  const packagesDir = path.join(root, "packages")
  const packages = new Map<string, string>()
  for (const name of fs.readdirSync(packagesDir)) {
    const src = path.join(packagesDir, name, "src")
    if (fs.existsSync(src)) packages.set(`@outdial/${name}`, src)
  }
  const graph = new Map<string, Array<string>>()
  for (const src of packages.values()) {
    for (const file of sourcesUnder(src)) {
      const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true)
      const targets: Array<string> = []
      for (const { fileName } of info.importedFiles) {
        let target: string | undefined
        if (fileName.startsWith(".")) {
          target = path.resolve(path.dirname(file), fileName)
        } else {
          const [scope, name, ...rest] = fileName.split("/")
          const dir = packages.get(`${scope}/${name}`)
          if (dir !== undefined) target = path.join(dir, rest.length === 0 ? "index.ts" : `${rest.join("/")}.ts`)
        }
        if (target !== undefined) targets.push(path.relative(root, target.endsWith(".ts") ? target : `${target}.ts`))
      }
      graph.set(path.relative(root, file), targets)
    }
  }
  return graph
}

/** Every cycle, once each, as the list of modules around it (Tarjan's strongly connected components). */
export const cyclesOf = (graph: Graph): Array<Array<string>> => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const cycles: Array<Array<string>> = []
  let next = 0
  const visit = (node: string) => {
    index.set(node, next)
    low.set(node, next)
    next++
    stack.push(node)
    onStack.add(node)
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target)
        low.set(node, Math.min(low.get(node)!, low.get(target)!))
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!))
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: Array<string> = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort())
    }
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node)
  return cycles
}
