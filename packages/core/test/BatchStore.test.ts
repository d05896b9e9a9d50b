import * as BatchStoreSuite from "../src/BatchStoreSuite.ts"
import * as MemoryBatchStore from "../src/MemoryBatchStore.ts"

BatchStoreSuite.run("MemoryBatchStore.layer", MemoryBatchStore.layer)
