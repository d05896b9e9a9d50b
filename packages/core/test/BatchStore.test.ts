import { BatchStoreSuite } from "@outdial/testing"
import * as MemoryBatchStore from "../src/MemoryBatchStore.ts"

BatchStoreSuite.run("MemoryBatchStore.layer", MemoryBatchStore.layer)
