/**
 * libphonenumber's full metadata, which number types (and the country of
 * numbers the smaller metadata leaves out) need: ~2 MB of heap, read on first
 * use, so a host that never asks (an import blocking no number type) never
 * holds it. The smaller metadata, every validation's, stays loaded.
 */
import type { MetadataJson } from "libphonenumber-js/core"
import { createRequire } from "node:module"

let metadata: MetadataJson | undefined

export const fullMetadata = (): MetadataJson =>
  metadata ??= createRequire(import.meta.url)("libphonenumber-js/metadata.max.json") as MetadataJson
